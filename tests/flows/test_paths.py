"""Each route a chair can choose, walked through a real Prefect server: an individual agency
review asks one agency for its own report; a professional forum is arranged, held and recorded;
a Welsh concise review walks the Welsh model's events; a review walks the steps of the method
chosen, a board's own method included; a route the regime does not offer is refused."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from case_reviews.simulation.choices import Scenario
from case_reviews.simulation.scenario import answer_now, days_before, drive, waiting_at
from core.names import gate_key
from deployments import driver
from models import store
from models.orm import AuditEvent, Obligation, ObligationStatus, OutboxMessage

pytestmark = pytest.mark.prefect


def _agency_messages(case) -> Counter[str]:
    """Messages (not reminders) each involved agency's contact address got, by kind."""
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        contacts = {a.contact_email for a in store.involved_agencies(session, review.id)}
        rows = session.scalars(select(OutboxMessage)).all()
    return Counter(f"{row.kind}:{row.recipient}" for row in rows if row.recipient in contacts)


def _walk(case, scenario: Scenario, changes: dict[str, dict[str, Any]]) -> list[str]:
    """Answer every gate as the scenario does, with ``changes`` per gate; the gates met."""
    run_id = case.start()
    state, gates = driver.execute(run_id), list[str]()
    while state == "Suspended" and len(gates) < 30:
        gate = waiting_at(case.rt, case.reference)
        assert gate is not None
        case.clock.advance(timedelta(days=days_before(gate)))
        run_input = answer_now(case.rt, case.reference, gate, scenario) | changes.get(gate, {})
        driver.resume(run_id, run_input)
        gates.append(gate)
        state = driver.execute(run_id)
    assert state == "Completed", gates
    return gates


def test_individual_agency_review_asks_only_that_agency_for_its_own_report(case_factory) -> None:
    case = case_factory()
    result = drive(case.rt, case.clock, case.start(), case.reference, "iar")
    assert result.state == "Completed"
    assert result.gates == [
        "committee_recommendation",
        "chair_decision",
        "agency_review",
        "monitoring",
    ]
    asked = _agency_messages(case)
    assert asked == Counter({"agency_review_request:csc.reviews@northbridge.example": 1}), (
        "only the agency under review is asked, and for its report, not a timeline"
    )
    (request,) = [
        m for m in case.smtp.received if m.recipients == ("csc.reviews@northbridge.example",)
    ]
    text = request.part("text/plain")
    assert "not a" in text and "timeline" in text
    assert "Learning summary to the performance committee" in text  # how learning is shared
    assert "business.manager@northbridge-scp.example" in text  # where the report goes
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        events = store.review_events(session, review.id)
        (owed,) = store.obligations(session, review.id, milestone="agency_review_report")
        stages = store.completed_stages(session, review.id)
    assert "timelines_requested" not in events
    assert (owed.owed_by, owed.status) == (
        "Northbridge Children's Social Care",
        ObligationStatus.MET,
    )
    assert stages[-3:] == ["agency_review_request", "agency_review", "monitoring"]


def test_professional_forum_is_arranged_held_recorded_and_then_closed(case_factory) -> None:
    case = case_factory()
    result = drive(case.rt, case.clock, case.start(), case.reference, "forum")
    assert result.state == "Completed"
    assert result.gates == [
        "committee_recommendation",
        "chair_decision",
        "professional_forum_arranged",
        "professional_forum",
    ]
    invitations = [
        m for m in case.smtp.received if "Invitation: Multi-agency professional forum" in m.subject
    ]
    assert len(invitations) == 5
    text = invitations[0].part("text/plain")
    for detail in ("09:30", "Northbridge Town Hall", "reply to Business Manager at"):
        assert detail in text
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        (forum,) = store.obligations(session, review.id, milestone="professional_forum")
        key = gate_key(case.reference, "professional_forum", 1, "answered")
        held = session.scalars(select(AuditEvent).where(AuditEvent.key == key)).one()
        assert review.status.value == "closed"
        assert review.outcome == "professional_forum"
        stages = store.completed_stages(session, review.id)
    assert (forum.status, forum.owed_to) == (ObligationStatus.MET, "performance committee")
    assert held.detail["answer"]["attendees"] and held.detail["answer"]["learning"]
    assert stages[-1] == "professional_forum"
    panel = [m for m in case.smtp.received if "national-panel" in m.recipients[0]]
    assert [m.subject.split("] ")[1] for m in panel] == [
        "Notification of decision: a multi-agency professional forum"
    ]


