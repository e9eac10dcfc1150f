"""Agency timelines: signed links, submissions, the combined timeline, the self-resuming gate.

The portal, the CLI (``reviews timeline submit``) and the simulation all submit through
:func:`submit_timeline`, so an agency and the business manager take the same path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from case_reviews.runtime import Runtime
from models import store
from models.orm import Agency, Obligation, ObligationStatus, Review, TimelineSubmission
from models.timeline import (
    RowProblem,
    TimelineEvent,
    TimelineRejected,
    check_identity,
    events_to_rows,
    parse_rows,
)
from tasks.timeline_merge import AgencyTimeline, CombinedTimeline, combine

log = logging.getLogger(__name__)

LINK_SALT = "timeline-link"
# Links stay usable this long after the agency's deadline, for a late first submission.
LINK_GRACE = timedelta(days=28)


class LinkRefused(PermissionError):
    """An expired, tampered or foreign link. The message is for our logs, never the page."""


class SubmissionRefused(ValueError):
    """The submission cannot be taken (deadline passed for a replacement, review moved on)."""


@dataclass(frozen=True)
class LinkGrant:
    reference: str
    agency_id: int


def _serializer(rt: Runtime) -> URLSafeSerializer:
    return URLSafeSerializer(rt.settings.portal_secret.get_secret_value(), salt=LINK_SALT)


def make_token(rt: Runtime, reference: str, agency_id: int, expires_on: date) -> str:
    """A signed token naming one review and one agency, valid until ``expires_on``."""
    return str(_serializer(rt).dumps({"r": reference, "a": agency_id, "x": expires_on.isoformat()}))


def portal_link(rt: Runtime, reference: str, agency_id: int, due: date) -> str:
    token = make_token(rt, reference, agency_id, due + LINK_GRACE)
    return f"{rt.settings.portal_url.rstrip('/')}/t/{token}"


def read_token(rt: Runtime, token: str) -> LinkGrant:
    """The review and agency a token grants, or :class:`LinkRefused` (expired, tampered, or
    for an agency no longer on the review). Expiry is read against the runtime's clock."""
    try:
        data: Any = _serializer(rt).loads(token)
        reference, agency_id, expires = str(data["r"]), int(data["a"]), str(data["x"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkRefused(f"bad token: {exc.__class__.__name__}") from None
    if date.fromisoformat(expires) < rt.today():
        raise LinkRefused(f"expired on {expires}")
    with rt.sessions() as session:
        try:
            review = store.get_review(session, reference)
        except store.NotFound:
            raise LinkRefused("no such review") from None
        if agency_id not in {a.id for a in store.involved_agencies(session, review.id)}:
            raise LinkRefused("agency not on the review")
    return LinkGrant(reference, agency_id)


def timeline_due(session: Session, review: Review, agency: Agency) -> date | None:
    obligation = session.scalar(
        select(Obligation).where(Obligation.key == f"{review.reference}:timeline:{agency.name}")
    )
    return obligation.due_on if obligation is not None else None


def submissions(session: Session, review_id: int, agency_id: int) -> list[TimelineSubmission]:
    """Every version an agency has submitted for a review, oldest first."""
    return list(
        session.scalars(
            select(TimelineSubmission)
            .where(
                TimelineSubmission.review_id == review_id,
                TimelineSubmission.agency_id == agency_id,
            )
            .order_by(TimelineSubmission.version)
        )
    )


def latest_submissions(session: Session, review_id: int) -> dict[int, TimelineSubmission]:
    """Each agency's newest version for a review, by agency id."""
    latest: dict[int, TimelineSubmission] = {}
    for row in session.scalars(
        select(TimelineSubmission)
        .where(TimelineSubmission.review_id == review_id)
        .order_by(TimelineSubmission.version)
    ):
        latest[row.agency_id] = row
    return latest


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
) -> SubmissionResult:
    """Store a new version of an agency's timeline (earlier versions kept), meet its
    obligation, and audit it, all in one transaction; then, if every requested agency has now
    submitted, resume the review's timelines gate by itself.

    Raises :class:`TimelineRejected` (identity in free text; nothing stored) or
    :class:`SubmissionRefused` (a replacement after the deadline, or the review has moved on).
    """
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        agency = session.scalars(
            select(Agency).where(
                Agency.board_id == review.board_id,
                func.lower(Agency.name) == agency_name.lower(),
            )
        ).one_or_none()
        involved = {a.id for a in store.involved_agencies(session, review.id)}
        if agency is None or agency.id not in involved:
            raise store.NotFound(f"{agency_name!r} is not an agency on {reference}")
        if not collecting_timelines(session, review):
            raise SubmissionRefused(f"{reference} is not collecting timelines now")
        problems = check_identity(
            events, store.known_identity(session, review.id), pseudonym=review.pseudonym
        )
        if problems:
            raise TimelineRejected(problems)
        earlier = submissions(session, review.id, agency.id)
        due = timeline_due(session, review, agency)
        if earlier and due is not None and rt.today() > due:
            raise SubmissionRefused(
                f"the deadline ({due.isoformat()}) has passed: a submitted timeline can no "
                "longer be replaced; contact the business manager"
            )
        version = len(earlier) + 1
        session.add(
            TimelineSubmission(
                review_id=review.id,
                agency_id=agency.id,
                version=version,
                submitted_at=rt.now(),
                submitted_by=submitted_by,
                source=source,
                events=events_to_rows(events),
            )
        )
        store.meet_obligation(
            session, key=f"{reference}:timeline:{agency.name}", on_date=rt.today()
        )
        store.record_audit(
            session,
            review_id=review.id,
            actor=submitted_by,
            action="timeline_submitted",
            detail={
                "agency": agency.name,
                "version": version,
                "events": len(events),
                "source": source,
            },
            at=rt.now(),
        )
        session.flush()
        submitted = set(latest_submissions(session, review.id))
        all_in = involved <= submitted
        run_id = review.flow_run_id
        waiting = review.waiting_at
    resumed = False
    if all_in and run_id is not None and waiting == "timelines_complete":
        resumed = _resume_timelines_gate(rt, reference, UUID(run_id))
    return SubmissionResult(reference, agency.name, version, len(events), all_in, resumed)


def resume_complete_timeline_gates(rt: Runtime) -> list[str]:
    """Resume every timelines gate whose agencies have all submitted but which still waits
    (the last submission came while the flow was on its way to the gate). The sweep calls
    this. Returns the references resumed."""
    with rt.sessions() as session:
        waiting = [
            (review.reference, review.flow_run_id)
            for review in session.scalars(
                select(Review).where(Review.waiting_at == "timelines_complete")
            )
            if review.flow_run_id is not None and not outstanding_agencies(session, review.id)
        ]
    return [
        reference
        for reference, run_id in waiting
        if run_id is not None and _resume_timelines_gate(rt, reference, UUID(run_id))
    ]


def _resume_timelines_gate(rt: Runtime, reference: str, run_id: UUID) -> bool:
    """Answer the timelines gate for the business manager once every timeline is in.

    The learning event is proposed ten working days on; the business manager can move it.
    A failure (Prefect down, or someone resumed first) leaves the gate for the business
    manager to answer in the UI: the submission itself is already stored.
    """
    from prefect import get_client
    from prefect.flow_runs import resume_flow_run

    learning_event = rt.deadlines.calendar.add_working_days(rt.today(), 10)
    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(run_id).state
        if state is None or not state.is_paused():
            return False  # already resumed (or not yet suspended): nothing to do now
        resume_flow_run(
            run_id,
            run_input={
                "proceed_without": [],
                "reason": "",
                "learning_event_on": learning_event.isoformat(),
                "recorded_by": "case-reviews (every timeline received)",
            },
        )
    except Exception as exc:
        log.warning("%s: every timeline is in but the gate was not resumed: %s", reference, exc)
        return False
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_audit(
            session,
            review_id=review.id,
            actor="case-reviews",
            action="timelines_gate_resumed",
            detail={"learning_event_on": learning_event.isoformat()},
            at=rt.now(),
            key=f"{reference}:timelines_gate_resumed",
        )
    return True


def combined_timeline(session: Session, review: Review) -> CombinedTimeline:
    """The combined timeline from each agency's newest version (in date order, attributed)."""
    names = {a.id: a.name for a in store.involved_agencies(session, review.id)}
    timelines = [
        AgencyTimeline(
            agency=names[row.agency_id],
            version=row.version,
            submitted_on=row.submitted_at.date(),
            events=parse_rows(row.events),
        )
        for row in latest_submissions(session, review.id).values()
    ]
    return combine(review.reference, review.pseudonym, timelines)


def collecting_timelines(session: Session, review: Review) -> bool:
    """Timelines were requested and have not been merged yet."""
    events = store.review_events(session, review.id)
    return "timelines_requested" in events and "timelines_merged" not in events


def outstanding_agencies(session: Session, review_id: int) -> list[str]:
    """Agencies whose timeline is still awaited (their obligation is open)."""
    return [
        o.owed_by
        for o in session.scalars(
            select(Obligation).where(
                Obligation.review_id == review_id,
                Obligation.milestone == "timeline_return",
                Obligation.status == ObligationStatus.OPEN,
            )
        )
    ]


__all__ = [
    "LinkGrant",
    "LinkRefused",
    "RowProblem",
    "SubmissionRefused",
    "SubmissionResult",
    "collecting_timelines",
    "combined_timeline",
    "latest_submissions",
    "make_token",
    "outstanding_agencies",
    "portal_link",
    "read_token",
    "resume_complete_timeline_gates",
    "submissions",
    "submit_timeline",
]
