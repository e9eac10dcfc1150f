"""The action plan through a real Prefect server: owner agencies sign off through the portal over
HTTP and the last sign-off resumes the gate; going on without an agency is audited and leaves
its sign-off missing; the monitoring gate refuses to close while items are open."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from case_reviews.simulation.scenario import (
    ACTION_LINK,
    answer,
    drive,
    load_example_plan,
)
from core.names import obligation_key, progress_key
from deployments import driver
from models import action_plan_store as plans
from models import store
from models.orm import AuditEvent, ObligationStatus
from services.action_plans import ItemUpdate, record_progress, signoff_state
from services.sweep import run_sweep
from tests.plan_helpers import GP, POLICE

pytestmark = pytest.mark.prefect


@pytest.fixture
def portal_case(case_factory, portal_url: str):
    return case_factory(settings={"portal_url": portal_url})


def _to_signoff_gate(case) -> UUID:
    run_id: UUID = case.start()
    result = drive(
        case.rt, case.clock, run_id, case.reference, "full", stop_at="action_plan_signoff"
    )
    assert result.gates[-2:] == ["final_report", "learning_summary"]
    assert load_example_plan(case.rt, case.reference)
    run_sweep(case.rt)  # delivers the sign-off links
    return run_id


def _link(case, agency_mail: str, subject: str) -> str:
    for message in case.smtp.received:
        if message.recipients == (agency_mail,) and subject in message.subject:
            found = ACTION_LINK.search(message.part("text/plain"))
            assert found is not None
            return found.group(0)
    raise AssertionError(f"no {subject!r} email to {agency_mail}")


GP_MAIL = "practice.manager@riverside-gp.example"
POLICE_MAIL = "public.protection@police.northbridge.example"


def _obligation(session, reference: str, key: str):
    review = store.get_review(session, reference)
    return next((o for o in store.obligations(session, review.id) if o.key == key), None)


def _refusals(case) -> list[list[str]]:
    with case.rt.sessions() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "gate_answer_refused")
        ).all()
    return [r.detail["problems"] for r in rows]


def test_last_portal_signoff_resumes_the_gate_and_monitoring_waits_for_every_item(
    portal_case,
) -> None:
    case = portal_case
    run_id = _to_signoff_gate(case)
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert [r.number for r in plans.recommendations(session, review.id)] == [1, 2]
        assert signoff_state(session, review) == {POLICE: "awaited", GP: "awaited"}

    # The GP first asks for a change, then signs; the police sign: the gate resumes itself.
    gp = _link(case, GP_MAIL, "Your actions in the plan")
    change = httpx.post(f"{gp}/signoff", data={"decision": "change", "comment": "Move item 2"})
    assert change.status_code == 200 and "request for a change is recorded" in change.text
    assert driver.state_name(run_id) == "Suspended"
    assert httpx.post(f"{gp}/signoff", data={"decision": "sign"}).status_code == 200
    assert driver.state_name(run_id) == "Suspended"  # the police have not signed yet
    police = _link(case, POLICE_MAIL, "Your actions in the plan")
    assert httpx.post(f"{police}/signoff", data={"decision": "sign"}).status_code == 200
    assert driver.state_name(run_id) != "Suspended"
    assert driver.execute(run_id) == "Suspended"
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.waiting_at == "anonymisation"
        board_clock = _obligation(
            session, case.reference, obligation_key(case.reference, "action_plan_signoff")
        )
        assert board_clock.status is ObligationStatus.MET
        for agency in (POLICE, GP):
            quarter = _obligation(session, case.reference, progress_key(case.reference, agency, 1))
            assert quarter.status is ObligationStatus.OPEN
        assert _obligation(session, case.reference, f"{case.reference}:progress:{GP}") is None
        resumed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "signoff_gate_resumed")
        ).all()
    assert len(resumed) == 1

    # Cleared (the report naming the child is refused once, then redacted), sent to the
    # panel, the family told, published: the committee monitors.
    published = drive(case.rt, case.clock, run_id, case.reference, "full", stop_at="monitoring")
    assert published.gates == ["anonymisation", "anonymisation", "communications", "publication"]
    today = case.clock.now().date()
    # Items are open: the committee's answer is refused, naming them.
    driver.resume(run_id, answer("monitoring", "full", today))
    assert driver.execute(run_id) == "Suspended"
    problems = _refusals(case)[-1]
    assert any("still open: item 1 (Riverside GP Practice" in p for p in problems), problems
    assert any("item 3 (Northbridge Police" in p for p in problems), problems

    case.clock.advance(timedelta(days=30))
    record_progress(
        case.rt,
        case.reference,
        POLICE,
        1,
        [ItemUpdate(3, "done", "Training records", "Concerns shared in 9 of 10 cases")],
    )
    record_progress(
        case.rt,
        case.reference,
        GP,
        1,
        [
            ItemUpdate(1, "done", "Call log", "Every second miss followed up"),
            ItemUpdate(2, "done", "Audit report", "18 of 20 followed up in a week"),
        ],
    )
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert plans.open_items(session, review.id) == []
        # Nothing left open: no second quarter is asked of anyone.
        assert _obligation(session, case.reference, progress_key(case.reference, GP, 2)) is None
    driver.resume(run_id, answer("monitoring", "full", case.clock.now().date()))
    assert driver.execute(run_id) == "Completed"
    with case.rt.sessions() as session:
        assert store.get_review(session, case.reference).status.value == "closed"


def test_going_on_without_an_owner_is_audited_and_recorded_missing(portal_case) -> None:
    case = portal_case
    run_id = _to_signoff_gate(case)
    gp = _link(case, GP_MAIL, "Your actions in the plan")
    assert httpx.post(f"{gp}/signoff", data={"decision": "sign"}).status_code == 200
    today = case.clock.now().date()
    # Without the police's sign-off and without naming them, the answer is refused.
    driver.resume(run_id, answer("action_plan_signoff", "full", today))
    assert driver.execute(run_id) == "Suspended"
    assert any("Northbridge Police has not sent its sign-off" in p for p in _refusals(case)[-1])
    # A reason is required to go on without them.
    driver.resume(
        run_id, answer("action_plan_signoff", "full", today) | {"proceed_without": [POLICE]}
    )
    assert driver.execute(run_id) == "Suspended"
    assert _refusals(case)[-1] == ["reason: give the reason for going on without a sign-off"]
    driver.resume(
        run_id,
        answer("action_plan_signoff", "full", today)
        | {"proceed_without": [POLICE], "reason": "Police sign-off delayed by restructure"},
    )
    assert driver.execute(run_id) == "Suspended"
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.waiting_at == "anonymisation"
        assert signoff_state(session, review) == {POLICE: "missing", GP: "signed"}
        police = _obligation(session, case.reference, f"{case.reference}:signoff:{POLICE}")
        assert police is not None and police.status is ObligationStatus.WAIVED
        missing = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "action_plan_signoff_missing")
        ).all()
    assert [(m.actor, m.detail) for m in missing] == [
        (
            "Business Manager",
            {"agency": POLICE, "reason": "Police sign-off delayed by restructure"},
        )
    ]