def test_welsh_concise_review_walks_the_welsh_models_events(case_factory) -> None:
    case = case_factory("cpr-child-w")
    result = drive(case.rt, case.clock, case.start(), case.reference, "concise")
    assert result.state == "Completed"
    assert result.gates == [
        "committee_recommendation",
        "chair_decision",
        "reviewer_appointment",
        "terms_of_reference",
        "timelines_complete",
        "learning_event_arranged",
        "learning_event",
        "review_panel_arranged",
        "review_panel",
        "draft_report",
        "final_report",
        "learning_summary",
        "action_plan_signoff",
        "anonymisation",
        "anonymisation",  # the first version names the child: refused once, then redacted
        "communications",
        "publication",
        "monitoring",
    ]
    assert not [m for m in case.smtp.received if "national-panel" in m.recipients[0]]
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.outcome == "concise_review"
        overdue = [
            o for o in session.scalars(select(Obligation)) if o.met_on and o.met_on > o.due_on
        ]
    assert overdue == []


def test_a_route_the_regime_does_not_offer_is_refused_with_its_choices(case_factory) -> None:
    """A Welsh board's form offers only the Welsh routes: the server refuses an English route
    at resume, naming the field and the choices, and the review still waits at the gate."""
    case = case_factory("cpr-child-w")
    run_id = case.start()
    driver.execute(run_id)
    english = answer_now(case.rt, case.reference, "committee_recommendation", "full")
    with pytest.raises(driver.AnswerNotTaken) as refused:
        driver.resume(run_id, english)
    assert "Validation failed for field 'recommendation'" in str(refused.value)
    assert (
        "is not one of ['Concise practice review (Wales)', 'Extended practice review (Wales)', "
        "'Multi-agency professional forum', 'No review']" in str(refused.value)
    )
    assert driver.state_name(run_id) == "Suspended"
    with case.rt.sessions() as session:
        assert store.get_review(session, case.reference).waiting_at == "committee_recommendation"


def test_a_review_walks_the_steps_of_a_method_the_board_added(case_factory, tmp_path: Path) -> None:
    """The board's own method, in its rule-pack directory: offered at the chair's gate, and its
    one step arranged, invited to and held; no SILP learning event or recall session."""
    (tmp_path / "methods").mkdir()
    (tmp_path / "methods" / "hybrid.yaml").write_text(
        "method: hybrid\n"
        "title: Hybrid practitioner review\n"
        "source: board rule (Northbridge learning framework 2026)\n"
        "steps:\n"
        "  - name: practitioner_workshop\n"
        "    title: Practitioner workshop\n"
        "    purpose: Practitioners analyse the timeline with the internal reviewers.\n",
        encoding="utf-8",
    )
    case = case_factory(
        settings={"rules_dir": tmp_path},
        harm="seriously_harmed",
        interagency_concerns=False,
        pseudonym="Child K",
    )
    method = {"methodology": "Hybrid practitioner review"}
    gates = _walk(case, "cir", {"committee_recommendation": method, "chair_decision": method})
    after_timelines = gates[gates.index("timelines_complete") + 1 :]
    assert after_timelines[:6] == [
        "practitioner_workshop_arranged",
        "practitioner_workshop",
        "draft_report",
        "final_report",
        "learning_summary",
        "action_plan_signoff",
    ]
    assert "learning_event" not in gates and "recall_session" not in gates
    invited = [m for m in case.smtp.received if "Invitation: Practitioner workshop" in m.subject]
    assert len(invited) == 5
