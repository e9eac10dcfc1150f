"""Data access for the case store.

Every function takes the session and never commits: the caller owns the transaction
(``with session.begin(): …``), so a refused referral leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, insert, or_, select
from sqlalchemy.orm import Session

from core.criteria import Assessment, CaseFacts, assess
from core.deadlines import ClockStop, Deadline, DeadlineEngine
from core.names import agency_obligation_key, obligation_key, review_key
from models.combined_timeline import AgencyTimeline, CombinedTimeline, combine
from models.identity_guard import KnownIdentity, identity_leaks, identity_of
from models.orm import (
    Agency,
    AuditEvent,
    Base,
    Board,
    ClockStopPeriod,
    Decision,
    FamilyInvolvement,
    Obligation,
    ObligationStatus,
    OutboxMessage,
    Referral,
    ReminderRound,
    Review,
    ReviewAgency,
    ReviewDelay,
    ReviewEvent,
    ReviewStatus,
    SubjectIdentity,
    TimelineSubmission,
)
from models.schemas import (
    AgencyView,
    BoardIn,
    DelayIn,
    DelayView,
    FamilyStepView,
    IdentityView,
    LocalAuthorityNotificationIn,
    ReferralIn,
    ReferralView,
    ReviewStatusView,
    fields_of,
)
from models.timeline import parse_rows

RowT = TypeVar("RowT", bound=Base)


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field of the input."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class InputRejected(ValueError):
    """The input was refused; nothing was stored. ``problems`` has one entry per field."""

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DuplicateReferral(ValueError):
    """The same case (pseudonym, regime, incident date) is already recorded."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"this referral is already recorded as {reference}")


class NotFound(LookupError):
    """A named thing does not exist."""


# --- board and agencies --------------------------------------------------------------------


def load_board(session: Session, board_in: BoardIn) -> Board:
    """Create or update the board and its agency directory (matched by name)."""
    board = session.scalar(select(Board).where(Board.name == board_in.name))
    if board is None:
        board = Board(name=board_in.name)
        session.add(board)
    board.chair_email = board_in.chair_email
    board.performance_committee_email = board_in.performance_committee_email
    board.business_manager_email = board_in.business_manager_email
    board.national_panel_email = board_in.national_panel_email
    board.addresses = {str(role): address for role, address in board_in.addresses.items()}
    board.learning_committee_email = board_in.learning_committee_email
    session.flush()
    existing = {
        a.name: a for a in session.scalars(select(Agency).where(Agency.board_id == board.id))
    }
    for agency_in in board_in.agencies:
        agency = existing.get(agency_in.name) or Agency(board_id=board.id, name=agency_in.name)
        agency.sector = agency_in.sector
        agency.contact_email = agency_in.contact_email
        agency.safeguarding_lead_email = agency_in.safeguarding_lead_email
        session.add(agency)
    session.flush()
    if board_in.local_authority is not None:
        local_authority = find_agency(session, board.id, board_in.local_authority)
        board.local_authority_agency_id = local_authority.id if local_authority else None
    session.flush()
    return board


def get_board(session: Session, name: str | None = None) -> Board:
    """The board called ``name``, or the only board there is."""
    boards = list(session.scalars(select(Board).order_by(Board.id)))
    if name is not None:
        for board in boards:
            if board.name == name:
                return board
    if len(boards) == 1:
        return boards[0]
    if not boards:
        raise NotFound("no board is loaded: run 'reviews board load FILE.yaml' first")
    raise NotFound(f"several boards are loaded; none is called {name!r}")


def recipient_address(board: Board, role: str) -> str | None:
    """The board's address for a notice recipient role (None when the board file has none)."""
    own = {
        "chair": board.chair_email,
        "business_manager": board.business_manager_email,
        "national_panel": board.national_panel_email,
    }
    return own.get(role) or (board.addresses or {}).get(role)


def list_agencies(session: Session, board_id: int) -> list[AgencyView]:
    rows = session.scalars(select(Agency).where(Agency.board_id == board_id).order_by(Agency.name))
    return [AgencyView.model_validate(a) for a in rows]


# --- referrals -------------------------------------------------------------------------------


def _next_reference(session: Session, regime: str, year: int) -> str:
    prefix = f"{regime.upper()}-{year}-"
    count = session.scalar(select(func.count()).where(Review.reference.like(f"{prefix}%"))) or 0
    return f"{prefix}{count + 1:03d}"


