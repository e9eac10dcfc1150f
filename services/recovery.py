"""Crashed review runs come back by themselves: :func:`recover_crashed_runs`.

A runner or worker killed mid-run leaves its run ``Running`` with no process. Prefect's
heartbeats and the zombie automation (:mod:`deployments.automations`) mark it ``Crashed``;
this step then reschedules it, so the runner picks it up and the flow replays from the top:
every task is keyed in the case store and every answered gate returns its stored answer, so the
replay repeats nothing and the review is back at its gate. A run that keeps crashing is
rescheduled at most ``MAX_RECOVERIES`` times, then left for a person (audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import State, StateType
from prefect.states import Scheduled
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.names import review_key
from models import store
from models.orm import AuditEvent, Board, Review, ReviewStatus
from notifications.outbox import IdentityInMessage, queue_review_email
from services.prefect_client import prefect_client
from services.runtime import Runtime

MAX_RECOVERIES = 3


def _open_runs(rt: Runtime) -> list[tuple[int, str, str]]:
    with rt.sessions() as session:
        rows = session.execute(
            select(Review.id, Review.reference, Review.flow_run_id).where(
                Review.status == ReviewStatus.OPEN, Review.flow_run_id.is_not(None)
            )
        ).all()
    return [(row.id, row.reference, str(row.flow_run_id)) for row in rows]


def run_states(rt: Runtime) -> dict[str, str]:
    """Each open review's run state name (``Suspended``, ``Running``, ``Crashed``…)."""
    ids = {UUID(run_id): reference for _id, reference, run_id in _open_runs(rt)}
    if not ids:
        return {}
    with prefect_client() as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(ids))), limit=len(ids)
        )
    return {ids[r.id]: str(r.state.name) if r.state else "unknown" for r in runs}


class NothingToRecover(ValueError):
    """``reviews recover REF`` on a review whose run is not stopped; the message says why."""


def _count_since_last_by_hand(session: Session, review_id: int, action: str) -> int:
    """How many ``action`` rows the review has since a person last recovered it by hand."""
    last_by_hand = session.scalar(
        select(func.max(AuditEvent.id)).where(
            AuditEvent.review_id == review_id, AuditEvent.action == "run_recovered_by_hand"
        )
    )
    query = select(func.count()).where(
        AuditEvent.review_id == review_id, AuditEvent.action == action
    )
    if last_by_hand is not None:
        query = query.where(AuditEvent.id > last_by_hand)
    return session.scalar(query) or 0


def _tell_the_business_manager(
    rt: Runtime, session: Session, review_id: int, run_id: str, what: _Stop
) -> None:
    """Audit the stop once and queue the business manager's email once (keyed by the run, the
    kind of stop and the number of recoveries by hand so far: a second stop after a recovery
    is a new message)."""
    review = session.get_one(Review, review_id)
    board = session.get_one(Board, review.board_id)
    key = f"{what.action}:{run_id}:{_by_hand(session, review_id)}"

    def queue(reason: str) -> None:
        queue_review_email(
            session,
            review,
            kind="run_stopped",
            recipient=board.business_manager_email,
            key=key,
            now=rt.now(),
            state=what.state,
            reason=reason,
            why=what.why,
            run_url=rt.settings.run_url(run_id),
        )

    reason = what.reason
    try:
        queue(reason)
    except IdentityInMessage:
        # An error's text can quote data; the group's mail and the trail never carry identity.
        reason = "withheld here because it quotes the subject's details; see the Prefect UI"
        queue(reason)
    store.record_audit(
        session,
        review_id,
        "case-reviews",
        what.action,
        {"flow_run_id": run_id, "state": what.state, "reason": reason},
        rt.now(),
        key=review_key(review.reference, key),
    )


@dataclass(frozen=True)
class _Stop:
    action: str
    state: str
    reason: str
    why: str


def _reason(state: State) -> str:
    # The state's message is Prefect's (an exception's text at most): cut short for the email.
    return " ".join(str(state.message or "").split())[:300]


