"""The outbox: every message is a row with a unique key before it is sent.

* Queueing is idempotent: the same key is stored once, however often a flow replays.
* Delivery claims one row at a time (``pending`` -> ``sending`` in one UPDATE), sends it
  (a batch shares one SMTP session, each message handed over on its own), and marks it
  ``sent`` in its own transaction, so a failure for one recipient never re-sends
  to the others, and two deliverers never send the same row.
* A failed send goes back to ``pending`` with its error, attempt count and a back-off.
* The one ambiguous case: the process dies after the SMTP server accepted a message and before
  its row is marked ``sent``. The row stays ``sending``; after ``STALE_CLAIM`` it is reclaimed and
  sent again, so the recipient may get that one message twice (at-least-once). It carries the
  same ``X-Reviews-Key`` header both times, so the copies can be recognised as one message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.names import OutboxStatus, message_key
from models import store
from models.documents import blob_path
from models.documents_store import document_with_reference, view
from models.identity_guard import KnownIdentity, TextIndex
from models.orm import Board, OutboxMessage, Review
from notifications.mailer import Attachment, DeliveryFailed, Mailer, OutgoingMessage, sending
from notifications.render import RenderedEmail, render

BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=12),
)
STALE_CLAIM = timedelta(minutes=15)


class IdentityInMessage(ValueError):
    """A rendered message carries the subject's real identity; it is refused, not queued."""


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    pending: int


def queue_message(
    session: Session,
    *,
    key: str,
    review_id: int | None,
    kind: str,
    recipient: str,
    email: RenderedEmail,
    now: datetime,
    identity: KnownIdentity | Sequence[KnownIdentity] | None = None,
    attachment_document_id: int | None = None,
) -> bool:
    """Queue one message under ``key`` unless that key is already queued. Returns True if new.

    ``attachment_document_id`` sends a stored document with it; the caller has checked that the
    document may leave the board (``services.documents.release_check``).

    With ``identity`` given (one subject, or every subject a digest mentions), a message that
    carries a real name, date of birth or NHS number is refused (:class:`IdentityInMessage`):
    messages carry the pseudonym only.
    """
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return False
    identities = [identity] if isinstance(identity, KnownIdentity) else list(identity or [])
    index = TextIndex(f"{email.subject}\n{email.text}\n{email.html}")
    for known in identities:
        leaks = index.leaks(known)
        if leaks:
            raise IdentityInMessage(f"message {key} carries the subject's {', '.join(leaks)}")
    session.add(
        OutboxMessage(
            key=key,
            review_id=review_id,
            kind=kind,
            recipient=recipient,
            subject=email.subject,
            body_text=email.text,
            body_html=email.html,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            attachment_document_id=attachment_document_id,
        )
    )
    session.flush()
    return True


def _attachment(session: Session, document_id: int, documents_dir: Path | None) -> Attachment:
    if documents_dir is None:
        raise DeliveryFailed("this message has an attachment and no documents folder was given")
    document, reference = document_with_reference(session, document_id)
    stored = view(document, reference)
    return Attachment(
        blob_path(documents_dir, stored.sha256), stored.safe_filename, stored.media_type
    )


def queue_review_email(
    session: Session,
    review: Review,
    *,
    kind: str,
    recipient: str,
    key: str,
    now: datetime,
    **context: object,
) -> bool:
    """Render a ``kind`` message about ``review`` (its board, reference and pseudonym) and queue
    it under ``{reference}:{key}:{recipient}``, once only; refused if its text carries the
    subject's identity. Returns True if it is new."""
    return queue_message(
        session,
        key=message_key(review.reference, key, recipient),
        review_id=review.id,
        kind=kind,
        recipient=recipient,
        email=render_review_email(session, review, kind, **context),
        now=now,
        identity=store.known_identity(session, review.id),
    )