def add_referral(
    session: Session,
    referral: ReferralIn,
    *,
    board_id: int,
    actor: str,
    now: datetime,
    deadlines: DeadlineEngine,
) -> Review:
    """Store a referral, the subject's identity (apart), the review it opens, its key dates,
    the obligations the clocks give, and an audit event. Returns the new review.

    Raises :class:`InputRejected` (one problem per field) or :class:`DuplicateReferral`;
    the caller's transaction then rolls back, so nothing is stored.
    """
    problems: list[FieldProblem] = []
    pack = deadlines.pack(referral.regime.value)
    if pack.referrals_before is not None and referral.notified_on >= pack.referrals_before:
        successor = f"; record it under {pack.superseded_by}" if pack.superseded_by else ""
        note = f" ({pack.superseded_note})" if pack.superseded_note else ""
        raise InputRejected(
            [
                FieldProblem(
                    "notified_on",
                    f"a new {referral.regime.value} referral must be notified before "
                    f"{pack.referrals_before.isoformat()}: {pack.title} was replaced by "
                    f"{pack.superseded_by or 'another regime'}{note}{successor}",
                )
            ]
        )
    agencies = {
        a.name.casefold(): a
        for a in session.scalars(select(Agency).where(Agency.board_id == board_id))
    }
    known = ", ".join(sorted(a.name for a in agencies.values()))
    referring = agencies.get(referral.referring_agency.casefold())
    if referring is None:
        problems.append(
            FieldProblem(
                "referring_agency", f"unknown agency {referral.referring_agency!r} (known: {known})"
            )
        )
    involved: list[Agency] = []
    for i, name in enumerate(referral.agencies_involved):
        agency = agencies.get(name.casefold())
        if agency is None:
            problems.append(
                FieldProblem(f"agencies_involved[{i}]", f"unknown agency {name!r} (known: {known})")
            )
        elif agency not in involved:
            involved.append(agency)
    today = now.date()
    for field in ("notified_on", "incident_date", "incident_known_on"):
        value = getattr(referral, field)
        if value is not None and value > today:
            problems.append(FieldProblem(field, f"is in the future (today is {today.isoformat()})"))
    identity = identity_of(referral.subject)
    for field, text in (("pseudonym", referral.pseudonym), ("summary", referral.summary)):
        leaks = identity_leaks(text, identity)
        if leaks:
            problems.append(
                FieldProblem(
                    field,
                    f"contains the subject's real {' and '.join(leaks)}; use the pseudonym only",
                )
            )
    assessment: Assessment | None = None
    criteria = deadlines.pack(referral.regime.value).criteria
    if criteria is not None:
        if referral.harm not in criteria.harms:
            problems.append(
                FieldProblem(
                    "harm",
                    f"{referral.harm!r} is not a harm a {referral.regime.value} referral reports "
                    f"under {criteria.basis} (accepted: {', '.join(criteria.harms)})",
                )
            )
        else:
            assessment = assess(criteria, CaseFacts.model_validate(referral, from_attributes=True))
            if not assessment.met and assessment.route == "refuse":
                problems.append(FieldProblem("harm", assessment.summary))
    if problems:
        raise InputRejected(problems)
    assert referring is not None

    duplicate = session.scalar(
        select(Review.reference).where(
            Review.regime == referral.regime,
            func.lower(Review.pseudonym) == referral.pseudonym.lower(),
            Review.incident_date == referral.incident_date,
        )
    )
    if duplicate is not None:
        raise DuplicateReferral(duplicate)

    # When the local authority became aware (s.16C's five working days), where the referral says;
    # otherwise the day the board was notified.
    incident_known_on = referral.incident_known_on or referral.notified_on
    review = Review(
        reference=_next_reference(session, referral.regime.value, today.year),
        board_id=board_id,
        regime=referral.regime,
        pseudonym=referral.pseudonym,
        incident_date=referral.incident_date,
        stage="referral_intake",
        status=ReviewStatus.OPEN,
        created_at=now,
    )
    session.add(review)
    session.flush()
    proceedings = referral.parallel_proceedings
    session.add(
        Referral(
            review_id=review.id,
            referring_agency_id=referring.id,
            referrer_name=referral.referrer.name,
            referrer_email=referral.referrer.email,
            notified_on=referral.notified_on,
            incident_date=referral.incident_date,
            incident_known_on=incident_known_on,
            **referral.model_dump(
                include={
                    "harm",
                    "abuse_or_neglect",
                    "interagency_concerns",
                    "domestic_homicide",
                    "summary",
                }
            ),
            criminal_investigation=proceedings.criminal_investigation,
            court_proceedings=proceedings.court,
            inquest=proceedings.inquest,
            parallel_notes=proceedings.notes,
        )
    )
    session.add(
        SubjectIdentity(
            review_id=review.id,
            full_name=referral.subject.full_name,
            date_of_birth=referral.subject.date_of_birth,
            address=referral.subject.address,
            nhs_number=referral.subject.nhs_number,
        )
    )
    for agency in involved:
        session.add(ReviewAgency(review_id=review.id, agency_id=agency.id))
    # Two dates: the board's notification (its own clocks) and the day the local authority
    # became aware (the serious incident notification's), the same unless the referral says.
    record_event(session, review_id=review.id, name="notified", on_date=referral.notified_on)
    record_event(session, review_id=review.id, name="incident_known", on_date=incident_known_on)
    open_obligations_from_deadlines(session, review=review, deadlines=deadlines, now=now)
    if referral.local_authority_notification is not None:
        record_local_authority_notification(
            session,
            review=review,
            notification=referral.local_authority_notification,
            actor=actor,
            now=now,
            deadlines=deadlines,
        )
    record_audit(
        session,
        review.id,
        actor,
        "referral_recorded",
        {
            "reference": review.reference,
            "regime": review.regime.value,
            "criteria": assessment.summary if assessment else "no criteria in the rule pack",
        },
        now,
    )
    session.flush()
    return review


