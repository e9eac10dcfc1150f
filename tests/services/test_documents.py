"""The review's documents on SQLite and PostgreSQL with real files: type, size and hash checks,
the anonymisation check place by place, overrides, audited reads, documents made from forms."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.names import DocumentKind
from models import store
from models.documents import (
    LEARNING_SUMMARY_HEADINGS,
    DocumentRefused,
    LearningSummary,
    TermsOfReference,
    blob_path,
)
from models.orm import AuditEvent
from services import documents
from tests.helpers import row_counts
from tests.services.conftest import Case, with_documents_dir
from tests.services.files import docx_with_paragraphs, pdf_with_pages

FINAL = DocumentKind.FINAL_REPORT
CLEAN = "Child T lived with their mother. Agencies did not share what they knew."


def _audits(case: Case, action: str) -> list[AuditEvent]:
    with case.rt.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _files(case: Case) -> list[str]:
    root = case.rt.settings.documents_dir
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- type, size and hash --------------------------------------------------------------------


def test_a_stored_document_is_addressed_by_its_sha256_and_versions_never_overwrite(
    case: Case,
) -> None:
    data = pdf_with_pages(CLEAN)
    first = documents.add_document(
        case.rt, case.reference, FINAL, "report.pdf", data, added_by="bm"
    )
    second = documents.add_document(
        case.rt, case.reference, FINAL, "report-again.pdf", data, added_by="bm"
    )
    sha = hashlib.sha256(data).hexdigest()
    assert (first.version, second.version) == (1, 2)
    assert first.sha256 == second.sha256 == sha
    assert first.media_type == "application/pdf" and first.size == len(data)
    # Identical content is stored once, where its hash says.
    assert _files(case) == [sha]
    assert blob_path(case.rt.settings.documents_dir, sha).read_bytes() == data
    listed = documents.list_documents(case.rt, case.reference)
    assert [(d.kind, d.version, d.filename) for d in listed] == [
        (FINAL, 1, "report.pdf"),
        (FINAL, 2, "report-again.pdf"),
    ]
    view, content = documents.get_document(case.rt, case.reference, FINAL, 1, actor="bm")
    assert view.filename == "report.pdf" and content == data


def test_word_markdown_and_text_files_are_accepted_with_their_types(case: Case) -> None:
    kinds = {
        "comments.docx": docx_with_paragraphs("Police: page 3 date is wrong."),
        "comments.md": b"# Comments\n\nThe date on page 3 is wrong.\n",
        "comments.txt": "Caf\u00e9 visit was on the 3rd.\n".encode(),
    }
    types = [
        documents.add_document(
            case.rt, case.reference, DocumentKind.AGENCY_COMMENTS, name, data, added_by="bm"
        ).media_type
        for name, data in kinds.items()
    ]
    assert types == [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/markdown",
        "text/plain",
    ]


def _zip_without_word() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("report.pdf", b"", "file: is empty"),
        ("report.pdf", b"%PDF-" + b"x" * 2000, "over the limit of 1,024 bytes"),
        ("report.exe", b"MZ\x90\x00", "not an accepted type"),
        ("report.xlsx", _zip_without_word(), "zip archive but not a Word document"),
        ("report.txt", b"\xff\xfe\x00bad", "not valid UTF-8"),
        ("report.pdf", b"<html>not a pdf</html>", "named .pdf but its content is not"),
        ("Tobias Quennell report.pdf", b"%PDF-1.7 tiny", "its name holds the subject's name"),
    ],
)
def test_refused_files_name_the_reason_and_store_nothing(
    case: Case, filename: str, data: bytes, reason: str
) -> None:
    rt = with_documents_dir(case.rt, case.rt.settings.documents_dir, document_max_bytes=1024)
    before = row_counts(rt)
    with pytest.raises(DocumentRefused, match=reason):
        documents.add_document(rt, case.reference, FINAL, filename, data, added_by="bm")
    assert row_counts(rt) == before
    assert _files(case) == []


# --- the anonymisation check ------------------------------------------------------------------


def test_subject_name_on_page_two_of_a_pdf_is_caught_there(case: Case) -> None:
    pdf = pdf_with_pages(CLEAN, "At the hospital Tobias was seen by a registrar.", CLEAN)
    documents.add_document(case.rt, case.reference, FINAL, "final.pdf", pdf, added_by="bm")
    hits = documents.anonymisation_hits(case.rt, case.reference, FINAL)
    assert [(h.place, h.found) for h in hits] == [("page 2", "subject's name")]
    assert "Tobias" not in " ".join(str(h) for h in hits)
    (checked,) = _audits(case, "anonymisation_checked")
    assert checked.detail["hits"] == 1 and "Tobias" not in str(checked.detail)


def test_subject_identity_in_paragraph_seven_of_a_word_file_is_caught_there(case: Case) -> None:
    paragraphs = [f"Paragraph {n}. {CLEAN}" for n in range(1, 11)]
    paragraphs[6] = "Child T was born on 14 May 2022 and lived at 12 Larkspur Row."
    paragraphs.insert(3, "")  # an empty paragraph is not counted
    data = docx_with_paragraphs(*paragraphs)
    documents.add_document(case.rt, case.reference, FINAL, "final.docx", data, added_by="bm")
    hits = documents.anonymisation_hits(case.rt, case.reference, FINAL)
    assert [(h.place, h.found) for h in hits] == [
        ("paragraph 7", "subject's date of birth"),
        ("paragraph 7", "subject's address"),
    ]


def test_a_listed_name_is_caught_with_its_role_and_the_listing_is_audited(case: Case) -> None:
    assert documents.add_review_name(
        case.rt, case.reference, "Kerensa Vaughan-Pryce", "mother", actor="bm"
    )
    assert not documents.add_review_name(
        case.rt, case.reference, "Kerensa Vaughan-Pryce", "mother", actor="bm"
    )
    text = b"First paragraph.\n\nThe social worker met MS VAUGHAN at home.\n\nVaughanville.\n"
    documents.add_document(case.rt, case.reference, FINAL, "final.md", text, added_by="bm")
    hits = documents.anonymisation_hits(case.rt, case.reference, FINAL)
    assert [(h.place, h.found) for h in hits] == [
        ("paragraph 2", "name listed for the review (mother)")
    ]
    assert _audits(case, "review_names_revealed") == []
    (listed,) = documents.list_review_names(case.rt, case.reference, actor="bm")
    assert (listed.name, listed.role) == ("Kerensa Vaughan-Pryce", "mother")
    assert len(_audits(case, "review_names_revealed")) == 1


def test_blank_name_or_role_is_refused_naming_the_field(case: Case) -> None:
    with pytest.raises(DocumentRefused, match="--name: is required"):
        documents.add_review_name(case.rt, case.reference, "  ", "mother", actor="bm")
    with pytest.raises(DocumentRefused, match="--role: is required"):
        documents.add_review_name(case.rt, case.reference, "Kerensa", " ", actor="bm")


def test_a_redacted_version_passes_where_the_first_was_blocked(case: Case) -> None:
    named = pdf_with_pages(CLEAN, "Tobias Quennell was seen at school.")
    documents.add_document(case.rt, case.reference, FINAL, "final.pdf", named, added_by="bm")
    blocked = documents.release_check(case.rt, case.reference, FINAL)
    assert not blocked.may_leave and blocked.version == 1 and len(blocked.hits) == 1
    with pytest.raises(documents.DocumentNotCleared):
        documents.panel_copy_link(case.rt, case.reference, FINAL, 1, date(2026, 12, 31))
    redacted = pdf_with_pages(CLEAN, "Child T was seen at school.")
    documents.add_document(case.rt, case.reference, FINAL, "final-r.pdf", redacted, added_by="bm")
    passed = documents.release_check(case.rt, case.reference, FINAL)
    assert passed.may_leave and passed.version == 2 and passed.hits == []


def test_no_document_stored_may_not_leave(case: Case) -> None:
    check = documents.release_check(case.rt, case.reference, FINAL)
    assert not check.may_leave and check.version is None


def test_an_override_needs_a_reason_is_audited_and_holds_for_that_version_only(
    case: Case,
) -> None:
    named = b"Child T.\n\nTobias is named in a quoted court judgment already public.\n"
    documents.add_document(case.rt, case.reference, FINAL, "final.md", named, added_by="bm")
    with pytest.raises(DocumentRefused, match="--reason: is required"):
        documents.record_anonymisation_override(
            case.rt, case.reference, FINAL, 1, "   ", "business manager"
        )
    assert _audits(case, "anonymisation_overridden") == []
    documents.record_anonymisation_override(
        case.rt, case.reference, FINAL, 1, "Name is in a published judgment", "business manager"
    )
    (audit,) = _audits(case, "anonymisation_overridden")
    assert audit.actor == "business manager"
    assert audit.detail["version"] == 1 and audit.detail["reason"].startswith("Name is in")
    check = documents.release_check(case.rt, case.reference, FINAL)
    assert check.may_leave and len(check.hits) == 1 and "overridden" in check.why
    # A new version is checked afresh: the override was for version 1's content only.
    documents.add_document(
        case.rt, case.reference, FINAL, "v2.md", named + b"\n\nMore.\n", added_by="bm"
    )
    assert not documents.release_check(case.rt, case.reference, FINAL).may_leave


# --- audited reads ----------------------------------------------------------------------------


def test_reading_an_unredacted_report_is_audited_and_other_kinds_are_not(case: Case) -> None:
    documents.add_document(case.rt, case.reference, FINAL, "f.md", b"Child T.\n", added_by="bm")
    documents.add_document(
        case.rt, case.reference, DocumentKind.ACTION_PLAN, "a.md", b"Actions.\n", added_by="bm"
    )
    documents.get_document(case.rt, case.reference, DocumentKind.ACTION_PLAN, actor="chair")
    assert _audits(case, "document_read") == []
    documents.get_document(case.rt, case.reference, FINAL, actor="chair")
    (read,) = _audits(case, "document_read")
    assert read.actor == "chair"
    assert read.detail["kind"] == "final_report" and read.detail["version"] == 1


def test_a_stored_file_that_no_longer_matches_its_hash_is_refused(case: Case) -> None:
    stored = documents.add_document(
        case.rt, case.reference, FINAL, "f.md", b"Child T.\n", added_by="bm"
    )
    blob_path(case.rt.settings.documents_dir, stored.sha256).write_bytes(b"changed")
    with pytest.raises(documents.DocumentCorrupt):
        documents.get_document(case.rt, case.reference, FINAL, actor="bm")


# --- documents made from forms ----------------------------------------------------------------


def _tor(**changes: object) -> TermsOfReference:
    data: dict[str, object] = {
        "period_from": "2025-06-01",
        "period_to": "2026-10-28",
        "key_lines_of_enquiry": [
            "How were missed health visits followed up?",
            "What did agencies share about neighbours' concerns?",
        ],
        "agencies_in_scope": ["Northbridge Police", "Riverside GP Practice"],
        "method": "SILP: a learning event and a recall session with practitioners.",
        "family_involvement": "The reviewer will invite Child T's mother to contribute.",
        "timetable": [
            {"milestone": "Learning event", "due": "2027-01-20"},
            {"milestone": "Final report to the board", "due": "2027-04-15"},
        ],
    }
    data.update(changes)
    return TermsOfReference.model_validate(data)


def test_terms_of_reference_are_rendered_to_markdown_and_stored(case: Case) -> None:
    stored = documents.store_terms_of_reference(case.rt, case.reference, _tor(), "business manager")
    assert (stored.kind, stored.version, stored.media_type) == (
        DocumentKind.TERMS_OF_REFERENCE,
        1,
        "text/markdown",
    )
    _, data = documents.get_document(
        case.rt, case.reference, DocumentKind.TERMS_OF_REFERENCE, actor="bm"
    )
    text = data.decode()
    assert text.startswith("# Terms of reference: SCR-2026-001 (Child T)")
    assert "From Sunday 1 June 2025 to Wednesday 28 October 2026." in text
    assert "2. What did agencies share about neighbours' concerns?" in text  # not escaped
    assert "- Riverside GP Practice" in text
    assert "| Final report to the board | Thursday 15 April 2027 |" in text


def test_terms_of_reference_naming_the_subject_are_refused_by_field(case: Case) -> None:
    before = row_counts(case.rt)
    with pytest.raises(DocumentRefused, match="family_involvement: holds the subject's name"):
        documents.store_terms_of_reference(
            case.rt,
            case.reference,
            _tor(family_involvement="The reviewer will visit the Quennell family."),
            "bm",
        )
    assert row_counts(case.rt) == before


def test_terms_of_reference_period_must_be_in_order() -> None:
    with pytest.raises(ValueError, match="period_to: is before period_from"):
        _tor(period_from="2026-11-01", period_to="2026-10-01")


def test_learning_summary_pdf_holds_every_heading_and_answer(case: Case) -> None:
    summary = LearningSummary.model_validate(
        {
            "review_type": "Serious Case Review",
            "methodology": "SILP",
            "case_summary": "Child T, aged 4, died after head injuries at home.",
            "key_learning": ["Missed health visits were not escalated."],
            "good_practice": ["The school shared its concern the same day."],
            "recommendations": [
                {
                    "recommendation": "Escalate two missed health visits to social care.",
                    "intended_outcome": "No missed visits go unnoticed.",
                    "timescale": "Within 3 months",
                }
            ],
            "learning_for_practice": "Briefing for health visitors.",
            "dissemination": "Seven-minute briefing to every agency.",
        }
    )
    stored = documents.store_learning_summary(case.rt, case.reference, summary, "bm")
    assert stored.media_type == "application/pdf"
    _, pdf = documents.get_document(
        case.rt, case.reference, DocumentKind.LEARNING_SUMMARY, actor="bm"
    )
    text = " ".join(
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )
    for heading in LEARNING_SUMMARY_HEADINGS.values():
        assert heading in text
    for answer in (
        "Learning summary: SCR-2026-001 (Child T)",
        "Missed health visits were not escalated.",
        "The school shared its concern the same day.",
        "No missed visits go unnoticed.",
        "Seven-minute briefing to every agency.",
    ):
        assert answer in text


def test_the_gate_lines_leave_out_a_comments_author(case: Case) -> None:
    from tests.anonymisation_corpus import _with

    def comment(document: Any) -> None:
        runs = document.paragraphs[0].runs
        document.add_comment(runs, text="Ask Tobias", author="Reviewer A")

    data = _with(comment, "Summary.")()
    documents.add_document(case.rt, case.reference, FINAL, "final.docx", data, added_by="bm")
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        lines = documents.release_blocked(case.rt, session, review, [FINAL.value])
    assert lines == {
        "final_report": [
            "version 1, comment 1: subject's name",
            "version 1, comments: hidden data; delete all comments first",
        ]
    }
