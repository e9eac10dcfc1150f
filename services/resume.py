"""Resuming a suspended review run, with the outcome Prefect actually gave.

Prefect's ``resume_flow_run`` helper returns ``None`` both when the run was resumed and when the
server aborted because the run was no longer suspended (someone else answered first), so two
people answering one gate were both told "accepted". Here the orchestration result is read and
reported as a :class:`ResumeOutcome`; a lost race (an abort, or the 409 the server gives when
two answers collide on the same run input key) says so.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from core.names import review_key
from models import store
from services.runtime import Runtime

log = logging.getLogger(__name__)

# The server's reason when a run is Suspended but its form's schema is not stored yet.
SCHEMA_NOT_STORED = "Run input schema not found"
# How long an answer waits for the suspending process to store the form's schema.
SCHEMA_WAIT_SECONDS = 10.0


class ResumeStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    """Prefect took the answer and the run goes on; the flow then checks it against the
    case and records it (``gate_answered``) or refuses it (``gate_answer_refused``)."""
    REJECTED = "rejected"
    """The answer does not fit the gate's form; the run stays suspended at the same gate."""
    NOT_WAITING = "not_waiting"
    """The run was not suspended when the answer arrived: another answer was taken first, or
    the run is not at a gate. Nothing from this answer was stored."""


@dataclass(frozen=True)
class ResumeOutcome:
    """What happened to one answer, with Prefect's reason when it was not accepted."""

    flow_run_id: UUID
    status: ResumeStatus
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.status is ResumeStatus.ACCEPTED

    def describe(self) -> str:
        """One line for the person who answered."""
        if self.accepted:
            return f"run {self.flow_run_id}: answer accepted"
        if self.status is ResumeStatus.NOT_WAITING:
            return (
                f"run {self.flow_run_id}: your answer was not taken: the run was no longer "
                f"waiting ({self.reason}); another answer may have been given first"
            )
        return f"run {self.flow_run_id}: answer refused by the form: {self.reason}"


def resume_gate(flow_run_id: UUID, run_input: dict[str, Any]) -> ResumeOutcome:
    """Answer the gate ``flow_run_id`` is suspended at, and say whether the answer was taken.

    Only an ACCEPT counts: the server stores the run input in the same transaction as the
    state change, keyed per suspension, so at most one answer per gate attempt is ever stored.
    Other HTTP errors (Prefect down, 401) propagate.
    """
    deadline = time.monotonic() + SCHEMA_WAIT_SECONDS
    while True:
        outcome = _resume_once(flow_run_id, run_input)
        # Prefect marks the run Suspended before the suspending process stores the form's
        # schema, so an answer given in that instant is refused for want of a form that is a
        # moment away. That refusal is not the person's: ask again until the form is there.
        if SCHEMA_NOT_STORED not in outcome.reason or time.monotonic() > deadline:
            return outcome
        time.sleep(0.2)


def _resume_once(flow_run_id: UUID, run_input: dict[str, Any]) -> ResumeOutcome:
    # Prefect's client is imported here, not at the top: the CLI's commands that never talk
    # to Prefect import this module (through the action plans) and start in a fraction of it.
    import httpx
    from prefect.client.schemas.responses import SetStateStatus

    from services.prefect_client import prefect_client

    with prefect_client() as client:
        try:
            result = client.resume_flow_run(flow_run_id, run_input=run_input)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == httpx.codes.CONFLICT:
                return ResumeOutcome(
                    flow_run_id, ResumeStatus.NOT_WAITING, "another answer was stored first"
                )
            raise
    reason = str(result.details.reason or "") if hasattr(result.details, "reason") else ""
    if result.status == SetStateStatus.ACCEPT:
        return ResumeOutcome(flow_run_id, ResumeStatus.ACCEPTED)
    if result.status == SetStateStatus.REJECT:
        return ResumeOutcome(flow_run_id, ResumeStatus.REJECTED, reason or "rejected")
    # ABORT: not paused any more (the server checks inside its transaction); WAIT: the
    # orchestration asked the client to come back later. Neither stored the answer.
    return ResumeOutcome(
        flow_run_id, ResumeStatus.NOT_WAITING, reason or f"Prefect answered {result.status}"
    )


def answer_gate_itself(
    rt: Runtime,
    reference: str,
    run_id: UUID,
    run_input: dict[str, Any],
    *,
    audit_action: str,
    why: str,
) -> bool:
    """Answer a gate for the person it waits on, because what it waits for has all arrived
    (every timeline, every sign-off); audit it once (keyed by ``audit_action``).

    A failure (Prefect down, or someone answered first: Prefect checks, in the transaction
    that stores the answer, that the run is still suspended) leaves the gate for a person to
    answer in the UI; what arrived is already stored. Returns whether the answer was taken.
    """
    try:
        outcome = resume_gate(run_id, run_input)
    except Exception as exc:
        log.warning("%s: %s but the gate was not resumed: %s", reference, why, exc)
        return False
    if outcome.status is not ResumeStatus.ACCEPTED:
        log.info("%s: the gate was not resumed here: %s", reference, outcome.describe())
        return False
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_audit(
            session,
            review_id=review.id,
            actor="case-reviews",
            action=audit_action,
            detail={k: v for k, v in run_input.items() if k != "recorded_by"},
            at=rt.now(),
            key=review_key(reference, audit_action),
        )
    return True


__all__ = ["ResumeOutcome", "ResumeStatus", "answer_gate_itself", "resume_gate"]