def criteria_assessment(
    session: Session, review: Review, deadlines: DeadlineEngine
) -> Assessment | None:
    """The review's referral against its regime's statutory criteria (None: the pack has none)."""
    criteria = deadlines.pack(review.regime.value).criteria
    if criteria is None:
        return None
    referral = get_referral(session, review.id)
    return assess(criteria, CaseFacts.model_validate(referral, from_attributes=True))


def add_row(session: Session, row: RowT) -> RowT:
    """Add ``row`` and flush it, so its id is set; the caller's transaction commits it."""
    session.add(row)
    session.flush()
    return row


def rows(
    session: Session, model: type[RowT], *where: ColumnElement[bool], order_by: Sequence[Any]
) -> list[RowT]:
    """Every ``model`` row that meets ``where``, in ``order_by`` order."""
    return list(session.scalars(select(model).where(*where).order_by(*order_by)))


def get_review(session: Session, reference: str) -> Review:
    review = session.scalar(select(Review).where(Review.reference == reference))
    if review is None:
        raise NotFound(f"no review with reference {reference!r}")
    return review


def involved_agencies(session: Session, review_id: int) -> list[Agency]:
    return list(
        session.scalars(
            select(Agency)
            .join(ReviewAgency, ReviewAgency.agency_id == Agency.id)
            .where(ReviewAgency.review_id == review_id)
            .order_by(Agency.name)
        )
    )


def referral_view(session: Session, reference: str) -> ReferralView:
    """The pseudonymised referral (no identity, no referrer name)."""
    review = get_review(session, reference)
    referral = get_referral(session, review.id)
    return ReferralView.model_validate(
        fields_of(review, ReferralView)
        | fields_of(referral, ReferralView)
        | {
            "referring_agency": session.get_one(Agency, referral.referring_agency_id).name,
            "agencies_involved": [a.name for a in involved_agencies(session, review.id)],
        }
    )


def reveal_identity(session: Session, reference: str, *, actor: str, now: datetime) -> IdentityView:
    """The subject's identity; the look is itself recorded in the audit trail."""
    review = get_review(session, reference)
    identity = session.scalars(
        select(SubjectIdentity).where(SubjectIdentity.review_id == review.id)
    ).one()
    record_audit(session, review.id, actor, "identity_revealed", {"reference": reference}, now)
    return IdentityView.model_validate(identity)


def known_identity(session: Session, review_id: int) -> KnownIdentity:
    """What the identity guard looks for in this review's free text."""
    return identity_of(
        session.scalars(select(SubjectIdentity).where(SubjectIdentity.review_id == review_id)).one()
    )


def known_identities(session: Session, review_ids: Iterable[int]) -> list[KnownIdentity]:
    """The identities of several reviews (a digest that mentions them all)."""
    rows = session.scalars(
        select(SubjectIdentity).where(SubjectIdentity.review_id.in_(list(review_ids)))
    )
    return [identity_of(row) for row in rows]


