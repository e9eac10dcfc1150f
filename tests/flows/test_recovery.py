"""Crashed runs come back by themselves (issue 12, item 1), on a real Prefect server: a run
whose process was killed mid-run, once marked Crashed (what the zombie automation does when its
heartbeats stop), is rescheduled by the recovery step and replays to its next gate, sending
nothing twice; ``reviews status`` tells it apart from a run waiting at a gate."""

from __future__ import annotations

import dataclasses
import json
import signal
from collections import Counter
from datetime import timedelta

import pytest
from prefect import get_client
from prefect.settings import PREFECT_API_URL
from prefect.states import Crashed
from sqlalchemy import select
from typer.testing import CliRunner

from case_reviews.cli import app
from case_reviews.simulation.scenario import answer
from deployments import driver
from deployments.automations import ZOMBIE_AUTOMATION, apply_zombie_automation
from models import store
from models.orm import AuditEvent, OutboxMessage
from services.recovery import MAX_RECOVERIES, recover_crashed_runs
from services.runtime import use_runtime
from tests.flows.test_crash_and_privacy import PANEL, _engine_subprocess
from tests.helpers import example_referral

pytestmark = pytest.mark.prefect


def _status(case) -> dict[str, object]:
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    (view,) = [v for v in json.loads(result.stdout) if v["reference"] == case.reference]
    return dict(view)


def _crash(run_id) -> None:
    """What the zombie automation's action does once the heartbeats stop."""
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(
            run_id, Crashed(message="the flow run stopped sending heartbeats"), force=True
        )


def test_a_run_killed_mid_run_is_rescheduled_and_back_at_its_gate_sending_nothing_twice(
    case_factory,
) -> None:
    case = case_factory()
    run_id = case.start()
    driver.execute(run_id)
    assert _status(case)["run_state"] == "Suspended"
    driver.resume(run_id, answer("committee_recommendation", "full", case.clock.now().date()))
    driver.execute(run_id)
    driver.resume(run_id, answer("chair_decision", "full", case.clock.now().date()))

    # The process dies while the national panel's notification is on the wire.
    hold = case.smtp.hold(PANEL)
    process = _engine_subprocess(case, run_id)
    try:
        assert hold.arrived.wait(90), "the panel notification never reached the SMTP server"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        hold.release("451 Connection lost")
        if process.poll() is None:
            process.kill()
    assert driver.state_name(run_id) == "Running"
    assert recover_crashed_runs(case.rt) == []  # a running run is left alone

    _crash(run_id)
    assert _status(case)["run_state"] == "Crashed"
    assert recover_crashed_runs(case.rt) == [case.reference]
    assert driver.state_name(run_id) == "Scheduled"
    assert recover_crashed_runs(case.rt) == []  # once only

    # The runner picks it up: the replay repeats nothing and reaches the next gate.
    assert driver.execute(run_id) == "Suspended"
    view = _status(case)
    assert (view["waiting_at"], view["run_state"]) == ("reviewer_appointment", "Suspended")
    with case.rt.sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
        recovered = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "run_recovered")
        ).all()
    assert [r.detail["flow_run_id"] for r in recovered] == [str(run_id)]
    assert Counter(r.key for r in rows).most_common(1)[0][1] == 1
    delivered = Counter((m.recipients, m.key) for m in case.smtp.received)
    assert max(delivered.values()) == 1


def test_a_run_that_keeps_crashing_is_left_for_a_person_after_three_recoveries(
    case_factory,
) -> None:
    case = case_factory()
    run_id = case.start()
    for _ in range(MAX_RECOVERIES):
        _crash(run_id)
        assert recover_crashed_runs(case.rt) == [case.reference]
    _crash(run_id)
    assert recover_crashed_runs(case.rt) == []
    assert driver.state_name(run_id) == "Crashed"
    with case.rt.sessions() as session:
        actions = Counter(
            a.action
            for a in session.scalars(
                select(AuditEvent).where(
                    AuditEvent.review_id == store.get_review(session, case.reference).id
                )
            )
        )
    assert actions["run_recovered"] == MAX_RECOVERIES
    assert actions["run_recovery_exhausted"] == 1
    assert recover_crashed_runs(case.rt) == []  # a later sweep tells nobody a second time
    (told,) = _to_business_manager(case)
    assert "crashed 4 times" in told.body_text


