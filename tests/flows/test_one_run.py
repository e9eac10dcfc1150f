"""One review, one run; every answer confirmed (issue 12, items 2 and 3), on a real Prefect
server, with the case store on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import State
from sqlalchemy import select, update

from case_reviews.simulation.scenario import answer
from core.clock import ManualClock
from deployments import driver
from deployments.serve import REVIEW_DEPLOYMENT
from models import store
from models.orm import AuditEvent, Decision, Review
from services.resume import ResumeStatus
from services.runtime import Runtime, use_runtime
from tasks.runs import NotTheReviewsRun
from tests.conftest import make_runtime
from tests.helpers import add_example_referral, load_example_board

pytestmark = pytest.mark.prefect


@pytest.fixture
def review(
    prefect_api: None, database_url: str, clock: ManualClock
) -> Iterator[tuple[Runtime, str]]:
    """A stored referral (no run yet) on a fresh case store, SQLite and PostgreSQL."""
    with use_runtime(make_runtime(database_url, clock)) as rt:
        load_example_board(rt)
        yield rt, add_example_referral(rt)


def _together(count: int, action: Callable[[int], Any]) -> list[Any]:
    """Run ``action(i)`` in ``count`` threads released at once; each result or exception."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as exc:  # the test inspects what each caller was told
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def _audit(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _runs_with_reference(reference: str, run_key: str | None = None) -> list[Any]:
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(REVIEW_DEPLOYMENT)
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        )
    return [
        r
        for r in runs
        if r.parameters.get("reference") == reference
        and (run_key is None or (r.idempotency_key or "").endswith(run_key))
    ]


def _hand_started_run(reference: str) -> UUID:
    """What the Prefect UI's Run button does: a run of the deployment, no idempotency key."""
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(REVIEW_DEPLOYMENT)
        run = client.create_flow_run_from_deployment(
            deployment.id, parameters={"reference": reference}
        )
    run_id: UUID = run.id
    return run_id


def test_ten_concurrent_starts_make_one_run_and_one_started_record(review) -> None:
    rt, reference = review
    results = _together(10, lambda _i: driver.start_review(rt, reference))

    started = [r for r in results if isinstance(r, UUID)]
    refused = [r for r in results if isinstance(r, driver.ReviewAlreadyStarted)]
    assert len(started) == 1, results
    assert len(refused) == 9, results
    run_id = started[0]
    assert {r.owner for r in refused} == {str(run_id)}
    with rt.sessions() as session:
        row = store.get_review(session, reference)
        assert row.flow_run_id == str(run_id)
        run_key = row.run_key
    assert run_key is not None
    # Prefect holds one run for this review (its idempotency key), the store one record.
    assert [r.id for r in _runs_with_reference(reference, run_key)] == [run_id]
    assert [a.detail["flow_run_id"] for a in _audit(rt, "review_started")] == [str(run_id)]
    # A later start is refused by name, too.
    with pytest.raises(driver.ReviewAlreadyStarted, match=str(run_id)):
        driver.start_review(rt, reference)


def test_a_run_started_by_hand_claims_a_review_without_one_and_a_second_ends_at_once(
    review,
) -> None:
    rt, reference = review
    first = _hand_started_run(reference)
    assert driver.execute(first) == "Suspended"
    with rt.sessions() as session:
        assert store.get_review(session, reference).flow_run_id == str(first)
    assert [a.detail["flow_run_id"] for a in _audit(rt, "review_started")] == [str(first)]

    second = _hand_started_run(reference)
    with pytest.raises(NotTheReviewsRun, match=str(first)):
        driver.execute(second)
    assert driver.state_name(second) == "Failed"
    message = driver.read_run(second).state.message  # type: ignore[union-attr]
    assert str(first) in (message or ""), message
    refused = _audit(rt, "foreign_run_refused")
    assert [(a.detail["flow_run_id"], a.detail["owner"]) for a in refused] == [
        (str(second), str(first))
    ]
    # ``reviews start`` now names the run that owns the review.
    with pytest.raises(driver.ReviewAlreadyStarted, match=str(first)):
        driver.start_review(rt, reference)