def get_referral(session: Session, review_id: int) -> Referral:
    return session.scalars(select(Referral).where(Referral.review_id == review_id)).one()


def find_agency(session: Session, board_id: int, name: str) -> Agency | None:
    """The board's agency called ``name`` (case-blind), if any."""
    return session.scalars(
        select(Agency).where(Agency.board_id == board_id, func.lower(Agency.name) == name.lower())
    ).one_or_none()


def find_review_reference(session: Session, *, pseudonym: str) -> str | None:
    """The reference of the first review recorded for ``pseudonym``, if any."""
    return session.scalar(
        select(Review.reference).where(Review.pseudonym == pseudonym).order_by(Review.id)
    )


def reviews_waiting_at(session: Session, gate: str) -> list[Review]:
    """Open reviews whose flow waits at ``gate``."""
    return list(session.scalars(select(Review).where(Review.waiting_at == gate)))


# --- events, clocks, obligations ------------------------------------------------------------


def record_event(session: Session, *, review_id: int, name: str, on_date: date) -> bool:
    """Record a dated event once; a second record of the same event keeps the first date.

    Returns True when the event is new.
    """
    existing = session.scalar(
        select(ReviewEvent).where(ReviewEvent.review_id == review_id, ReviewEvent.name == name)
    )
    if existing is not None:
        return False
    session.add(ReviewEvent(review_id=review_id, name=name, on_date=on_date))
    session.flush()
    return True


def review_events(session: Session, review_id: int) -> dict[str, date]:
    rows = session.scalars(select(ReviewEvent).where(ReviewEvent.review_id == review_id))
    return {row.name: row.on_date for row in rows}


def clock_stops(session: Session, review_id: int) -> list[ClockStop]:
    rows = session.scalars(
        select(ClockStopPeriod)
        .where(ClockStopPeriod.review_id == review_id)
        .order_by(ClockStopPeriod.start)
    )
    return [ClockStop(start=r.start, end=r.end, reason=r.reason) for r in rows]


def add_clock_stop(
    session: Session, *, review_id: int, stop: ClockStop, actor: str, now: datetime
) -> None:
    """Record a 'stop the clock' period and its reason (audited)."""
    session.add(
        ClockStopPeriod(review_id=review_id, start=stop.start, end=stop.end, reason=stop.reason)
    )
    record_audit(
        session,
        review_id,
        actor,
        "clock_stopped",
        {"start": stop.start.isoformat(), "end": stop.end.isoformat(), "reason": stop.reason},
        now,
    )


def record_delay(
    session: Session, *, review: Review, delay: DelayIn, actor: str, now: datetime
) -> ReviewDelay:
    """Record a delay (its reason, period and the learning captured meanwhile); audited. It
    moves the stoppable statutory dates only where the regime's pack says so."""
    row = add_row(
        session,
        ReviewDelay(review_id=review.id, recorded_by=actor, recorded_at=now, **delay.model_dump()),
    )
    record_audit(
        session,
        review.id,
        actor,
        "delay_recorded",
        {
            "reason": delay.reason,
            "from": delay.start.isoformat(),
            "to": delay.end.isoformat() if delay.end else None,
            "learning": delay.learning,
        },
        now,
    )
    return row


def review_delays(session: Session, review_id: int) -> list[ReviewDelay]:
    """The review's recorded delays, earliest first."""
    return list(
        session.scalars(
            select(ReviewDelay)
            .where(ReviewDelay.review_id == review_id)
            .order_by(ReviewDelay.start, ReviewDelay.id)
        )
    )


def _date_moving_stops(
    session: Session, review: Review, deadlines: DeadlineEngine
) -> list[ClockStop]:
    """The periods that push the review's stoppable dates out: none unless its pack says a
    delay moves them (``delays_move_dates``); then every finished delay and clock stop."""
    if not deadlines.pack(review.regime.value).delays_move_dates:
        return []
    finished = [
        ClockStop(start=d.start, end=d.end, reason=d.reason)
        for d in review_delays(session, review.id)
        if d.end is not None
    ]
    return clock_stops(session, review.id) + finished


def review_deadlines(session: Session, review: Review, deadlines: DeadlineEngine) -> list[Deadline]:
    """Every deadline the review's recorded events give (with its delays, where the pack lets
    a delay move a date)."""
    events = review_events(session, review.id)
    known = deadlines.known_events(review.regime.value)
    return deadlines.compute(
        review.regime.value,
        {k: v for k, v in events.items() if k in known},
        _date_moving_stops(session, review, deadlines),
    )


