"""Timelines end to end: requests with links, agencies submitting through the portal over HTTP,
the gate resuming by itself, the combined timeline attached to the run."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import select

from case_reviews.simulation.scenario import (
    Agencies,
    answer,
    answer_now,
    drive,
    example_timeline_csv,
)
from deployments import driver
from models import store
from models.orm import AuditEvent, Obligation
from models.timeline import parse_timeline_file
from services.sweep import run_sweep
from services.timelines import submit_timeline

pytestmark = pytest.mark.prefect


@pytest.fixture
def portal_case(case_factory, portal_url: str):
    return case_factory(settings={"portal_url": portal_url})


def _to_timelines_gate(case) -> UUID:
    run_id: UUID = case.start()
    result = drive(
        case.rt, case.clock, run_id, case.reference, "full", stop_at="timelines_complete"
    )
    assert result.gates == [
        "committee_recommendation",
        "chair_decision",
        "reviewer_appointment",
        "terms_of_reference",
    ]
    return run_id


def test_gate_resumes_by_itself_when_the_last_agency_submits(portal_case) -> None:
    case = portal_case
    run_id = _to_timelines_gate(case)
    agencies = Agencies(case.rt, lambda: case.smtp.received, case.reference, respond_after=0)
    agencies()
    assert len(agencies.uploaded) == 5
    assert driver.state_name(run_id) != "Suspended"  # resumed by the last submission
    assert driver.execute(run_id) == "Suspended"
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.waiting_at == "learning_event_arranged"
        resumed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "timelines_gate_resumed")
        ).all()
        stage = session.scalars(
            select(AuditEvent).where(AuditEvent.key == f"{case.reference}:stage:timelines_merged")
        ).one()
    assert len(resumed) == 1
    assert stage.detail == {"stage": "timelines_merged", "agencies_submitted": 5, "events": 15}
    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts(artifact_filter=None, limit=200)
    (combined,) = [a for a in artifact if a.key == "scr-2026-001-combined-timeline"]
    assert "Child T" in str(combined.data)
    assert "Quennell" not in str(combined.data)
    # Nobody is invited before the business manager confirms the event.
    assert not [m for m in case.smtp.received if "Invitation:" in m.subject]
    driver.resume(run_id, answer_now(case.rt, case.reference, "learning_event_arranged", "full"))
    assert driver.execute(run_id) == "Suspended"
    invitations = [m for m in case.smtp.received if "Invitation: Learning event" in m.subject]
    assert len(invitations) == 5
    text = invitations[0].part("text/plain")
    for detail in ("09:30", "Northbridge Town Hall", "business.manager@northbridge-scp.example"):
        assert detail in text


def test_business_manager_can_go_on_without_an_agency_with_a_reason(portal_case) -> None:
    case = portal_case
    run_id = _to_timelines_gate(case)
    mails = [m for m in case.smtp.received if "Timeline of significant events" in m.subject]
    missing = "Riverside GP Practice"
    for seed, mail in enumerate(mails):
        if "riverside" in mail.recipients[0]:
            continue
        link = next(w for w in mail.part("text/plain").split() if "/t/" in w)
        data = example_timeline_csv("agency", "Child T", case.clock.now().date(), seed)
        response = httpx.post(f"{link}/upload", files={"file": ("t.csv", data)}, timeout=30)
        assert response.status_code == 200
    assert driver.state_name(run_id) == "Suspended"  # one timeline still awaited
    today = case.clock.now().date()
    # Proceeding without naming the missing agency is refused, with the reason.
    driver.resume(run_id, answer("timelines_complete", "full", today))
    driver.execute(run_id)
    with case.rt.sessions() as session:
        refused = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "gate_answer_refused")
        ).one()
    assert refused.detail["problems"] == [
        f"proceed_without: {missing} has not sent its timeline; wait for it, or list it here "
        "with a reason"
    ]
    go_on = answer("timelines_complete", "full", today) | {
        "proceed_without": [missing],
        "reason": "Practice closed; records with the ICB.",
    }
    driver.resume(run_id, go_on)
    assert driver.execute(run_id) == "Suspended"
    with case.rt.sessions() as session:
        assert store.get_review(session, case.reference).waiting_at == "learning_event_arranged"
        waived = session.scalars(
            select(Obligation).where(Obligation.key == f"{case.reference}:timeline:{missing}")
        ).one()
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "timeline_waived")
        ).one()
    assert (waived.status.value, waived.note) == (
        "waived",
        "Practice closed; records with the ICB.",
    )
    assert audit.detail == {"agency": missing, "reason": "Practice closed; records with the ICB."}


def test_a_gate_missed_while_prefect_was_down_is_resumed_by_the_next_sweep(portal_case) -> None:
    """The last timeline arrives while the Prefect API cannot be reached: the submission is
    kept, the gate stays; the daily sweep then sees every timeline in and resumes it."""
    case = portal_case
    run_id = _to_timelines_gate(case)
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        for seed, agency in enumerate(_agencies(case)):
            result = submit_timeline(
                case.rt,
                reference=case.reference,
                agency_name=agency,
                events=parse_timeline_file(
                    "t.csv", example_timeline_csv(agency, "Child T", date(2026, 10, 28), seed)
                ),
                submitted_by="business manager",
                source="cli: t.csv",
            )
        assert result.all_submitted and not result.gate_resumed
    assert driver.state_name(run_id) == "Suspended"
    run_sweep(case.rt)
    assert driver.state_name(run_id) != "Suspended"
    assert driver.execute(run_id) == "Suspended"
    with case.rt.sessions() as session:
        assert store.get_review(session, case.reference).waiting_at == "learning_event_arranged"


def _agencies(case) -> list[str]:
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        return [a.name for a in store.involved_agencies(session, review.id)]


def test_each_timeline_request_links_the_terms_of_reference_agreed_at_their_gate(
    portal_case,
) -> None:
    case = portal_case
    _to_timelines_gate(case)
    requests = [m for m in case.smtp.received if "Timeline of significant events" in m.subject]
    assert len(requests) == 5
    for mail in requests:
        link = next(w for w in mail.part("text/plain").split() if "/d/" in w)
        response = httpx.get(link, timeout=30)
        assert response.status_code == 200
        assert response.headers["content-disposition"].endswith(
            f'filename="{case.reference}-terms_of_reference-v1.md"'
        )
        text = response.text
        assert "## Key lines of enquiry" in text and "missed health appointments" in text
        assert "Quennell" not in text
