"""Rules a gate applies to an answer beyond its form (no Prefect needed: the task's function)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from case_reviews.simulation.scenario import answer, example_report
from core.names import DocumentKind
from models.answers import (
    ChairDecision,
    FinalReportApproved,
    PublicationDecision,
    TermsOfReferenceSet,
)
from services.documents import add_document, add_review_name
from services.runtime import Runtime, use_runtime
from tasks.gates import check_answer
from tests.helpers import add_example_referral, load_example_board
from tests.services.conftest import with_documents_dir


def test_identity_in_a_gate_answer_is_refused_before_it_reaches_any_email(
    sqlite_rt: Runtime,
) -> None:
    load_example_board(sqlite_rt)
    reference = add_example_referral(sqlite_rt)
    decided = answer("chair_decision", "full", date(2026, 11, 30)) | {
        "rationale": "Tobias died after injuries at 12 Larkspur Row; agencies missed signs."
    }
    assert check_answer.fn(reference, ChairDecision.model_validate(decided)) == [
        "rationale: contains the subject's real address and name; use the pseudonym (Child T)"
    ]


def test_a_clean_answer_and_its_dates_pass(sqlite_rt: Runtime) -> None:
    load_example_board(sqlite_rt)
    reference = add_example_referral(sqlite_rt)
    # Even a date field on the subject's birthday is a date, not free text.
    decided = answer("chair_decision", "full", date(2022, 5, 14))
    assert check_answer.fn(reference, ChairDecision.model_validate(decided)) == []


def test_terms_of_reference_naming_a_listed_person_deep_in_the_timetable_are_refused(
    sqlite_rt: Runtime,
) -> None:
    load_example_board(sqlite_rt)
    reference = add_example_referral(sqlite_rt)
    add_review_name(sqlite_rt, reference, "Dana Whitlock", "social worker", actor="bm")
    terms = answer("terms_of_reference", "full", date(2026, 11, 30))
    terms["timetable"][0]["milestone"] = "Interview with Ms Whitlock"
    terms["family_involvement"] = "Tobias's mother is invited."
    assert check_answer.fn(reference, TermsOfReferenceSet.model_validate(terms)) == [
        "family_involvement: contains the subject's real name; use the pseudonym (Child T)",
        "timetable: holds the name listed for the review (social worker); leave names out",
    ]


def test_final_report_and_publication_answers_need_a_stored_clean_report(
    sqlite_rt: Runtime, tmp_path: Path
) -> None:
    rt = with_documents_dir(sqlite_rt, tmp_path / "documents")
    with use_runtime(rt):
        load_example_board(rt)
        reference = add_example_referral(rt)
        approved = FinalReportApproved.model_validate(
            answer("final_report", "full", date(2026, 11, 30)) | {"final_report_version": 2}
        )
        assert check_answer.fn(reference, approved) == [
            "final_report_version: no final_report is stored; add it with 'reviews documents "
            f"add {reference} --kind final_report FILE'"
        ]
        named = example_report("Child T", title="Report", subject_name="Tobias Quennell")
        add_document(rt, reference, DocumentKind.FINAL_REPORT, "r.md", named, added_by="bm")
        assert check_answer.fn(reference, approved) == [
            "final_report_version: version 2 is not stored (the newest is 1)"
        ]
        publish = PublicationDecision.model_validate(answer("publication", "full", date.today()))
        assert check_answer.fn(reference, publish) == [
            "final_report: version 1, paragraph 4: subject's name"
        ]
        clean = example_report("Child T", title="Report")
        add_document(rt, reference, DocumentKind.FINAL_REPORT, "r2.md", clean, added_by="bm")
        assert check_answer.fn(reference, publish) == []