# Who a board-level milestone is owed to; anything else is owed to the board itself.
_OWED_TO: Mapping[str, str] = {
    "chair_decision": "referrer",
    "panel_notification": "national panel",
    "rapid_review": "national panel",
    "home_office_submission": "Home Office",
    "government_notification": "Welsh Government",
    "panel_copy": "national panel",
    "review_completion": "board",
    "action_plan_signoff": "board",
    "professional_forum": "performance committee",
}

# Milestones that are facts of record, not things anyone owes.
_NOT_OWED = frozenset(
    {
        "published_until",
        "timeline_return",
        "action_progress",
        "agency_summary",
        "agency_review_report",
    }
)


def upsert_obligation(
    session: Session, *, key: str, due_on: date, now: datetime, **fields: Any
) -> Obligation:
    """Open the obligation with this key, or move an open one's due date (e.g. a clock stop).
    ``fields`` are the other :class:`Obligation` columns (review, milestone, description, who
    owes it to whom, the agency that owes it), used when it is opened."""
    obligation = session.scalar(select(Obligation).where(Obligation.key == key))
    if obligation is None:
        status = ObligationStatus.OPEN
        row = Obligation(key=key, due_on=due_on, status=status, created_at=now, **fields)
        return add_row(session, row)
    if obligation.status is ObligationStatus.OPEN:
        obligation.due_on = due_on
        if "description" in fields:
            obligation.description = fields["description"]
    session.flush()
    return obligation


def open_obligations_from_deadlines(
    session: Session, *, review: Review, deadlines: DeadlineEngine, now: datetime
) -> list[Obligation]:
    """Open (or re-date) one obligation per board milestone the recorded events make due."""
    opened = []
    local_authority: Agency | None = None
    for deadline in review_deadlines(session, review, deadlines):
        if deadline.milestone in _NOT_OWED:
            continue
        owed_by, agency_id = "board", None
        if deadline.owed_by == "local_authority":
            # Chased through the local authority's own contact and safeguarding lead (and the
            # business manager), never the chair: it is not the board's duty.
            local_authority = local_authority or board_local_authority(session, review.board_id)
            owed_by = local_authority.name if local_authority else "the local authority"
            agency_id = local_authority.id if local_authority else None
        opened.append(
            upsert_obligation(
                session,
                key=obligation_key(review.reference, deadline.milestone),
                review_id=review.id,
                milestone=deadline.milestone,
                description=deadline.rule,
                owed_by=owed_by,
                agency_id=agency_id,
                owed_to=_OWED_TO.get(deadline.milestone, "board"),
                due_on=deadline.due,
                now=now,
            )
        )
    return opened


def record_local_authority_notification(
    session: Session,
    *,
    review: Review,
    notification: LocalAuthorityNotificationIn,
    actor: str,
    now: datetime,
    deadlines: DeadlineEngine | None = None,
) -> None:
    """Record the local authority's serious incident notification (the date it was sent and to
    whom), meeting its obligation so the reminders stop; audited. With ``deadlines``, the
    clocks that count from the notification (the rapid review's 15 working days) are re-dated
    from it. Refuses a date in the future or before the incident, naming the field."""
    if notification.sent_on > now.date():
        raise InputRejected([FieldProblem("sent_on", "is in the future")])
    if notification.sent_on < review.incident_date:
        raise InputRejected([FieldProblem("sent_on", "is before the incident")])
    record_event(session, review_id=review.id, name="la_notified", on_date=notification.sent_on)
    meet_obligation(
        session,
        key=obligation_key(review.reference, "panel_notification"),
        on_date=notification.sent_on,
        note=f"local authority notified {', '.join(notification.to)}",
    )
    if deadlines is not None:
        open_obligations_from_deadlines(session, review=review, deadlines=deadlines, now=now)
    record_audit(
        session,
        review.id,
        actor,
        "local_authority_notification_recorded",
        {"sent_on": notification.sent_on.isoformat(), "to": list(notification.to)},
        now,
        key=review_key(review.reference, "local_authority_notification"),
    )


def board_local_authority(session: Session, board_id: int) -> Agency | None:
    """The agency the board file names as its local authority, if any."""
    board = session.get_one(Board, board_id)
    if board.local_authority_agency_id is None:
        return None
    return session.get_one(Agency, board.local_authority_agency_id)


