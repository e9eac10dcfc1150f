"""The review flow end to end through a real Prefect server: every path, every gate resumed
through the API with ``run_input``, and replays that repeat no side effect."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey
from sqlalchemy import func, select

from case_reviews.simulation.scenario import answer, answer_now, days_before, drive, waiting_at
from deployments import driver
from models import store
from models.orm import AuditEvent, Obligation, ObligationStatus, OutboxMessage, ReviewEvent
from tasks.gates import review_artifact_key

pytestmark = pytest.mark.prefect

ALL_STAGES = [
    "referral_intake",
    "committee_recommendation",
    "chair_decision",
    "panel_notification",
    "reviewer_appointment",
    "timeline_requests",
    "timelines_merged",
    "learning_event",
    "recall_session",
    "final_report",
    "action_plan_signoff",
    "panel_copy",
    "publication",
    "monitoring",
]


FULL_GATES = [
    "committee_recommendation",
    "chair_decision",
    "reviewer_appointment",
    "terms_of_reference",
    "timelines_complete",
    "learning_event_arranged",
    "learning_event",
    "recall_session_arranged",
    "recall_session",
    "draft_report",
    "final_report",
    "learning_summary",
    "action_plan_signoff",
    # The first final report names the child: refused once, then a redacted version passes.
    "anonymisation",
    "anonymisation",
    "communications",
    "publication",
    "monitoring",
]


def _side_effects(case) -> dict[str, int]:
    with case.rt.sessions() as session:
        return {
            "outbox": session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
            "audit": session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            "obligations": session.scalar(select(func.count()).select_from(Obligation)) or 0,
            "events": session.scalar(select(func.count()).select_from(ReviewEvent)) or 0,
        }


def _assert_each_message_delivered_once(case) -> None:
    counts = Counter((m.recipients, m.key) for m in case.smtp.received)
    assert counts, "no mail was delivered"
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
    with case.rt.sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert all(row.status == "sent" for row in rows)
    assert len(rows) == len(case.smtp.received)


def test_full_review_walks_all_fourteen_stages(case_factory) -> None:
    case = case_factory()
    run_id = case.start()
    result = drive(case.rt, case.clock, run_id, case.reference, "full")
    assert result.state == "Completed"
    assert result.gates == FULL_GATES
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert store.completed_stages(session, review.id) == ALL_STAGES
        assert review.status.value == "closed"
        # Only the published report's takedown stays owed after the review closes.
        (takedown,) = store.open_obligations(session, review.id)
        events = store.review_events(session, review.id)
    assert takedown.milestone == "published_until"
    assert {"decision", "panel_notified", "final_report", "panel_copy_sent", "publication"} <= set(
        events
    )
    kinds = Counter(m.subject.split("] ", 1)[1].split(":")[0] for m in case.smtp.received)
    assert kinds["Referral received"] == 1
    # The scr pack tells the national panel and Ofsted of the decision (Wirral framework s.5).
    decided = [m for m in case.smtp.received if "Notification of decision" in m.subject]
    assert sorted(m.recipients[0].split("@")[1] for m in decided) == sorted(
        ["national-panel.example", "ofsted.example"]
    )
    _assert_each_message_delivered_once(case)
    panel = [
        m for m in case.smtp.received if m.recipients == ("notifications@national-panel.example",)
    ]
    assert [m.subject.split("] ")[1] for m in panel] == [
        "Notification of decision: a statutory case review will be initiated",
        "Final report ahead of publication",
        "Report published",
    ]
    assert "Independent Reviewer A" in panel[0].part("text/plain")
    (attached,) = [p for p in panel[1].message.walk() if p.get_filename()]
    assert attached.get_filename() == f"{case.reference}-final_report-v2.md"


def test_critical_incident_review_skips_panel_copy_and_publication(case_factory) -> None:
    case = case_factory(
        "scr-child-t", harm="seriously_harmed", interagency_concerns=False, pseudonym="Child K"
    )
    run_id = case.start()
    result = drive(case.rt, case.clock, run_id, case.reference, "cir")
    assert result.state == "Completed"
    assert "publication" not in result.gates
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        stages = store.completed_stages(session, review.id)
    assert stages == [s for s in ALL_STAGES if s not in {"panel_copy", "publication"}]
    panel = [m for m in case.smtp.received if "national-panel" in m.recipients[0]]
    assert len(panel) == 1
    assert "Justification:" in panel[0].part("text/plain")
    _assert_each_message_delivered_once(case)


def test_no_review_tells_referrer_and_panel_why_and_closes(case_factory) -> None:
    case = case_factory()
    run_id = case.start()
    result = drive(case.rt, case.clock, run_id, case.reference, "no-review")
    assert result.state == "Completed"
    assert result.gates == ["committee_recommendation", "chair_decision"]
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.status.value == "closed"
        assert store.completed_stages(session, review.id) == ALL_STAGES[:4]
        statuses = {o.milestone: o.status for o in session.scalars(select(Obligation))}
    assert statuses["panel_notification"] is ObligationStatus.MET
    to_referrer = [
        m for m in case.smtp.received if m.recipients == ("morgan.hale@police.northbridge.example",)
    ]
    assert [m.subject.split("] ")[1] for m in to_referrer] == [
        "Referral received: Child T",
        "Decision on your referral: no review",
    ]
    assert "Rationale:" in to_referrer[1].part("text/plain")
    _assert_each_message_delivered_once(case)


def test_after_every_resume_the_replay_repeats_no_side_effect(case_factory) -> None:
    """Each resume re-runs the flow from the top (every earlier task runs again). After twelve
    resumes each stage, gate answer and message exists once, and what earlier stages recorded
    is unchanged by the replays."""
    case = case_factory()
    run_id = case.start()
    state = driver.execute(run_id)
    resumes = 0
    history: list[tuple[dict[str, int], int]] = []
    while state == "Suspended" and resumes < 24:
        gate = waiting_at(case.rt, case.reference)
        assert gate is not None
        case.clock.advance(timedelta(days=days_before(gate)))
        driver.resume(run_id, answer_now(case.rt, case.reference, gate, "full"))
        resumes += 1
        state = driver.execute(run_id)
        history.append((_side_effects(case), len(case.smtp.received)))
    assert (state, resumes) == ("Completed", len(FULL_GATES))
    # Side effects only ever grow with new stages; a replay that repeated earlier stages
    # would break the exact counts below.
    with case.rt.sessions() as session:
        audits = session.scalars(select(AuditEvent)).all()
        outbox_keys = [row.key for row in session.scalars(select(OutboxMessage))]
    stage_counts = Counter(a.detail["stage"] for a in audits if a.action == "stage_completed")
    gate_counts = Counter(a.detail["gate"] for a in audits if a.action == "gate_answered")
    assert stage_counts == Counter(ALL_STAGES)
    assert set(gate_counts.values()) == {1} and len(gate_counts) == len(set(FULL_GATES))
    assert len(outbox_keys) == len(set(outbox_keys)) == len(case.smtp.received)
    _assert_each_message_delivered_once(case)
    # Five agencies: one timeline request and two invitations each; the two owner agencies of
    # the action plan one sign-off request each (the others own no action).
    per_agency = Counter(k.split(":")[1] for k in outbox_keys if k.count(":") >= 3)
    assert per_agency["timeline_request"] == 5
    assert per_agency["invitation"] == 10
    assert Counter(k.split(":")[1] for k in outbox_keys)["action_signoff"] == 2
    assert per_agency["draft_check_request"] == 5


def test_invalid_resume_is_refused_with_the_reason_and_the_run_stays_at_its_gate(
    case_factory,
) -> None:
    case = case_factory()
    run_id = case.start()
    assert driver.execute(run_id) == "Suspended"
    good = answer("committee_recommendation", "full", case.clock.now().date())
    faults = [
        ({k: v for k, v in good.items() if k != "criteria_met"}, "'criteria_met' is a required"),
        (good | {"recommendation": "maybe"}, "'maybe' is not one of"),
        (good | {"rationale": "short"}, "'short' is too short"),
        (good | {"colour": "blue"}, "'colour' was unexpected"),
    ]
    for bad, reason in faults:
        with pytest.raises(RuntimeError, match="Validation failed") as refused:
            driver.resume(run_id, bad)
        assert reason in str(refused.value)
        assert driver.state_name(run_id) == "Suspended"
    with case.rt.sessions() as session:
        assert store.get_review(session, case.reference).waiting_at == "committee_recommendation"
    driver.resume(run_id, good)
    assert driver.execute(run_id) == "Suspended"
    with case.rt.sessions() as session:
        assert store.get_review(session, case.reference).waiting_at == "chair_decision"


def test_answer_breaking_a_case_rule_is_refused_and_asked_again(case_factory) -> None:
    """A full review with no lead reviewer passes the form but not the rule: the chair is asked
    again, with the reason in the form, and the refusal is audited."""
    case = case_factory()
    run_id = case.start()
    driver.execute(run_id)
    driver.resume(run_id, answer("committee_recommendation", "full", case.clock.now().date()))
    driver.execute(run_id)
    bad = answer("chair_decision", "full", case.clock.now().date()) | {"lead_reviewers": []}
    driver.resume(run_id, bad)
    assert driver.execute(run_id) == "Suspended"
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.waiting_at == "chair_decision"
        refusals = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "gate_answer_refused")
        ).all()
    assert refusals[0].detail["problems"] == [
        "lead_reviewers: a full review needs at least one lead reviewer"
    ]
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
        assert state is not None
        keyset = state.state_details.run_input_keyset
        assert keyset is not None
        description = client.read_flow_run_input(run_id, keyset["description"])
    # The refusal leads the form (the stored description is JSON text).
    assert description.index("Your last answer was not accepted") < description.index("## Chair")
    assert "at least one lead reviewer" in description
    # The run page says which gate waits and why, the refusal first; so does the chair's email.
    with get_client(sync_client=True) as client:
        latest = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=[review_artifact_key(case.reference)])
            )
        )
    page = str(latest[0].data)
    assert page.startswith(f"# {case.reference} (Child T) waits at: Chair's decision")
    assert page.index("not accepted") < page.index("at least one lead reviewer")
    assert page.index("at least one lead reviewer") < page.index("**Deciding:**")
    follow_up = [m for m in case.smtp.received if "Answer not accepted" in m.subject]
    assert [m.subject for m in follow_up] == [
        f"[{case.reference}] Answer not accepted: Chair's decision"
    ]
    body = follow_up[0].part("text/plain")
    assert body.index("at least one lead reviewer") < body.index("Decide whether")
    driver.resume(run_id, answer("chair_decision", "full", case.clock.now().date()))
    assert driver.execute(run_id) == "Suspended"
    with case.rt.sessions() as session:
        assert store.get_review(session, case.reference).waiting_at == "reviewer_appointment"
