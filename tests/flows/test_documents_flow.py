"""The review's documents in the flow on a real Prefect server: the final report gate needs a
stored report, the chair cannot publish a version that names the child (the refusal lists the
hits), a decision not to publish waits for the panel's advice, the learning summary reaches the
committees as a PDF, and the published report's takedown is chased after the review closes."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import select

from case_reviews.simulation.scenario import (
    RECOMMENDATIONS,
    answer,
    answer_now,
    drive,
    example_report,
)
from core.names import DocumentKind
from deployments import driver
from models import store
from models.orm import Obligation, ObligationStatus
from services import documents
from services.sweep import run_sweep

pytestmark = pytest.mark.prefect

PANEL = ("notifications@national-panel.example",)


def _refusals(case, gate: str) -> list[list[str]]:
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        return store.refused_answers(session, review.id, gate)


def _to(case, gate: str) -> UUID:
    run_id: UUID = case.start()
    result = drive(case.rt, case.clock, run_id, case.reference, "full", stop_at=gate)
    assert result.state == "Suspended"
    return run_id


def _answer(case, run_id: UUID, gate: str, run_input: dict[str, object]) -> str:
    driver.resume(run_id, run_input)
    return driver.execute(run_id)


def test_the_final_report_gate_refuses_an_answer_until_a_report_is_stored(case_factory) -> None:
    case = case_factory()
    run_id = _to(case, "final_report")
    today = case.clock.now().date()
    # The scenario's people have not added the report: the chair's answer is refused.
    assert _answer(case, run_id, "final_report", answer("final_report", "full", today)) == (
        "Suspended"
    )
    assert _refusals(case, "final_report") == [
        [
            "final_report_version: no final_report is stored; add it with 'reviews documents "
            f"add {case.reference} --kind final_report FILE'"
        ]
    ]
    report = example_report("Child T", title="Overview report")
    documents.add_document(
        case.rt, case.reference, DocumentKind.FINAL_REPORT, "r.md", report, added_by="lead"
    )
    assert _answer(case, run_id, "final_report", answer("final_report", "full", today)) == (
        "Suspended"
    )
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.waiting_at == "learning_summary"
        assert store.audit_detail(session, f"{case.reference}:stage:final_report") == {
            "stage": "final_report",
            "recommendations": len(RECOMMENDATIONS),
            "final_report_version": 1,
        }


def test_the_chair_cannot_publish_while_a_hit_stands_and_no_publication_waits_for_advice(
    case_factory,
) -> None:
    case = case_factory()
    run_id = _to(case, "publication")
    # The learning summary went to both committees as a PDF.
    summaries = [m for m in case.smtp.received if "Learning summary for the" in m.subject]
    assert sorted(m.recipients[0] for m in summaries) == [
        "learning.development@northbridge-scp.example",
        "performance.committee@northbridge-scp.example",
    ]
    for mail in summaries:
        (pdf,) = [p for p in mail.message.walk() if p.get_filename()]
        assert pdf.get_content_type() == "application/pdf"
    # Someone stores a newer final report that names the child: the chair's answer to
    # publish is refused, listing where.
    named = example_report("Child T", title="Overview report", subject_name="Tobias Quennell")
    documents.add_document(
        case.rt, case.reference, DocumentKind.FINAL_REPORT, "r3.md", named, added_by="bm"
    )
    today = case.clock.now().date()
    publish = answer_now(case.rt, case.reference, "publication", "full")
    assert _answer(case, run_id, "publication", publish) == "Suspended"
    (problems,) = _refusals(case, "publication")
    assert problems == ["final_report: version 3, paragraph 4: subject's name"]
    # The chair decides not to publish: the panel gets the reasons, and the run waits for
    # its advice before the decision is final.
    # (A date left empty on the form is not sent.)
    withheld = {k: v for k, v in publish.items() if k != "publication_on"} | {
        "publish": False,
        "reasons_not_to_publish": "Publishing would identify the family in a small community.",
    }
    assert _answer(case, run_id, "publication", withheld) == "Suspended"
    with case.rt.sessions() as session:
        assert store.get_review(session, case.reference).waiting_at == "panel_advice"
    to_panel = [m for m in case.smtp.received if m.recipients == PANEL]
    assert to_panel[-1].subject.endswith("Decision not to publish")
    assert "small community" in to_panel[-1].part("text/plain")
    advice = {
        k: v for k, v in answer("panel_advice", "full", today).items() if k != "publication_on"
    } | {
        "publish": False,
        "published_url": "",
        "reasons_not_to_publish": "The panel agreed: the family would be identified.",
    }
    assert _answer(case, run_id, "panel_advice", advice) == "Suspended"
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.waiting_at == "monitoring"
        assert "publication" not in store.review_events(session, review.id)
        kinds = {d.kind for d in documents.list_documents(case.rt, case.reference)}
    assert DocumentKind.PUBLISHED_VERSION not in kinds
    final = [m for m in case.smtp.received if m.recipients == PANEL][-1]
    assert "The panel agreed" in final.part("text/plain")


def test_the_published_report_is_chased_for_its_takedown_after_the_review_closes(
    case_factory,
) -> None:
    case = case_factory()
    run_id = case.start()
    assert drive(case.rt, case.clock, run_id, case.reference, "full").state == "Completed"
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.status.value == "closed"
        takedown = session.scalars(
            select(Obligation).where(Obligation.milestone == "published_until")
        ).one()
        published = store.review_events(session, review.id)["publication"]
    assert takedown.due_on == published.replace(year=published.year + 1)
    case.clock.advance(takedown.due_on - case.clock.now().date() - timedelta(days=10))
    before = len(case.smtp.received)
    for _ in range(10):
        case.clock.advance(timedelta(days=1))
        run_sweep(case.rt)
    chased = [
        m
        for m in case.smtp.received[before:]
        if m.recipients == ("business.manager@northbridge-scp.example",)
        and "published report" in m.part("text/plain")
    ]
    assert chased, "the business manager was not reminded before published_until"
    documents.record_takedown(case.rt, case.reference, case.clock.now().date(), actor="bm")
    with case.rt.sessions() as session:
        status = session.get_one(Obligation, takedown.id).status
    assert status is ObligationStatus.MET
    after = len(case.smtp.received)
    for _ in range(10):
        case.clock.advance(timedelta(days=1))
        run_sweep(case.rt)
    assert not [m for m in case.smtp.received[after:] if "published report" in m.part("text/plain")]