def render_review_email(
    session: Session, review: Review, kind: str, **context: object
) -> RenderedEmail:
    """The ``kind`` message about ``review``, with its board, reference and pseudonym."""
    board = session.get_one(Board, review.board_id)
    return render(
        kind,
        board_name=board.name,
        board_contact=board.business_manager_email,
        reference=review.reference,
        pseudonym=review.pseudonym,
        **context,
    )


def _claim(sessions: sessionmaker[Session], row_id: int, now: datetime) -> bool:
    with sessions.begin() as session:
        claimed = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                or_(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    (OutboxMessage.status == OutboxStatus.SENDING)
                    & (OutboxMessage.claimed_at < now - STALE_CLAIM),
                ),
            )
            .values(status=OutboxStatus.SENDING, claimed_at=now)
        )
        return bool(getattr(claimed, "rowcount", 0))


def _outgoing(
    sessions: sessionmaker[Session], row_id: int, documents_dir: Path | None
) -> OutgoingMessage:
    with sessions() as session:
        row = session.get_one(OutboxMessage, row_id)
        attachment = (
            _attachment(session, row.attachment_document_id, documents_dir)
            if row.attachment_document_id is not None
            else None
        )
        return OutgoingMessage(
            row.key, row.recipient, row.subject, row.body_text, row.body_html, attachment
        )


def _mark_failed(sessions: sessionmaker[Session], row_id: int, now: datetime, error: str) -> None:
    with sessions.begin() as session:
        row = session.get_one(OutboxMessage, row_id)
        row.attempts += 1
        row.status = OutboxStatus.PENDING
        row.last_error = error
        row.next_attempt_at = now + BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
        row.claimed_at = None


def _mark_sent(sessions: sessionmaker[Session], row_id: int, now: datetime) -> None:
    with sessions.begin() as session:
        row = session.get_one(OutboxMessage, row_id)
        row.attempts += 1
        row.status = OutboxStatus.SENT
        row.sent_at = now
        row.last_error = None


def deliver_pending(
    sessions: sessionmaker[Session],
    mailer: Mailer,
    now: Callable[[], datetime],
    *,
    review_id: int | None = None,
    limit: int = 1000,
    documents_dir: Path | None = None,
) -> DeliveryReport:
    """Send every message that is due (optionally of one review), each exactly once.

    A message with an attachment reads its file from ``documents_dir`` (the settings'
    ``documents_dir``); without it, or with the file missing, the message fails and stays
    pending with the reason, like any failed send.
    """
    moment = now()
    with sessions() as session:
        query = select(OutboxMessage.id).where(
            or_(
                (OutboxMessage.status == OutboxStatus.PENDING)
                & (OutboxMessage.next_attempt_at <= moment),
                (OutboxMessage.status == OutboxStatus.SENDING)
                & (OutboxMessage.claimed_at < moment - STALE_CLAIM),
            )
        )
        if review_id is not None:
            query = query.where(OutboxMessage.review_id == review_id)
        due = list(session.scalars(query.order_by(OutboxMessage.id).limit(limit)))
    sent = failed = 0
    with contextlib.ExitStack() as batch:
        # One SMTP session for the batch (none when nothing is due), one claim per message.
        send = batch.enter_context(sending(mailer)) if due else None
        for row_id in due:
            assert send is not None
            if not _claim(sessions, row_id, now()):
                continue  # another deliverer has it
            try:
                send(_outgoing(sessions, row_id, documents_dir))
            except DeliveryFailed as exc:
                failed += 1
                _mark_failed(sessions, row_id, now(), str(exc))
                continue
            sent += 1
            _mark_sent(sessions, row_id, now())
    with sessions() as session:
        pending_query = select(OutboxMessage.id).where(OutboxMessage.status != OutboxStatus.SENT)
        if review_id is not None:
            pending_query = pending_query.where(OutboxMessage.review_id == review_id)
        pending = len(list(session.scalars(pending_query)))
    return DeliveryReport(sent=sent, failed=failed, pending=pending)