def _recover_one(rt: Runtime, client: SyncPrefectClient, review_id: int, run_id: str) -> bool:
    """Reschedule one crashed run, or tell the business manager why not. True if rescheduled."""
    state = client.read_flow_run(UUID(run_id)).state
    if state is None or state.type not in (StateType.CRASHED, StateType.FAILED):
        return False
    with rt.sessions.begin() as session:
        reference = session.get_one(Review, review_id).reference
        if state.type == StateType.FAILED:
            # A failure is the code's or the data's, not the machine's: replaying it would fail
            # the same way. A person fixes the cause and runs ``reviews recover``.
            why = "A step failed; it is not retried by itself, as it would fail the same way."
            stop = _Stop("run_failed", "Failed", _reason(state), why)
            _tell_the_business_manager(rt, session, review_id, run_id, stop)
            return False
        done = _count_since_last_by_hand(session, review_id, "run_recovered")
        if done >= MAX_RECOVERIES:
            why = (
                f"It crashed {done + 1} times; after {MAX_RECOVERIES} recoveries it is left "
                "for you."
            )
            stop = _Stop("run_recovery_exhausted", "Crashed", _reason(state), why)
            _tell_the_business_manager(rt, session, review_id, run_id, stop)
            return False
        store.record_audit(
            session,
            review_id,
            "case-reviews",
            "run_recovered",
            {"flow_run_id": run_id, "crashed": state.message or ""},
            rt.now(),
            key=review_key(
                reference, f"run_recovered:{run_id}:{_by_hand(session, review_id)}:{done + 1}"
            ),
        )
        # Inside the transaction: if Prefect refuses, the audit row is not kept.
        client.set_flow_run_state(
            UUID(run_id),
            Scheduled(message="rescheduled after a crash: resumes at its gate"),
            force=True,
        )
    return True


def _by_hand(session: Session, review_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                AuditEvent.review_id == review_id,
                AuditEvent.action == "run_recovered_by_hand",
            )
        )
        or 0
    )


def recover_crashed_runs(rt: Runtime) -> list[str]:
    """Reschedule every open review's run that Prefect marked ``Crashed``; return their
    references. Each recovery is audited. A run that crashed more than ``MAX_RECOVERIES``
    times, or that ``Failed``, is left for a person: audited and emailed to the business
    manager once, with the command that brings it back (:func:`recover_review`)."""
    recovered = []
    open_runs = _open_runs(rt)
    if not open_runs:
        return []
    with prefect_client() as client:
        for review_id, reference, run_id in open_runs:
            if _recover_one(rt, client, review_id, run_id):
                recovered.append(reference)
    return recovered


def recover_review(rt: Runtime, reference: str, *, actor: str) -> str:
    """``reviews recover REF``: after a person fixed what stopped the review's run (``Failed``,
    or ``Crashed`` past the automatic recoveries), reschedule it; the run replays from the top,
    repeating nothing, back to the gate it was at. Audited; the automatic recoveries count
    afresh. Returns the state the run was in. Refused (:class:`NothingToRecover`) when the
    run is not stopped."""
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        if review.flow_run_id is None:
            raise NothingToRecover(f"{reference} has not been started: run 'reviews start'")
        run_id = str(review.flow_run_id)
        with prefect_client() as client:
            state = client.read_flow_run(UUID(run_id)).state
            if state is None or state.type not in (StateType.CRASHED, StateType.FAILED):
                name = state.name if state is not None else "unknown"
                raise NothingToRecover(
                    f"{reference}: its run is {name}, not stopped: nothing to recover"
                )
            store.record_audit(
                session,
                review.id,
                actor,
                "run_recovered_by_hand",
                {"flow_run_id": run_id, "was": str(state.name), "reason": _reason(state)},
                rt.now(),
            )
            client.set_flow_run_state(
                UUID(run_id),
                Scheduled(message=f"rescheduled by {actor}: resumes at its gate"),
                force=True,
            )
    return str(state.name)


__all__ = [
    "MAX_RECOVERIES",
    "NothingToRecover",
    "recover_crashed_runs",
    "recover_review",
    "run_states",
]
