"""Queries for the board's workspace: its users, the register of reviews, and what a review's
page shows. Session in, no commit (the caller owns the transaction), like :mod:`models.store`.

Nothing here reads ``subject_identity``: the one way to the identity is
:func:`models.store.reveal_identity`, which audits the look.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import audit_trail
from models.audit_trail import AuditEntry
from models.orm import (
    Agency,
    AuditEvent,
    Obligation,
    ObligationStatus,
    ReminderRound,
    Review,
    ReviewAgency,
    ReviewStatus,
    TimelineSubmission,
    WorkspaceRole,
    WorkspaceUser,
)

Rag = Literal["red", "amber", "green"]
RAGS: tuple[Rag, ...] = ("red", "amber", "green")

# The six-month target is the review's horizon, not the next thing to do: it is the next
# deadline only when nothing else is open.
COMPLETION_MILESTONE = "review_completion"

# Who may see the subject's identity (each look is audited).
REVEAL_ROLES = frozenset({WorkspaceRole.BUSINESS_MANAGER, WorkspaceRole.CHAIR})


class UserExists(ValueError):
    """A workspace user with that name exists already."""


class UserNotFound(LookupError):
    """No workspace user of that name."""


# --- users -------------------------------------------------------------------------------------


def find_user(session: Session, username: str) -> WorkspaceUser | None:
    """The user called ``username`` (case-blind), if any."""
    return session.scalars(
        select(WorkspaceUser).where(func.lower(WorkspaceUser.username) == username.lower())
    ).one_or_none()


def add_user(
    session: Session, *, username: str, role: WorkspaceRole, password_hash: str, now: datetime
) -> WorkspaceUser:
    """Add a user; :class:`UserExists` if the name is taken (case-blind)."""
    if find_user(session, username) is not None:
        raise UserExists(f"username: {username!r} exists already")
    user = WorkspaceUser(
        username=username,
        role=role,
        password_hash=password_hash,
        disabled=False,
        failed_logins=0,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> WorkspaceUser:
    user = find_user(session, username)
    if user is None:
        raise UserNotFound(f"username: no workspace user {username!r}")
    return user


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(WorkspaceUser)) or 0


# --- the register ------------------------------------------------------------------------------


def days_text(days: int) -> str:
    """'3 days overdue', 'due today', '1 day left': never '(-1 days)'."""
    if days < 0:
        return f"{-days} day{'s' if days != -1 else ''} overdue"
    if days == 0:
        return "due today"
    return f"{days} day{'s' if days != 1 else ''} left"


class ReviewHeading(BaseModel):
    """What every view of a review starts with (pseudonymised): which review, where it stands,
    and the gate it waits at with its Prefect run."""

    reference: str
    regime: str
    pseudonym: str
    status: str
    stage: str
    waiting_at: str | None
    flow_run_id: str | None


class RegisterRow(ReviewHeading):
    """One review in the register."""

    model_config = ConfigDict(frozen=True)

    next_milestone: str | None
    next_due: date | None
    days_left: int | None
    due_text: str | None
    rag: Rag | None
    timelines_in: int
    timelines_requested: int


def _heading(review: Review) -> dict[str, Any]:
    """The :class:`ReviewHeading` fields of ``review``."""
    return ReviewHeading.model_validate(review, from_attributes=True).model_dump()


def _rag(days_left: int | None, due: date | None, amber_by: date) -> Rag | None:
    if days_left is None or due is None:
        return None
    if days_left < 0:
        return "red"
    return "amber" if due <= amber_by else "green"


def _next_obligation(open_ones: list[Obligation]) -> Obligation | None:
    """The earliest open obligation; the six-month target only when nothing else is open."""
    others = [o for o in open_ones if o.milestone != COMPLETION_MILESTONE]
    candidates = others or open_ones
    return candidates[0] if candidates else None


def register(
    session: Session,
    *,
    today: date,
    amber_by: date,
    regime: str | None = None,
    stage: str | None = None,
    rag: str | None = None,
) -> list[RegisterRow]:
    """Every review, open and closed (open first, then by reference), with the gate it waits
    at, its next deadline and its RAG (red: overdue; amber: due by ``amber_by``), filtered by
    regime, stage and RAG when given."""
    query = select(Review).order_by(Review.status.desc(), Review.reference)
    if regime:
        query = query.where(Review.regime == regime)
    if stage:
        query = query.where(Review.stage == stage)
    reviews = list(session.scalars(query))
    ids = [r.id for r in reviews]
    open_by_review: dict[int, list[Obligation]] = defaultdict(list)
    for obligation in session.scalars(
        select(Obligation)
        .where(Obligation.review_id.in_(ids), Obligation.status == ObligationStatus.OPEN)
        .order_by(Obligation.due_on, Obligation.milestone)
    ):
        open_by_review[obligation.review_id].append(obligation)
    # (A Result has .keys(), so dict() would take it for a mapping: list the rows first.)
    requested: dict[int, int] = dict(
        list(
            session.execute(
                select(Obligation.review_id, func.count())
                .where(Obligation.review_id.in_(ids), Obligation.milestone == "timeline_return")
                .group_by(Obligation.review_id)
            ).tuples()
        )
    )
    received: dict[int, int] = dict(
        list(
            session.execute(
                select(
                    TimelineSubmission.review_id,
                    func.count(func.distinct(TimelineSubmission.agency_id)),
                )
                .where(TimelineSubmission.review_id.in_(ids))
                .group_by(TimelineSubmission.review_id)
            ).tuples()
        )
    )
    rows = []
    for review in reviews:
        closed = review.status is ReviewStatus.CLOSED
        nxt = None if closed else _next_obligation(open_by_review[review.id])
        days = (nxt.due_on - today).days if nxt else None
        row = RegisterRow(
            **_heading(review),
            next_milestone=nxt.milestone if nxt else None,
            next_due=nxt.due_on if nxt else None,
            days_left=days,
            due_text=days_text(days) if days is not None else None,
            rag=_rag(days, nxt.due_on if nxt else None, amber_by),
            timelines_in=received.get(review.id, 0),
            timelines_requested=requested.get(review.id, 0),
        )
        if rag and row.rag != rag:
            continue
        rows.append(row)
    return rows


def stages_in_use(session: Session) -> list[str]:
    """The stages some review is at (for the register's filter)."""
    return sorted(session.scalars(select(Review.stage).distinct()))


# --- one review --------------------------------------------------------------------------------


class StageRecord(BaseModel):
    stage: str
    completed_at: datetime


class ReminderView(BaseModel):
    round: str
    on_date: date
    escalated: bool


class DeadlineView(BaseModel):
    """An obligation as the review page shows it: met on time, met late, open or missed."""

    milestone: str
    description: str
    owed_by: str
    owed_to: str
    due_on: date
    met_on: date | None
    state: Literal["met", "met late", "open", "missed", "waived"]
    due_text: str | None
    reminders: list[ReminderView]


class ReviewPage(ReviewHeading):
    """What the review's page shows: stages with their dates, every deadline met or missed,
    each agency's obligations with their reminders, and the audit trail."""

    agencies: list[str]
    stages: list[StageRecord]
    board_deadlines: list[DeadlineView]
    agency_obligations: dict[str, list[DeadlineView]]
    audit: list[AuditEntry]


_OBLIGATION_FIELDS = ("milestone", "description", "owed_by", "owed_to", "due_on", "met_on")


def _deadline(obligation: Obligation, reminders: list[ReminderView], today: date) -> DeadlineView:
    state: Literal["met", "met late", "open", "missed", "waived"]
    if obligation.status is ObligationStatus.MET:
        late = obligation.met_on is not None and obligation.met_on > obligation.due_on
        state = "met late" if late else "met"
    elif obligation.status is ObligationStatus.WAIVED:
        state = "waived"
    else:
        state = "missed" if obligation.due_on < today else "open"
    open_now = obligation.status is ObligationStatus.OPEN
    return DeadlineView(
        **{name: getattr(obligation, name) for name in _OBLIGATION_FIELDS},
        state=state,
        due_text=days_text((obligation.due_on - today).days) if open_now else None,
        reminders=reminders,
    )


def review_page(session: Session, review: Review, *, today: date) -> ReviewPage:
    """The review's page (see :class:`ReviewPage`); the audit trail oldest first."""
    audit_rows = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.review_id == review.id).order_by(AuditEvent.id)
        )
    )
    stages = [
        StageRecord(stage=str(a.detail.get("stage")), completed_at=a.at)
        for a in audit_rows
        if a.action == "stage_completed"
    ]
    obligations = list(
        session.scalars(
            select(Obligation)
            .where(Obligation.review_id == review.id)
            .order_by(Obligation.due_on, Obligation.milestone, Obligation.owed_by)
        )
    )
    reminders: dict[int, list[ReminderView]] = defaultdict(list)
    for row in session.scalars(
        select(ReminderRound)
        .where(ReminderRound.obligation_id.in_([o.id for o in obligations]))
        .order_by(ReminderRound.on_date, ReminderRound.id)
    ):
        reminders[row.obligation_id].append(
            ReminderView(round=row.round, on_date=row.on_date, escalated=row.escalated)
        )
    board: list[DeadlineView] = []
    per_agency: dict[str, list[DeadlineView]] = defaultdict(list)
    for obligation in obligations:
        view = _deadline(obligation, reminders[obligation.id], today)
        if obligation.agency_id is None:
            board.append(view)
        else:
            per_agency[obligation.owed_by].append(view)
    agencies = list(
        session.scalars(
            select(Agency.name)
            .join(ReviewAgency, ReviewAgency.agency_id == Agency.id)
            .where(ReviewAgency.review_id == review.id)
            .order_by(Agency.name)
        )
    )
    return ReviewPage(
        **_heading(review),
        agencies=agencies,
        stages=stages,
        board_deadlines=board,
        agency_obligations=dict(sorted(per_agency.items())),
        audit=audit_trail.entries(audit_rows, audit_trail.workspace_usernames(session)),
    )


__all__ = [
    "RAGS",
    "REVEAL_ROLES",
    "RegisterRow",
    "ReviewPage",
    "UserExists",
    "UserNotFound",
    "add_user",
    "count_users",
    "days_text",
    "find_user",
    "get_user",
    "register",
    "review_page",
    "stages_in_use",
]
