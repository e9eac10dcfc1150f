"""An LCSPR end to end on a real Prefect server (Working Together 2023): the rapid review
before the partners' decision, the agencies' summaries through the portal over HTTP, the report
to the national panel meeting the 15-working-day clock, and each notice to the pack's
recipients."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import select

from case_reviews.simulation.scenario import Agencies, drive
from models import participation_store as participation
from models import store
from models.orm import Obligation, ObligationStatus, OutboxMessage, ReminderRound
from services.sweep import run_sweep

pytestmark = pytest.mark.prefect

CHAIR = "chair@northbridge-scp.example"
PANEL = "notifications@national-panel.example"


@pytest.fixture
def lcspr_case(case_factory, portal_url: str):
    return case_factory("lcspr-child-m", settings={"portal_url": portal_url})


def _subjects_to(case, address: str) -> list[str]:
    return [m.subject.split("] ", 1)[1] for m in case.smtp.received if m.recipients == (address,)]


def test_an_lcspr_holds_its_rapid_review_before_the_partners_decide(lcspr_case) -> None:
    case = lcspr_case
    run_id = case.start()
    agencies = Agencies(case.rt, lambda: case.smtp.received, case.reference)

    def each_day() -> None:
        agencies()
        run_sweep(case.rt)

    result = drive(case.rt, case.clock, run_id, case.reference, "full", between_gates=each_day)
    assert result.state == "Completed"
    assert result.gates[:3] == ["rapid_review_meeting", "panel_response", "chair_decision"]
    assert "committee_recommendation" not in result.gates
    assert len(agencies.summaries) == 4  # every involved agency, through its portal link

    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        stages = store.completed_stages(session, review.id)
        events = store.review_events(session, review.id)
        by_milestone = {o.milestone: o for o in store.obligations(session, review.id)}
        summaries = store.obligations(session, review.id, milestone="agency_summary")
        sent_summaries = participation.agencies_with_summaries(session, review.id)
        recommendation = store.get_decision(session, review.id, "committee_recommendation")
        rounds = session.execute(
            select(Obligation.milestone, ReminderRound.round, ReminderRound.outbox_keys).join(
                Obligation, Obligation.id == ReminderRound.obligation_id
            )
        ).all()
        chased = [
            row.recipient
            for row in session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind.in_(["reminder", "overdue_notice", "escalation"])
                )
            )
        ]
    assert stages[:4] == ["referral_intake", "rapid_review", "panel_response", "chair_decision"]
    # The report to the panel meets the rapid review clock, not the chair's decision.
    rapid = by_milestone["rapid_review"]
    assert rapid.status is ObligationStatus.MET
    assert rapid.met_on == events["rapid_review_sent"] <= rapid.due_on == date(2026, 12, 7)
    assert events["rapid_review_sent"] < events["decision"]
    # Every agency answered on time through the portal: each met, none chased overdue.
    assert {o.status for o in summaries} == {ObligationStatus.MET}
    assert len(sent_summaries) == 4
    assert not [r for r in rounds if r.milestone == "agency_summary" and "overdue" in r.round]
    # The local authority's notification is chased through the local authority, never the chair.
    assert by_milestone["panel_notification"].owed_by == "Northbridge Children's Social Care"
    assert CHAIR not in chased
    assert recommendation is not None and recommendation.outcome == "full_review"

    assert _subjects_to(case, PANEL) == [
        "Rapid review: the safeguarding partners recommend an LCSPR",
        "Notification of decision: a statutory case review will be initiated",
        "Final report ahead of publication",
        "Report published",
    ]
    for address in ("enquiries@ofsted.example", "safeguarding.notifications@education.example"):
        assert _subjects_to(case, address) == [
            "Notification of decision: a statutory case review will be initiated"
        ]
    assert _subjects_to(case, "secretary.of.state@education.example") == [
        "Final report ahead of publication"
    ]
    assert _subjects_to(case, "dcs@northbridge.example") == [
        "New referral to consider: Local Child Safeguarding Practice Review"
    ]
    assert "New referral to consider: Local Child Safeguarding Practice Review" in _subjects_to(
        case, CHAIR
    )
    everything = "\n".join(m.part("text/plain") for m in case.smtp.received)
    assert "Okonkwo" not in everything and "Mia" not in everything


def test_a_summary_naming_the_child_is_refused_and_nothing_is_stored(lcspr_case) -> None:
    case = lcspr_case
    run_id = case.start()
    result = drive(
        case.rt, case.clock, run_id, case.reference, "full", stop_at="rapid_review_meeting"
    )
    assert result.gates == []
    (request, *_) = [m for m in case.smtp.received if "agency summary requested" in m.subject]
    link = Agencies.summary_link_in(request)
    page = httpx.get(link, timeout=30)
    assert page.status_code == 200 and "Child M" in page.text
    refused = httpx.post(
        link,
        data={"involvement": "Mia was known to us.", "immediate_actions": "x", "learning": ""},
        timeout=30,
    )
    assert refused.status_code == 400
    assert "involvement: contains the subject&#39;s real name" in refused.text
    assert "learning: is required" in refused.text
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert participation.agencies_with_summaries(session, review.id) == set()
    assert httpx.get(link.replace("/s/", "/t/"), timeout=30).status_code == 403
