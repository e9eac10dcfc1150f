"""Shared pieces for the stage tasks: the pseudonymised case, keyed messages, stage records.

Every helper takes the session and never commits; the task around it owns the transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_reviews.runtime import Runtime
from models import store
from models.orm import AuditEvent, Board, Referral, Review
from notifications.outbox import DeliveryReport, deliver_pending, queue_message
from notifications.render import render


class CaseSummary(BaseModel):
    """What the flow, the gate forms and the emails may know of a case: pseudonymised."""

    reference: str
    regime: str
    pseudonym: str
    board_name: str
    summary: str
    harm: str
    abuse_or_neglect: str
    interagency_concerns: bool
    criteria_met: bool
    agencies: list[str]
    parallel_proceedings: list[str]
    notified_on: date
    has_panel_notification: bool
    has_panel_copy: bool


def statutory_criteria_met(referral: Referral) -> bool:
    """Reg 5(2): abuse or neglect known or suspected, and the subject died, or was seriously
    harmed with cause for concern about how agencies worked together."""
    abuse = referral.abuse_or_neglect in {"known", "suspected"}
    return abuse and (
        referral.harm == "died"
        or (referral.harm == "seriously_harmed" and referral.interagency_concerns)
    )


def case_summary(session: Session, rt: Runtime, review: Review) -> CaseSummary:
    referral = session.scalars(select(Referral).where(Referral.review_id == review.id)).one()
    board = session.get_one(Board, review.board_id)
    pack = rt.deadlines.pack(review.regime.value)
    milestones = {rule.milestone for rule in pack.rules}
    parallel = [
        name
        for name, flag in (
            ("criminal investigation", referral.criminal_investigation),
            ("court proceedings", referral.court_proceedings),
            ("inquest", referral.inquest),
        )
        if flag
    ]
    return CaseSummary(
        reference=review.reference,
        regime=review.regime.value,
        pseudonym=review.pseudonym,
        board_name=board.name,
        summary=referral.summary,
        harm=referral.harm,
        abuse_or_neglect=referral.abuse_or_neglect,
        interagency_concerns=referral.interagency_concerns,
        criteria_met=statutory_criteria_met(referral),
        agencies=[a.name for a in store.involved_agencies(session, review.id)],
        parallel_proceedings=parallel,
        notified_on=referral.notified_on,
        has_panel_notification="panel_notification" in milestones,
        has_panel_copy="panel_copy" in milestones,
    )


def queue_email(
    session: Session,
    rt: Runtime,
    review: Review,
    *,
    kind: str,
    recipient: str,
    key: str,
    **context: Any,
) -> bool:
    """Render and queue one message under ``{reference}:{key}:{recipient}`` (once only).

    The rendered text is checked against the subject's identity before it is queued.
    """
    board = session.get_one(Board, review.board_id)
    email = render(
        kind,
        board_name=board.name,
        reference=review.reference,
        pseudonym=review.pseudonym,
        **context,
    )
    return queue_message(
        session,
        key=f"{review.reference}:{key}:{recipient}",
        review_id=review.id,
        kind=kind,
        recipient=recipient,
        email=email,
        now=rt.now(),
        identity=store.known_identity(session, review.id),
    )


def deliver(rt: Runtime, review_id: int) -> DeliveryReport:
    """Send what is queued for this review; failures stay queued for the sweep to retry."""
    return deliver_pending(rt.sessions, rt.mailer, rt.now, review_id=review_id)


def complete_stage(
    session: Session, rt: Runtime, review: Review, stage: str, detail: dict[str, Any] | None = None
) -> None:
    """Record that ``stage`` is done (once: keyed by review and stage)."""
    store.record_audit(
        session,
        review_id=review.id,
        actor="case-reviews",
        action="stage_completed",
        detail={"stage": stage, **(detail or {})},
        at=rt.now(),
        key=f"{review.reference}:stage:{stage}",
    )


def completed_stages(session: Session, review_id: int) -> list[str]:
    """The stages this review has completed, in the order they were completed."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.review_id == review_id, AuditEvent.action == "stage_completed")
        .order_by(AuditEvent.id)
    )
    return [str(row.detail["stage"]) for row in rows]