def meet_obligation(session: Session, *, key: str, on_date: date, note: str = "") -> bool:
    """Mark an open obligation met. Returns False when there is none open under that key."""
    obligation = session.scalar(select(Obligation).where(Obligation.key == key))
    if obligation is None or obligation.status is not ObligationStatus.OPEN:
        return False
    obligation.status = ObligationStatus.MET
    obligation.met_on = on_date
    obligation.note = note
    session.flush()
    return True


def meet_agency_obligation(
    session: Session, review: Review, duty: str, agency: Agency, on_date: date
) -> bool:
    """Mark the agency's open ``duty`` obligation on the review met (False: none open)."""
    key = agency_obligation_key(review.reference, duty, agency.name)
    return meet_obligation(session, key=key, on_date=on_date)


def obligations(
    session: Session,
    review_id: int,
    *,
    milestone: str | None = None,
    status: ObligationStatus | None = None,
) -> list[Obligation]:
    """The review's obligations (of one milestone, in one status), soonest due first."""
    query = select(Obligation).where(Obligation.review_id == review_id)
    if milestone is not None:
        query = query.where(Obligation.milestone == milestone)
    if status is not None:
        query = query.where(Obligation.status == status)
    return list(session.scalars(query.order_by(Obligation.due_on, Obligation.milestone)))


def open_obligations(
    session: Session, review_id: int, *, milestone: str | None = None
) -> list[Obligation]:
    return obligations(session, review_id, milestone=milestone, status=ObligationStatus.OPEN)


def first_open_obligation(
    session: Session, review_id: int, milestones: Iterable[str]
) -> Obligation | None:
    """The open obligation of the first of ``milestones`` that has one (latest due first)."""
    for milestone in milestones:
        found = open_obligations(session, review_id, milestone=milestone)
        if found:
            return found[-1]
    return None


def outstanding_agencies(session: Session, review_id: int) -> list[str]:
    """Agencies whose timeline is still awaited (their obligation is open)."""
    return [o.owed_by for o in open_obligations(session, review_id, milestone="timeline_return")]


def owe_per_agency(
    session: Session,
    *,
    review: Review,
    duty: str,
    milestone: str,
    description: str,
    owed_to: str,
    due_on: date,
    now: datetime,
) -> list[Agency]:
    """Open one obligation per involved agency (keyed by review, duty and agency, so doing it
    again opens none twice); returns the agencies."""
    agencies = involved_agencies(session, review.id)
    for agency in agencies:
        upsert_obligation(
            session,
            key=agency_obligation_key(review.reference, duty, agency.name),
            review_id=review.id,
            milestone=milestone,
            description=description,
            owed_by=agency.name,
            agency_id=agency.id,
            owed_to=owed_to,
            due_on=due_on,
            now=now,
        )
    return agencies


def agency_obligation(
    session: Session, review: Review, duty: str, agency: Agency
) -> Obligation | None:
    """An agency's obligation of ``duty`` on the review, if it was opened."""
    return session.scalar(
        select(Obligation).where(
            Obligation.key == agency_obligation_key(review.reference, duty, agency.name)
        )
    )


# --- timelines ------------------------------------------------------------------------------


def timeline_submissions(
    session: Session, review_id: int, agency_id: int
) -> list[TimelineSubmission]:
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


def latest_timeline_submissions(session: Session, review_id: int) -> dict[int, TimelineSubmission]:
    """Each agency's newest version for a review, by agency id."""
    latest: dict[int, TimelineSubmission] = {}
    for row in session.scalars(
        select(TimelineSubmission)
        .where(TimelineSubmission.review_id == review_id)
        .order_by(TimelineSubmission.version)
    ):
        latest[row.agency_id] = row
    return latest


def add_timeline_submission(session: Session, **fields: Any) -> TimelineSubmission:
    """Store one version of an agency's timeline (earlier versions are kept): ``fields`` are
    the :class:`TimelineSubmission` columns."""
    return add_row(session, TimelineSubmission(**fields))


def combined_timeline(session: Session, review: Review) -> CombinedTimeline:
    """The combined timeline from each agency's newest version (in date order, attributed)."""
    names = {a.id: a.name for a in involved_agencies(session, review.id)}
    timelines = [
        AgencyTimeline(
            agency=names[row.agency_id],
            version=row.version,
            submitted_on=row.submitted_at.date(),
            events=parse_rows(row.events),
        )
        for row in latest_timeline_submissions(session, review.id).values()
    ]
    return combine(review.reference, review.pseudonym, timelines)


