"""A checked report leaves the board: attached to an outbox message through a real SMTP server,
or by an expiring signed link served by the portal. The record keeps which version went."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from core.names import DocumentKind
from models import documents_store, store
from models.orm import OutboxMessage
from notifications.mailer import AppriseMailer
from notifications.outbox import deliver_pending
from notifications.render import render
from notifications.smtp_catcher import SmtpCatcher
from services import documents
from tests.helpers import row_counts
from tests.services.conftest import Case
from tests.services.files import pdf_with_pages

FINAL = DocumentKind.FINAL_REPORT
PANEL = "panel@national.example"


def _panel_email() -> object:
    return render(
        "panel_copy",
        board_name="Northbridge SCP",
        reference="SCR-2026-001",
        pseudonym="Child T",
        publication_on=date(2027, 5, 3),
    )


def _queue(case: Case) -> None:
    with case.rt.sessions.begin() as session:
        documents.queue_with_document(
            case.rt,
            session,
            reference=case.reference,
            kind=FINAL,
            version=None,
            key=f"{case.reference}:panel_copy:{PANEL}",
            message_kind="panel_copy",
            recipient=PANEL,
            email=_panel_email(),  # type: ignore[arg-type]
        )


def test_the_panel_copy_arrives_with_the_report_attached_and_the_send_is_recorded(
    case: Case, smtp: SmtpCatcher
) -> None:
    report = pdf_with_pages("Child T: the final report.", "Findings and recommendations.")
    stored = documents.add_document(case.rt, case.reference, FINAL, "f.pdf", report, added_by="bm")
    _queue(case)
    _queue(case)  # a replay queues and records nothing more
    sent = deliver_pending(
        case.rt.sessions,
        AppriseMailer(SecretStr(smtp.url())),
        case.rt.now,
        documents_dir=case.rt.settings.documents_dir,
    )
    assert (sent.sent, sent.failed) == (1, 0)
    (mail,) = smtp.received
    (attached,) = [p for p in mail.message.walk() if p.get_filename()]
    assert attached.get_filename() == "SCR-2026-001-final_report-v1.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_payload(decode=True) == report
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        (record,) = documents_store.documents_sent(session, review.id)
    assert (record.document_id, record.sha256, record.recipient, record.via) == (
        stored.id,
        stored.sha256,
        PANEL,
        "attachment",
    )


def test_an_attachment_without_the_documents_folder_stays_pending_with_the_reason(
    case: Case, smtp: SmtpCatcher
) -> None:
    documents.add_document(case.rt, case.reference, FINAL, "f.md", b"Child T.\n", added_by="bm")
    _queue(case)
    report = deliver_pending(case.rt.sessions, AppriseMailer(SecretStr(smtp.url())), case.rt.now)
    assert (report.sent, report.failed, report.pending) == (0, 1, 1)
    assert smtp.received == []
    with case.rt.sessions() as session:
        row = session.scalars(select(OutboxMessage)).one()
    assert "no documents folder" in (row.last_error or "")


def test_a_report_that_names_the_subject_is_not_queued(case: Case) -> None:
    documents.add_document(
        case.rt, case.reference, FINAL, "f.md", b"Tobias was seen.\n", added_by="bm"
    )
    before = row_counts(case.rt)
    with pytest.raises(documents.DocumentNotCleared, match="1 hits stand"):
        _queue(case)
    assert row_counts(case.rt) == before
