"""Agency timelines: submissions and the self-resuming gate (links are :mod:`services.links`;
the combined timeline is :func:`models.store.combined_timeline`).

The portal, the CLI (``reviews timeline submit``) and the simulation all submit through
:func:`submit_timeline`, so an agency and the business manager take the same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.orm import Session

from core.names import AgencyDuty, Gate
from models import store
from models.orm import Review
from models.timeline import (
    TimelineEvent,
    TimelineRejected,
    check_identity,
    check_plausible,
    events_to_rows,
)
from services.links import timeline_due
from services.resume import answer_gate_itself
from services.runtime import Runtime


class SubmissionRefused(ValueError):
    """The submission cannot be taken (deadline passed for a replacement, review moved on)."""


@dataclass(frozen=True)
class SubmissionResult:
    reference: str
    agency: str
    version: int
    events: int
    all_submitted: bool
    gate_resumed: bool


def submit_timeline(
    rt: Runtime,
    *,
    reference: str,
    agency_name: str,
    events: list[TimelineEvent],
    submitted_by: str,
    source: str,
    first_row: int = 2,
) -> SubmissionResult:
    """Store a new version of an agency's timeline (earlier versions kept), meet its
    obligation, and audit it, all in one transaction; then, if every requested agency has now
    submitted, resume the review's timelines gate by itself.

    Raises :class:`TimelineRejected` (identity in free text, an event dated after today, the
    template's example row; nothing stored, problems numbered from ``first_row``) or
    :class:`SubmissionRefused` (a replacement after the deadline, or the review has moved on).
    """
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        agency = store.find_agency(session, review.board_id, agency_name)
        involved = {a.id for a in store.involved_agencies(session, review.id)}
        if agency is None or agency.id not in involved:
            raise store.NotFound(f"{agency_name!r} is not an agency on {reference}")
        if not collecting_timelines(session, review):
            raise SubmissionRefused(f"{reference} is not collecting timelines now")
        problems = check_plausible(events, today=rt.today(), first_row=first_row)
        problems += check_identity(
            events,
            store.known_identity(session, review.id),
            pseudonym=review.pseudonym,
            first_row=first_row,
        )
        if problems:
            raise TimelineRejected(problems)
        earlier = store.timeline_submissions(session, review.id, agency.id)
        due = timeline_due(session, review, agency)
        if earlier and due is not None and rt.today() > due:
            raise SubmissionRefused(
                f"the deadline ({due.isoformat()}) has passed: a submitted timeline can no "
                "longer be replaced; contact the business manager"
            )
        version = len(earlier) + 1
        store.add_timeline_submission(
            session,
            review_id=review.id,
            agency_id=agency.id,
            version=version,
            submitted_at=rt.now(),
            submitted_by=submitted_by,
            source=source,
            events=events_to_rows(events),
        )
        store.meet_agency_obligation(session, review, AgencyDuty.TIMELINE, agency, rt.today())
        detail = {
            "agency": agency.name,
            "version": version,
            "events": len(events),
            "source": source,
        }
        store.record_audit(session, review.id, submitted_by, "timeline_submitted", detail, rt.now())
        session.flush()
        submitted = set(store.latest_timeline_submissions(session, review.id))
        all_in = involved <= submitted
        run_id = review.flow_run_id
        waiting = review.waiting_at
    resumed = False
    if all_in and run_id is not None and waiting == Gate.TIMELINES_COMPLETE:
        resumed = _resume_timelines_gate(rt, reference, UUID(run_id))
    return SubmissionResult(reference, agency.name, version, len(events), all_in, resumed)


def resume_complete_timeline_gates(rt: Runtime) -> list[str]:
    """Resume every timelines gate whose agencies have all submitted but which still waits
    (the last submission came while the flow was on its way to the gate). The sweep calls
    this. Returns the references resumed."""
    return [
        reference
        for reference, run_id in timeline_gates_ready(rt)
        if _resume_timelines_gate(rt, reference, UUID(run_id))
    ]


def timeline_gates_ready(rt: Runtime) -> list[tuple[str, str]]:
    """(reference, flow run id) of each review waiting at the timelines gate with every
    timeline in: the gates the sweep resumes through Prefect."""
    with rt.sessions() as session:
        return [
            (review.reference, review.flow_run_id)
            for review in store.reviews_waiting_at(session, Gate.TIMELINES_COMPLETE)
            if review.flow_run_id is not None and not store.outstanding_agencies(session, review.id)
        ]


def _resume_timelines_gate(rt: Runtime, reference: str, run_id: UUID) -> bool:
    """Answer the timelines gate for the business manager once every timeline is in.

    No event date is proposed here: the business manager confirms each event (date, time,
    venue, contact) at its own gate before anyone is invited.
    """
    return answer_gate_itself(
        rt,
        reference,
        run_id,
        {
            "proceed_without": [],
            "reason": "",
            "recorded_by": "case-reviews (every timeline received)",
        },
        audit_action="timelines_gate_resumed",
        why="every timeline is in",
    )


def collecting_timelines(session: Session, review: Review) -> bool:
    """Timelines were requested and have not been merged yet."""
    events = store.review_events(session, review.id)
    return "timelines_requested" in events and "timelines_merged" not in events


__all__ = [
    "SubmissionRefused",
    "SubmissionResult",
    "collecting_timelines",
    "resume_complete_timeline_gates",
    "submit_timeline",
    "timeline_gates_ready",
]