# --- reminders ------------------------------------------------------------------------------


def reminder_candidates(
    session: Session, horizon: date, milestones: Iterable[str]
) -> list[tuple[Any, ...]]:
    """The columns the sweep needs of every open obligation of an open review that is due by
    ``horizon`` and of a chased milestone, soonest first: one indexed query, no ORM objects."""
    query = (
        select(
            Obligation.id,
            Obligation.description,
            Obligation.owed_by,
            Obligation.due_on,
            Obligation.created_at,
            Review.id,
            Review.reference,
            Review.pseudonym,
            Agency.name,
            Agency.contact_email,
            Agency.safeguarding_lead_email,
            Board.name,
            Board.business_manager_email,
            Board.chair_email,
        )
        .join(Review, Review.id == Obligation.review_id)
        .join(Board, Board.id == Review.board_id)
        .outerjoin(Agency, Agency.id == Obligation.agency_id)
        .where(
            Obligation.status == ObligationStatus.OPEN,
            Obligation.due_on <= horizon,
            Obligation.milestone.in_(list(milestones)),
            # A published report is taken down after the review has closed: still chased.
            or_(Review.status == ReviewStatus.OPEN, Obligation.milestone == "published_until"),
        )
        .order_by(Obligation.due_on, Obligation.id)
    )
    return [tuple(row) for row in session.execute(query).tuples()]


def sent_reminder_rounds(session: Session, obligation_ids: list[int]) -> set[tuple[int, str]]:
    """(obligation, round) pairs already sent among ``obligation_ids``."""
    return set(
        session.execute(
            select(ReminderRound.obligation_id, ReminderRound.round).where(
                ReminderRound.obligation_id.in_(obligation_ids)
            )
        ).tuples()
    )


def rounds_after_met(session: Session, review_id: int) -> int:
    """Reminder rounds of the review recorded after their obligation was met: chasing someone
    for what they had already answered (there should be none)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(ReminderRound)
            .join(Obligation, Obligation.id == ReminderRound.obligation_id)
            .where(
                Obligation.review_id == review_id,
                Obligation.met_on.is_not(None),
                ReminderRound.on_date > Obligation.met_on,
            )
        )
        or 0
    )


def record_reminder_rounds(session: Session, rounds: list[dict[str, Any]]) -> None:
    """Log reminder rounds in one statement (each a ``reminder_round`` row's columns)."""
    session.execute(insert(ReminderRound), rounds)


def count_messages(session: Session, *, key_prefix: str) -> int:
    """How many outbox messages have a key starting with ``key_prefix``."""
    return session.scalar(select(func.count()).where(OutboxMessage.key.like(f"{key_prefix}%"))) or 0


def boards(session: Session) -> list[Board]:
    return list(session.scalars(select(Board).order_by(Board.id)))


def board_open_obligations(session: Session, board_id: int) -> list[tuple[Obligation, Review]]:
    """Every open obligation of the board's open reviews, soonest first, with its review."""
    return list(
        session.execute(
            select(Obligation, Review)
            .join(Review, Review.id == Obligation.review_id)
            .where(
                Review.board_id == board_id,
                Review.status == ReviewStatus.OPEN,
                Obligation.status == ObligationStatus.OPEN,
            )
            .order_by(Obligation.due_on, Review.reference)
        ).tuples()
    )


# --- decisions and audit ---------------------------------------------------------------------


def record_decision(session: Session, *, review_id: int, kind: str, **fields: Any) -> Decision:
    """Record a decision of this kind once; a replay returns the first record unchanged.
    ``fields`` are the other :class:`Decision` columns."""
    existing = get_decision(session, review_id, kind)
    if existing is not None:
        return existing
    return add_row(session, Decision(review_id=review_id, kind=kind, **fields))


def get_decision(session: Session, review_id: int, kind: str) -> Decision | None:
    """The review's decision of ``kind`` (``committee_recommendation``, ``chair_decision``)."""
    return session.scalar(
        select(Decision).where(Decision.review_id == review_id, Decision.kind == kind)
    )


def record_audit(
    session: Session,
    review_id: int | None,
    actor: str,
    action: str,
    detail: dict[str, Any],
    at: datetime,
    key: str | None = None,
) -> AuditEvent | None:
    """Append an audit event: on review ``review_id``, ``actor`` did ``action`` (``detail``) at
    ``at``. With a ``key`` it is recorded at most once (replay-safe)."""
    if key is not None and audit_recorded(session, key):
        return None
    row = AuditEvent(review_id=review_id, key=key, actor=actor, action=action, detail=detail, at=at)
    return add_row(session, row)


def count_audit(session: Session, review_id: int, action: str) -> int:
    """How many times ``action`` is in the review's audit trail."""
    query = select(func.count(AuditEvent.id)).where(
        AuditEvent.review_id == review_id, AuditEvent.action == action
    )
    return int(session.scalar(query) or 0)


def audit_recorded(session: Session, key: str) -> bool:
    """Whether the keyed audit record ``key`` exists (a step done before this replay)."""
    return session.scalar(select(AuditEvent.id).where(AuditEvent.key == key)) is not None


def audit_detail(session: Session, key: str) -> dict[str, Any] | None:
    """The detail of the keyed audit record, if it was written."""
    audit = session.scalar(select(AuditEvent).where(AuditEvent.key == key))
    return dict(audit.detail) if audit is not None else None


def gate_answers(session: Session, review_id: int, flow_run_id: str) -> dict[str, dict[str, Any]]:
    """The answers flow run ``flow_run_id`` recorded at the review's gates, by gate."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.review_id == review_id, AuditEvent.action == "gate_answered")
        .order_by(AuditEvent.id)
    )
    return {
        row.detail["gate"]: dict(row.detail["answer"])
        for row in rows
        if row.detail.get("flow_run_id") == flow_run_id
    }


def completed_stages(session: Session, review_id: int) -> list[str]:
    """The stages this review has completed, in the order they were completed."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.review_id == review_id, AuditEvent.action == "stage_completed")
        .order_by(AuditEvent.id)
    )
    return [str(row.detail["stage"]) for row in rows]


