"""The case store: typed SQLAlchemy 2 tables.

Identity (real name, date of birth, address, NHS number) lives only in ``subject_identity``;
nothing pseudonymised joins it in. ``audit_event`` is append-only.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from core.names import OutboxStatus

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC, so SQLite (which keeps no offset) compares them right."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the case store keeps aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Regime(enum.StrEnum):
    SCR = "scr"
    LCSPR = "lcspr"
    SAR = "sar"
    CPR = "cpr"
    APR = "apr"


class ReviewStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ObligationStatus(enum.StrEnum):
    OPEN = "open"
    MET = "met"
    WAIVED = "waived"


def _enum(kind: type[enum.StrEnum], length: int = 32) -> Any:
    # Stored as plain strings (no native enum types) so SQLite and PostgreSQL match and new
    # values need no schema change.
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class Board(Base):
    __tablename__ = "board"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    chair_email: Mapped[str] = mapped_column(String(254))
    business_manager_email: Mapped[str] = mapped_column(String(254))
    national_panel_email: Mapped[str] = mapped_column(String(254))

    agencies: Mapped[list[Agency]] = relationship(back_populates="board", lazy="raise")


class Agency(Base):
    __tablename__ = "agency"
    __table_args__ = (UniqueConstraint("board_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("board.id"))
    name: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(60), default="other")
    contact_email: Mapped[str | None] = mapped_column(String(254))
    safeguarding_lead_email: Mapped[str | None] = mapped_column(String(254))

    board: Mapped[Board] = relationship(back_populates="agencies", lazy="raise")


class Review(Base):
    __tablename__ = "review"
    __table_args__ = (UniqueConstraint("regime", "pseudonym", "incident_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("board.id"))
    regime: Mapped[Regime] = mapped_column(_enum(Regime))
    pseudonym: Mapped[str] = mapped_column(String(60))
    incident_date: Mapped[date] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(40), default="referral_intake")
    waiting_at: Mapped[str | None] = mapped_column(String(60))
    outcome: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus), default=ReviewStatus.OPEN)
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReviewAgency(Base):
    """An agency involved in the case (it will be asked for a timeline)."""

    __tablename__ = "review_agency"
    __table_args__ = (UniqueConstraint("review_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))


class ReviewEvent(Base):
    """A dated event in the review's life (``notified``, ``decision``…): the clocks' inputs."""

    __tablename__ = "review_event"
    __table_args__ = (UniqueConstraint("review_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"))
    name: Mapped[str] = mapped_column(String(60))
    on_date: Mapped[date] = mapped_column(Date)


class ClockStopPeriod(Base):
    """A 'stop the clock' period (e.g. parallel criminal proceedings), with its reason."""

    __tablename__ = "clock_stop"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)


class Referral(Base):
    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), unique=True)
    referring_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    referrer_name: Mapped[str] = mapped_column(String(200))
    referrer_email: Mapped[str] = mapped_column(String(254))
    notified_on: Mapped[date] = mapped_column(Date)
    incident_date: Mapped[date] = mapped_column(Date)
    harm: Mapped[str] = mapped_column(String(30))
    abuse_or_neglect: Mapped[str] = mapped_column(String(30))
    interagency_concerns: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[str] = mapped_column(Text)
    criminal_investigation: Mapped[bool] = mapped_column(Boolean, default=False)
    court_proceedings: Mapped[bool] = mapped_column(Boolean, default=False)
    inquest: Mapped[bool] = mapped_column(Boolean, default=False)
    parallel_notes: Mapped[str] = mapped_column(Text, default="")


class SubjectIdentity(Base):
    """The subject's real identity. Never joined into pseudonymised views; never sent to Prefect."""

    __tablename__ = "subject_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    address: Mapped[str] = mapped_column(Text)
    nhs_number: Mapped[str | None] = mapped_column(String(10))


class Decision(Base):
    """A recorded decision or recommendation; one of each kind per review."""

    __tablename__ = "decision"
    __table_args__ = (UniqueConstraint("review_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"))
    kind: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(40))
    methodology: Mapped[str | None] = mapped_column(String(60))
    rationale: Mapped[str] = mapped_column(Text)
    lead_reviewers: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Obligation(Base):
    """Who owes what to whom by when. Reminders and ``status`` read these."""

    __tablename__ = "obligation"
    __table_args__ = (Index("ix_obligation_status_due_on", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text)
    owed_by: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    owed_to: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ObligationStatus] = mapped_column(
        _enum(ObligationStatus), default=ObligationStatus.OPEN
    )
    met_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEvent(Base):
    """Append-only trail: who did what, when, on which review."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("review.id"), index=True)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class TimelineSubmission(Base):
    """One version of an agency's timeline of significant events for a review. A replacement
    is a new version; earlier versions are kept."""

    __tablename__ = "timeline_submission"
    __table_args__ = (UniqueConstraint("review_id", "agency_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    version: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_by: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[dict[str, str]]] = mapped_column(JSON)


class ReminderRound(Base):
    """One round of chasing one obligation (``before-5``, ``due``, ``overdue-2``…): recorded
    with the message that carried it, so a round is never sent twice."""

    __tablename__ = "reminder_round"
    __table_args__ = (UniqueConstraint("obligation_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligation.id"))
    round: Mapped[str] = mapped_column(String(30))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    on_date: Mapped[date] = mapped_column(Date)
    outbox_keys: Mapped[list[str]] = mapped_column(JSON, default=list)


class OutboxMessage(Base):
    """One email to one recipient, stored before it is sent; its key makes sending idempotent."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("review.id"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, _ctx: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise PermissionError("audit events are append-only: they cannot be changed or deleted")


class WorkspaceRole(enum.StrEnum):
    """What a workspace user may do (the board's people; agencies use the portal instead)."""

    BUSINESS_MANAGER = "business_manager"
    CHAIR = "chair"
    COMMITTEE_MEMBER = "committee_member"
    READ_ONLY = "read_only"


class WorkspaceUser(Base):
    """A person who signs in to the board's workspace. The password is kept only as an Argon2
    hash; failed sign-ins in a row lock the account until ``locked_until``."""

    __tablename__ = "workspace_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[WorkspaceRole] = mapped_column(_enum(WorkspaceRole))
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