def test_an_answer_given_to_a_forgotten_run_is_refused_audited_and_never_applied(review) -> None:
    """The issue's case: several runs of one review exist (made before the fix); the store
    remembers one. 'No review' answered in a forgotten one must change nothing."""
    rt, reference = review
    forgotten, remembered = _hand_started_run(reference), _hand_started_run(reference)
    assert driver.execute(forgotten) == "Suspended"
    with rt.sessions.begin() as session:  # the pre-fix store: it forgot the earlier run
        session.execute(update(Review).values(flow_run_id=None))
    assert driver.execute(remembered) == "Suspended"
    with rt.sessions() as session:
        assert store.get_review(session, reference).flow_run_id == str(remembered)

    today = rt.today()
    assert driver.resume(forgotten, answer("committee_recommendation", "no-review", today)).accepted
    with pytest.raises(NotTheReviewsRun, match=str(remembered)):
        driver.execute(forgotten)
    assert driver.state_name(forgotten) == "Failed"

    refused = _audit(rt, "foreign_run_refused")
    assert [a.detail["flow_run_id"] for a in refused] == [str(forgotten)]
    assert _audit(rt, "gate_answered") == []
    with rt.sessions() as session:
        assert session.scalars(select(Decision)).all() == []
        row = store.get_review(session, reference)
        assert (row.status.value, row.waiting_at) == ("open", "committee_recommendation")

    # The review's own run takes its answer, recorded against that run.
    driver.resume(remembered, answer("committee_recommendation", "full", today))
    assert driver.execute(remembered) == "Suspended"
    answered = _audit(rt, "gate_answered")
    assert [a.detail["flow_run_id"] for a in answered] == [str(remembered)]


def test_two_concurrent_answers_one_is_recorded_and_the_other_is_told_it_lost(review) -> None:
    rt, reference = review
    run_id = driver.start_review(rt, reference)
    assert driver.execute(run_id) == "Suspended"
    today = rt.today()
    answers = [
        answer("committee_recommendation", "full", today) | {"recommended_by": f"Member {i}"}
        for i in range(2)
    ]
    outcomes = _together(2, lambda i: driver.resume(run_id, answers[i], check=False))

    statuses = sorted(o.status for o in outcomes)
    assert statuses == [ResumeStatus.ACCEPTED, ResumeStatus.NOT_WAITING], outcomes
    winner = next(i for i, o in enumerate(outcomes) if o.accepted)
    loser = outcomes[1 - winner]
    assert "not taken" in loser.describe()

    assert driver.execute(run_id) == "Suspended"
    answered = _audit(rt, "gate_answered")
    assert len(answered) == 1
    assert answered[0].actor == f"Member {winner}"
    assert answered[0].detail["flow_run_id"] == str(run_id)

    # The loser trying again meets the next gate's form: refused, never silently accepted.
    with pytest.raises(driver.AnswerNotTaken) as again:
        driver.resume(run_id, answers[1 - winner])
    assert again.value.outcome.status is ResumeStatus.REJECTED
    assert len(_audit(rt, "gate_answered")) == 1


def test_an_answer_given_before_the_form_is_stored_waits_for_it(prefect_api: None) -> None:
    """Prefect marks a run Suspended a moment before the suspending process stores the form's
    schema; an answer in that moment was refused ("Run input schema not found") and ended the
    demo once in CI. The answer now waits for the form and is taken."""
    from prefect.input import RunInput
    from prefect.input.run_input import keyset_from_paused_state
    from prefect.states import Suspended

    from services.resume import resume_gate

    class Decision(RunInput):
        decision: str

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(REVIEW_DEPLOYMENT)
        # Never executed (nothing serves the deployment here): the test sets its states.
        run = client.create_flow_run_from_deployment(deployment.id, parameters={"reference": "X"})
        suspended: State[Any] = Suspended(timeout_seconds=None, pause_key="gate-1")
        keyset = keyset_from_paused_state(suspended)
        suspended.state_details.run_input_keyset = {str(k): v for k, v in keyset.items()}
        client.set_flow_run_state(run.id, suspended, force=True)

    def store_the_form_late() -> None:
        threading.Event().wait(1.0)
        Decision.save(keyset, flow_run_id=run.id)

    late = threading.Thread(target=store_the_form_late)
    late.start()
    outcome = resume_gate(run.id, {"decision": "full"})
    late.join()
    assert outcome.status is ResumeStatus.ACCEPTED, outcome.describe()
