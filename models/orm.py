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

from core.names import DocumentKind, OutboxStatus

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
    SUSR = "susr"


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
    # Where the performance committee's quarterly report goes (the business manager if unset).
    performance_committee_email: Mapped[str | None] = mapped_column(String(254))
    # The agency that is the local authority (it notifies the national panel of serious
    # incidents for an LCSPR); set from the board file.
    local_authority_agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency.id", use_alter=True)
    )
    # Other recipients of the regimes' notices, by role (Director of Children's Services,
    # Ofsted, the Welsh Government…: core.regime.RecipientRole), from the board file.
    addresses: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Where the learning summary goes (Wirral s.6): the learning and development committee
    # (the performance committee's address is above); the business manager forwards it when a
    # board names none.
    learning_committee_email: Mapped[str | None] = mapped_column(String(254))

    agencies: Mapped[list[Agency]] = relationship(
        back_populates="board", lazy="raise", foreign_keys="Agency.board_id"
    )


class Agency(Base):
    __tablename__ = "agency"
    __table_args__ = (UniqueConstraint("board_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("board.id"))
    name: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(60), default="other")
    contact_email: Mapped[str | None] = mapped_column(String(254))
    safeguarding_lead_email: Mapped[str | None] = mapped_column(String(254))

    board: Mapped[Board] = relationship(
        back_populates="agencies", lazy="raise", foreign_keys=[board_id]
    )


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
    run_key: Mapped[str | None] = mapped_column(String(40), unique=True)  # models.runs


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
    # When the local authority became aware (the 5 working days of s.16C count from it); the
    # board's notified_on where the referral gives none.
    incident_known_on: Mapped[date] = mapped_column(Date)
    harm: Mapped[str] = mapped_column(String(30))
    abuse_or_neglect: Mapped[str] = mapped_column(String(30))
    interagency_concerns: Mapped[bool] = mapped_column(Boolean)
    domestic_homicide: Mapped[bool] = mapped_column(Boolean, default=False)
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


class AgencySummary(Base):
    """One version of an agency's short summary for an LCSPR rapid review (Working Together
    2023): its involvement, the immediate safeguarding actions taken, the early learning."""

    __tablename__ = "agency_summary"
    __table_args__ = (UniqueConstraint("review_id", "agency_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    version: Mapped[int] = mapped_column(Integer)
    involvement: Mapped[str] = mapped_column(Text)
    immediate_actions: Mapped[str] = mapped_column(Text)
    learning: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FamilyInvolvement(Base):
    """One step of the family's involvement (told, invited, contributed, told before
    publication): when, how, and who recorded it. The family member's name, if the board
    records it, is in ``review_name`` (identity, never sent to Prefect)."""

    __tablename__ = "family_involvement"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    on_date: Mapped[date] = mapped_column(Date)
    how: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    review_name_id: Mapped[int | None] = mapped_column(ForeignKey("review_name.id"))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReviewDelay(Base):
    """A recorded delay (e.g. parallel criminal proceedings): its reason, its period (open
    while ``end`` is empty) and the learning captured meanwhile. It moves a statutory date only
    where the regime's pack says so (``delays_move_dates``)."""

    __tablename__ = "review_delay"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    learning: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


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
    # A stored document sent with the message as an attachment (the panel's copy of a report).
    attachment_document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, _ctx: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise PermissionError("audit events are append-only: they cannot be changed or deleted")


class Document(Base):
    """One version of one kind of review document. Never overwritten: a new version is a new
    row. The file itself lives under the documents folder, addressed by its SHA-256."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("review_id", "kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind))
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReviewName(Base):
    """A name the board lists for a review (a family member, a practitioner named in the
    report) with its role. Identity, like ``subject_identity``: never sent to Prefect."""

    __tablename__ = "review_name"
    __table_args__ = (UniqueConstraint("review_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100))
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AnonymisationOverride(Base):
    """The business manager's reasoned decision that one document version may leave the board
    although the anonymisation check found something in it (bound to the file's hash)."""

    __tablename__ = "anonymisation_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class AnonymisationClearance(Base):
    """The business manager's reasoned finding that one hit of the anonymisation check, at one
    place of one document version, is not identifying (a harmless word). Bound to the file's
    hash: a new version starts uncleared."""

    __tablename__ = "anonymisation_clearance"
    __table_args__ = (UniqueConstraint("document_id", "place", "found"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(String(300))
    found: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class DocumentSent(Base):
    """Which version (and hash) of a document went to whom, when, and how."""

    __tablename__ = "document_sent"
    __table_args__ = (UniqueConstraint("document_id", "recipient", "via"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    via: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DraftComment(Base):
    """One agency's factual-accuracy comment on one section of a draft report version."""

    __tablename__ = "draft_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    draft_version: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())


# --- action plans, progress and the board's learning (issue 11) ------------------------------


class ActionStatus(enum.StrEnum):
    """Where an action plan item stands. ``closed`` is the performance committee's closure of
    an item (with a reason); ``done`` is the owner agency's report that it is complete."""

    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    DONE = "done"
    CLOSED = "closed"


class SignoffDecision(enum.StrEnum):
    """An owner agency's answer to the action plan: signed, a change asked for, or recorded
    as missing when the board went on without it."""

    SIGNED = "signed"
    CHANGE_REQUESTED = "change_requested"
    MISSING = "missing"


class Recommendation(Base):
    """A recommendation (a finding the board acts on) recorded at the final report, with its
    intended outcome and timescale. ``not_implemented_reason`` is set when the board decides
    not to implement it (the Care Act asks a SAB's annual report to give the reasons)."""

    __tablename__ = "recommendation"
    __table_args__ = (UniqueConstraint("review_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    intended_outcome: Mapped[str] = mapped_column(Text)
    timescale: Mapped[str] = mapped_column(String(200))
    not_implemented_reason: Mapped[str | None] = mapped_column(Text)
    not_implemented_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ActionItem(Base):
    """One item of a review's action plan: what an owner agency will do about a recommendation,
    by when, and how its impact will be measured."""

    __tablename__ = "action_item"
    __table_args__ = (UniqueConstraint("review_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("recommendation.id"))
    number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(Text)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    intended_outcome: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    impact_measure: Mapped[str] = mapped_column(Text)
    status: Mapped[ActionStatus] = mapped_column(
        _enum(ActionStatus), default=ActionStatus.NOT_STARTED
    )
    closed_reason: Mapped[str | None] = mapped_column(Text)
    impact_evaluation: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ActionStatusChange(Base):
    """Each change of an item's status, dated: what the quarterly report compares."""

    __tablename__ = "action_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("action_item.id"), index=True)
    from_status: Mapped[ActionStatus | None] = mapped_column(_enum(ActionStatus))
    to_status: Mapped[ActionStatus] = mapped_column(_enum(ActionStatus))
    on_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200))


class ActionSignoff(Base):
    """One answer of an owner agency to its part of the action plan; the newest one counts."""

    __tablename__ = "action_signoff"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    decision: Mapped[SignoffDecision] = mapped_column(_enum(SignoffDecision))
    comment: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProgressReport(Base):
    """An owner agency's quarterly progress report on its open items: per item, the status,
    the evidence and the impact so far (``updates``)."""

    __tablename__ = "progress_report"
    __table_args__ = (UniqueConstraint("review_id", "agency_id", "quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    quarter: Mapped[int] = mapped_column(Integer)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class ReviewTheme(Base):
    """A learning theme the committee found in a review (from the board's theme list)."""

    __tablename__ = "review_theme"
    __table_args__ = (UniqueConstraint("review_id", "theme"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    theme: Mapped[str] = mapped_column(String(120))
    tagged_by: Mapped[str] = mapped_column(String(200))
    tagged_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ClockMiss(Base):
    """Why a statutory clock of a review was missed (one reason per milestone)."""

    __tablename__ = "clock_miss"
    __table_args__ = (UniqueConstraint("review_id", "milestone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


# One review, one run: no flow run can be two reviews' run (migration 0007). With the claim
# in ``models.runs`` (set only where none is set) a review never changes run either.
Index("uq_review_flow_run_id", Review.flow_run_id, unique=True)


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
    # Signed into every session cookie; sign-out, disabling, a password reset or a role change
    # bumps it, so every cookie issued before stops working.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class WorkspaceLoginFailure(Base):
    """Failed sign-ins in a row for a username that is not an active account: counted and
    locked out exactly as for a real one, so the replies do not tell which names exist."""

    __tablename__ = "workspace_login_failure"

    username: Mapped[str] = mapped_column(String(200), primary_key=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