def refused_answers(session: Session, review_id: int, gate: str) -> list[list[str]]:
    """The problems of each answer ``gate`` refused, in order."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.review_id == review_id, AuditEvent.action == "gate_answer_refused")
        .order_by(AuditEvent.id)
    )
    return [list(row.detail["problems"]) for row in rows if row.detail.get("gate") == gate]


# --- status ------------------------------------------------------------------------------------


def open_review_status(
    session: Session, today: date, deadlines: DeadlineEngine | None = None
) -> list[ReviewStatusView]:
    """Every open review with its stage, the gate it waits at, its next deadline, its recorded
    delays (and whether they move its dates) and the family's involvement so far."""
    reviews = session.scalars(
        select(Review).where(Review.status == ReviewStatus.OPEN).order_by(Review.reference)
    )
    # One query for every review's earliest open obligation, not one per review.
    next_due: dict[int, Obligation] = {}
    for obligation in session.scalars(
        select(Obligation)
        .where(Obligation.status == ObligationStatus.OPEN)
        .order_by(Obligation.due_on, Obligation.milestone)
    ):
        next_due.setdefault(obligation.review_id, obligation)
    delays: dict[int, list[ReviewDelay]] = {}
    for delay in session.scalars(select(ReviewDelay).order_by(ReviewDelay.start, ReviewDelay.id)):
        delays.setdefault(delay.review_id, []).append(delay)
    family: dict[int, list[FamilyInvolvement]] = {}
    for step in session.scalars(
        select(FamilyInvolvement).order_by(FamilyInvolvement.on_date, FamilyInvolvement.id)
    ):
        family.setdefault(step.review_id, []).append(step)
    views = []
    for review in reviews:
        nxt = next_due.get(review.id)
        moves = deadlines is not None and deadlines.pack(review.regime.value).delays_move_dates
        views.append(
            ReviewStatusView(
                reference=review.reference,
                regime=review.regime,
                pseudonym=review.pseudonym,
                stage=review.stage,
                waiting_at=review.waiting_at,
                next_milestone=nxt.milestone if nxt else None,
                next_deadline=nxt.due_on if nxt else None,
                days_left=(nxt.due_on - today).days if nxt else None,
                delays=[
                    DelayView.model_validate(d).model_copy(update={"moves_dates": moves})
                    for d in delays.get(review.id, [])
                ],
                family=[FamilyStepView.model_validate(f) for f in family.get(review.id, [])],
            )
        )
    return views