def test_the_zombie_automation_is_created_once_and_spares_suspended_runs(prefect_api) -> None:
    apply_zombie_automation(timedelta(minutes=10))
    with get_client(sync_client=True) as client:
        (first,) = client.read_automations_by_name(ZOMBIE_AUTOMATION)
    apply_zombie_automation(timedelta(minutes=10))  # the next release
    with get_client(sync_client=True) as client:
        (automation,) = client.read_automations_by_name(ZOMBIE_AUTOMATION)
    # Updated in place: a new automation would forget the heartbeats it is waiting after.
    assert automation.id == first.id
    trigger = automation.trigger
    assert trigger.after == {"prefect.flow-run.heartbeat"}  # type: ignore[union-attr]
    # A review waiting at a gate sends no heartbeats; it must not be crashed for that.
    assert "prefect.flow-run.Suspended" in trigger.expect  # type: ignore[union-attr]
    assert trigger.within == timedelta(minutes=10)  # type: ignore[union-attr]
    assert automation.actions[0].state.value == "CRASHED"  # type: ignore[union-attr]


def _fail(run_id, message: str) -> None:
    """What Prefect records when a step raises past its retries."""
    from prefect.states import Failed

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, Failed(message=message), force=True)


def _to_business_manager(case) -> list[OutboxMessage]:
    with case.rt.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "run_stopped")
                .order_by(OutboxMessage.id)
            )
        )


def _recover(case):
    """``reviews recover REF`` with the board's Prefect server set to the test's own."""
    settings = case.rt.settings.model_copy(update={"prefect_api_url": str(PREFECT_API_URL.value())})
    with use_runtime(dataclasses.replace(case.rt, settings=settings)):
        return CliRunner().invoke(app, ["recover", case.reference])


def test_a_failed_run_is_never_silent_and_recover_brings_it_back_to_its_gate(
    case_factory,
) -> None:
    """Issue 24, point 4: a run that fails tells the business manager once (however many
    sweeps see it), with the reason and the command; `reviews recover REF` reschedules it and
    the replay is back at its gate, audited, nothing sent twice."""
    case = case_factory()
    run_id = case.start()
    assert driver.execute(run_id) == "Suspended"
    _fail(run_id, "Flow run encountered an exception: OperationalError: disk I/O error")
    for _ in range(2):
        assert recover_crashed_runs(case.rt) == []  # a failure is not retried by itself
    (told,) = _to_business_manager(case)
    assert told.recipient == "business.manager@northbridge-scp.example"
    assert "disk I/O error" in told.body_text and "reviews recover SCR-2026-001" in told.body_text
    assert driver.state_name(run_id) == "Failed"

    result = _recover(case)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"{case.reference}: the run was Failed; rescheduled, it resumes at its gate"
    )
    assert driver.execute(run_id) == "Suspended"
    assert _status(case)["waiting_at"] == "committee_recommendation"
    # The gate asked again under a fresh key (its first was spent, unanswered); answered,
    # every later replay takes that answer and goes on.
    driver.resume(run_id, answer("committee_recommendation", "full", case.clock.now().date()))
    assert driver.execute(run_id) == "Suspended"
    assert _status(case)["waiting_at"] == "chair_decision"
    again = _recover(case)
    assert again.exit_code == 2
    assert "its run is Suspended, not stopped: nothing to recover" in again.stderr
    with case.rt.sessions() as session:
        actions = Counter(a.action for a in session.scalars(select(AuditEvent)))
        keys = session.scalars(select(OutboxMessage.key)).all()
    assert (actions["run_failed"], actions["run_recovered_by_hand"]) == (1, 1)
    assert len(keys) == len(set(keys))

    # A second failure after the recovery is a new message; an error quoting the subject's
    # name is withheld from the mail and the trail.
    name = example_referral()["subject"]["full_name"]
    _fail(run_id, f"Flow run encountered an exception: IntegrityError: ('{name}', …)")
    recover_crashed_runs(case.rt)
    _first, second = _to_business_manager(case)
    assert name not in second.body_text and "withheld here" in second.body_text
    with case.rt.sessions() as session:
        failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "run_failed"))
        assert all(name not in str(a.detail) for a in failed)
