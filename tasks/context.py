"""The preamble every stage and gate task shares, written once: :func:`review_step`.

It opens one transaction on the review, so a stage's records and the messages it queues are
stored together or not at all, and after the commit it delivers what the step queued (failures
stay queued for the sweep to retry). Everything written through a :class:`Step` is keyed, so a
replay after a resume, a retry or a restarted process repeats nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.names import DocumentKind, message_key, review_key, stage_key
from models import store
from models.documents import DocumentView
from models.orm import Board, Obligation, ObligationStatus, Review
from notifications.outbox import deliver_pending, queue_review_email, render_review_email
from services.documents import queue_with_document
from services.runtime import Runtime, runtime


@dataclass
class Step:
    """One task's work on one review, inside its transaction."""

    rt: Runtime
    session: Session
    review: Review
    mailed: bool = field(default=False, init=False)

    @property
    def reference(self) -> str:
        return self.review.reference

    @property
    def board(self) -> Board:
        return self.session.get_one(Board, self.review.board_id)

    def today(self) -> date:
        return self.rt.today()

    def email(self, kind: str, *, recipient: str, key: str, **context: Any) -> bool:
        """Render and queue one message under ``{reference}:{key}:{recipient}`` (once only).

        The rendered text is checked against the subject's identity before it is queued; it is
        delivered when the step's transaction has committed.
        """
        self.mailed = True
        return queue_review_email(
            self.session,
            self.review,
            kind=kind,
            recipient=recipient,
            key=key,
            now=self.rt.now(),
            **context,
        )

    def email_with_document(
        self, kind: str, *, recipient: str, key: str, document: DocumentKind, **context: Any
    ) -> DocumentView:
        """Like :meth:`email`, with the newest version of ``document`` attached. Refused
        (``DocumentNotCleared``) unless that version may leave the board; the record keeps
        which version and hash went to ``recipient`` (once, like the message)."""
        self.mailed = True
        return queue_with_document(
            self.rt,
            self.session,
            reference=self.reference,
            kind=document,
            version=None,
            key=message_key(self.reference, key, recipient),
            message_kind=kind,
            recipient=recipient,
            email=render_review_email(self.session, self.review, kind, **context),
        )

    def complete(self, stage: str, detail: dict[str, Any] | None = None) -> bool:
        """Record that ``stage`` is done (once: keyed by review and stage); whether this call
        recorded it (False on a replay)."""
        return None is not store.record_audit(
            self.session,
            self.review.id,
            "case-reviews",
            "stage_completed",
            {"stage": stage, **(detail or {})},
            self.rt.now(),
            key=stage_key(self.review.reference, stage),
        )

    def audit(self, action: str, detail: dict[str, Any], *, actor: str, key: str) -> None:
        """Append one keyed audit record for this review (once)."""
        store.record_audit(
            self.session, self.review.id, actor, action, detail, self.rt.now(), key=key
        )

    def waive(self, obligation: Obligation, action: str, reason: str, *, actor: str) -> None:
        """Close an agency's ``obligation`` unmet, with the reason; audited as ``action`` (once
        per agency)."""
        obligation.status = ObligationStatus.WAIVED
        obligation.note = reason
        agency = obligation.owed_by
        key = review_key(self.review.reference, f"{action}:{agency}")
        self.audit(action, {"agency": agency, "reason": reason}, actor=actor, key=key)


@contextmanager
def review_step(reference: str) -> Iterator[Step]:
    """One transaction on review ``reference``; deliver what it queued once committed."""
    rt = runtime()
    with rt.sessions.begin() as session:
        step = Step(rt, session, store.get_review(session, reference))
        yield step
    if step.mailed:
        deliver_pending(
            rt.sessions,
            rt.mailer,
            rt.now,
            review_id=step.review.id,
            documents_dir=rt.settings.documents_dir,
        )
