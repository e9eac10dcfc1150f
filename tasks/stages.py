"""One task per stage of the flowchart (PROCESS.md stages 1-12).

Each task opens one transaction for its records and the messages it queues, so a stage's
records and its messages are stored together or not at all; then it delivers. Every record is
keyed (decision kind, event name, obligation key, message key, stage key), so a replay after a
resume, a retry or a restarted process repeats nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_reviews.runtime import runtime
from case_reviews.timelines import combined_timeline, portal_link
from flows.inputs import (
    ActionPlanSignedOff,
    ChairDecision,
    CommitteeRecommendation,
    FinalReportApproved,
    LearningEventHeld,
    PublicationDecision,
    RecallSessionHeld,
    ReviewClosed,
    ReviewerAppointment,
    TimelinesComplete,
)
from models import store
from models.orm import (
    Agency,
    Board,
    Obligation,
    ObligationStatus,
    Referral,
    Review,
    ReviewStatus,
)
from tasks.common import CaseSummary, case_summary, complete_stage, deliver, queue_email
from tasks.gates import earliest_publication
from tasks.timeline_merge import to_markdown

OUTCOME_TITLES = {
    "full_review": "a statutory case review will be initiated",
    "critical_incident_review": "a critical incident review (the statutory criteria are not met)",
    "individual_agency_review": "an individual agency review",
    "no_review": "no review",
}
NEXT_STEPS = {
    "full_review": "Lead reviewers will be appointed and each involved agency will be asked for a "
    "timeline of significant events.",
    "critical_incident_review": "The board will run a critical incident review: agencies will be "
    "asked for timelines and a learning event will follow.",
    "individual_agency_review": "The agency concerned will review its own involvement by the "
    "method the committee sets and report back to the board.",
    "no_review": "The case is closed for review purposes; it may be taken to a multi-agency "
    "professional forum.",
}


class StageResult(BaseModel):
    reference: str
    stage: str
    messages_queued: int = 0
    note: str = ""


def milestone_due(session: Session, review: Review, *milestones: str) -> date | None:
    """The due date of the first of ``milestones`` the recorded events give.

    Read from the events (which never change once recorded), not from open obligations (which
    a later stage closes), so a replayed task computes what it computed the first time.
    """
    due = {d.milestone: d.due for d in store.review_deadlines(session, review, runtime().deadlines)}
    return next((due[m] for m in milestones if m in due), None)


def required_due(session: Session, review: Review, milestone: str) -> date:
    """Like :func:`milestone_due` for a milestone the stage's own event has just started."""
    due = milestone_due(session, review, milestone)
    if due is None:
        raise LookupError(f"{review.reference}: no {milestone} deadline; is its event recorded?")
    return due


def _owe_per_agency(
    session: Session,
    review: Review,
    *,
    key: str,
    milestone: str,
    description: str,
    owed_to: str,
    due: date,
    now: datetime,
) -> list[Agency]:
    """Open one obligation per involved agency (keyed ``{reference}:{key}:{agency}``, so a
    replay opens none twice); returns the agencies."""
    agencies = store.involved_agencies(session, review.id)
    for agency in agencies:
        store.upsert_obligation(
            session,
            key=f"{review.reference}:{key}:{agency.name}",
            review_id=review.id,
            milestone=milestone,
            description=description,
            owed_by=agency.name,
            agency_id=agency.id,
            owed_to=owed_to,
            due_on=due,
            now=now,
        )
    return agencies


def _log(reference: str, message: str) -> None:
    get_run_logger().info("%s: %s", reference, message)


@task
def referral_intake(reference: str) -> CaseSummary:
    """Acknowledge the referral to the referrer (once) and hand the flow the pseudonymised case."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        referral = session.scalars(select(Referral).where(Referral.review_id == review.id)).one()
        decision_due = milestone_due(session, review, "chair_decision", "rapid_review")
        queue_email(
            session,
            rt,
            review,
            kind="referral_acknowledgement",
            recipient=referral.referrer_email,
            key="referral_acknowledgement",
            decision_due=decision_due,
        )
        complete_stage(session, rt, review, "referral_intake")
        case = case_summary(session, rt, review)
        review_id = review.id
    deliver(rt, review_id)
    _log(reference, f"referral of {case.pseudonym} acknowledged")
    return case


@task
def committee_recommendation(reference: str, answer: CommitteeRecommendation) -> StageResult:
    """Record the committee's recommendation (once)."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_decision(
            session,
            review_id=review.id,
            kind="committee_recommendation",
            outcome=answer.recommendation,
            methodology=answer.methodology,
            rationale=answer.rationale,
            decided_by=answer.recommended_by,
            decided_at=rt.now(),
        )
        complete_stage(session, rt, review, "committee_recommendation")
    return StageResult(reference=reference, stage="committee_recommendation")


@task
def chair_decision(reference: str, answer: ChairDecision) -> StageResult:
    """Record the chair's decision and its date (starting the decision clocks), meet the
    decision deadline, and send the referrer written feedback with the rationale (once)."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_decision(
            session,
            review_id=review.id,
            kind="chair_decision",
            outcome=answer.decision,
            methodology=answer.methodology,
            rationale=answer.rationale,
            lead_reviewers=answer.lead_reviewers,
            decided_by=answer.decided_by,
            decided_at=rt.now(),
        )
        review.outcome = answer.decision
        store.record_event(session, review_id=review.id, name="decision", on_date=answer.decided_on)
        for milestone in ("chair_decision", "rapid_review"):
            store.meet_obligation(
                session, key=f"{reference}:{milestone}", on_date=answer.decided_on
            )
        if answer.decision in {
            "full_review",
            "critical_incident_review",
            "individual_agency_review",
        }:
            store.open_obligations_from_deadlines(
                session, review=review, deadlines=rt.deadlines, now=rt.now()
            )
        else:
            # Only the panel notification still stands for a "no review" decision.
            for obligation in store.open_obligations_from_deadlines(
                session, review=review, deadlines=rt.deadlines, now=rt.now()
            ):
                if obligation.milestone != "panel_notification":
                    obligation.status = ObligationStatus.WAIVED
                    obligation.note = "no review"
        referral = session.scalars(select(Referral).where(Referral.review_id == review.id)).one()
        queue_email(
            session,
            rt,
            review,
            kind="decision_feedback",
            recipient=referral.referrer_email,
            key="decision_feedback",
            outcome_title=OUTCOME_TITLES[answer.decision],
            rationale=answer.rationale,
            next_steps=NEXT_STEPS[answer.decision],
        )
        complete_stage(session, rt, review, "chair_decision", {"decision": answer.decision})
        review_id = review.id
    deliver(rt, review_id)
    _log(reference, f"chair decided: {answer.decision}")
    return StageResult(reference=reference, stage="chair_decision", note=answer.decision)


@task
def panel_notification(reference: str, case: CaseSummary, answer: ChairDecision) -> StageResult:
    """Tell the national panel of the decision (with reviewer names, or the justification for
    not initiating) where the regime has a panel; meet the notification deadline (once)."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        if not case.has_panel_notification:
            complete_stage(session, rt, review, "panel_notification", {"skipped": "no panel rule"})
            return StageResult(
                reference=reference, stage="panel_notification", note="regime has no panel"
            )
        board = session.get_one(Board, review.board_id)
        queue_email(
            session,
            rt,
            review,
            kind="panel_notification",
            recipient=board.national_panel_email,
            key="panel_notification",
            outcome_title=OUTCOME_TITLES[answer.decision],
            decided_on=answer.decided_on,
            initiating=answer.decision == "full_review",
            lead_reviewers=answer.lead_reviewers,
            methodology=answer.methodology or "to be confirmed",
            rationale=answer.rationale,
            summary=case.summary.strip(),
        )
        store.record_event(session, review_id=review.id, name="panel_notified", on_date=rt.today())
        store.meet_obligation(session, key=f"{reference}:panel_notification", on_date=rt.today())
        complete_stage(session, rt, review, "panel_notification")
        review_id = review.id
    deliver(rt, review_id)
    return StageResult(reference=reference, stage="panel_notification", messages_queued=1)


@task
def reviewer_appointment(reference: str, answer: ReviewerAppointment) -> StageResult:
    """Record the appointed lead reviewer(s) and the independence confirmation (once)."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_event(
            session, review_id=review.id, name="reviewers_appointed", on_date=rt.today()
        )
        complete_stage(
            session,
            rt,
            review,
            "reviewer_appointment",
            {"lead_reviewers": answer.lead_reviewers, "independent": answer.independence_confirmed},
        )
    return StageResult(reference=reference, stage="reviewer_appointment")


@task
def timeline_requests(reference: str) -> StageResult:
    """Ask each involved agency for its timeline of significant events, with its own deadline
    (the board's ``timeline_return`` rule) and an obligation the reminders will chase (once)."""
    rt = runtime()
    queued = 0
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_event(
            session, review_id=review.id, name="timelines_requested", on_date=rt.today()
        )
        due = required_due(session, review, "timeline_return")
        board = session.get_one(Board, review.board_id)
        for agency in _owe_per_agency(
            session,
            review,
            key="timeline",
            milestone="timeline_return",
            description="timeline of significant events",
            owed_to="business manager",
            due=due,
            now=rt.now(),
        ):
            recipient = agency.contact_email or board.business_manager_email
            how = (
                "open your agency's own link below: it shows this request, a template to "
                "download, and lets you upload the file or type the events in. You can replace "
                "your submission until the deadline. The link is for your agency only."
                if agency.contact_email
                else f"(no contact email is recorded for {agency.name}: please forward this "
                "request and link to the agency and record a contact.)"
            )
            queued += queue_email(
                session,
                rt,
                review,
                kind="timeline_request",
                recipient=recipient,
                key=f"timeline_request:{agency.name}",
                agency_name=agency.name,
                due=due,
                submit_how=how,
                submit_url=portal_link(rt, reference, agency.id, due),
            )
        complete_stage(session, rt, review, "timeline_requests", {"due": due.isoformat()})
        review_id = review.id
    deliver(rt, review_id)
    return StageResult(reference=reference, stage="timeline_requests", messages_queued=queued)


@task
def timelines_merged(reference: str, answer: TimelinesComplete) -> StageResult:
    """Close each agency's timeline obligation (met, or waived with the audited reason), combine
    the agencies' newest timelines and attach the combined timeline (pseudonymised) to the run
    as a markdown artifact for the chair and the learning event (once per review)."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        for obligation in session.scalars(
            select(Obligation).where(
                Obligation.review_id == review.id,
                Obligation.milestone == "timeline_return",
                Obligation.status == ObligationStatus.OPEN,
            )
        ):
            if obligation.owed_by in answer.proceed_without:
                obligation.status = ObligationStatus.WAIVED
                obligation.note = answer.reason
                store.record_audit(
                    session,
                    review_id=review.id,
                    actor=answer.recorded_by,
                    action="timeline_waived",
                    detail={"agency": obligation.owed_by, "reason": answer.reason},
                    at=rt.now(),
                    key=f"{reference}:timeline_waived:{obligation.owed_by}",
                )
            else:
                obligation.status = ObligationStatus.MET
                obligation.met_on = rt.today()
        store.record_event(
            session, review_id=review.id, name="timelines_merged", on_date=rt.today()
        )
        combined = combined_timeline(session, review)
        complete_stage(
            session,
            rt,
            review,
            "timelines_merged",
            {"agencies_submitted": len(combined.agencies), "events": len(combined.entries)},
        )
    create_markdown_artifact(
        markdown=to_markdown(combined),
        # Artifact keys allow lowercase letters, digits and dashes; the same key each replay
        # makes a new version of one artifact rather than a new artifact.
        key=f"{reference.lower()}-combined-timeline",
        description=f"Combined timeline of significant events, {reference}",
    )
    return StageResult(
        reference=reference,
        stage="timelines_merged",
        note=f"{len(combined.agencies)} agencies, {len(combined.entries)} events",
    )


def _invite(reference: str, event: str, title: str, on: date, purpose: str) -> int:
    rt = runtime()
    queued = 0
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        board = session.get_one(Board, review.board_id)
        for agency in store.involved_agencies(session, review.id):
            queued += queue_email(
                session,
                rt,
                review,
                kind="event_invitation",
                recipient=agency.contact_email or board.business_manager_email,
                key=f"invitation:{event}:{agency.name}",
                agency_name=agency.name,
                event_title=title,
                event_date=on,
                purpose=purpose,
            )
        review_id = review.id
    deliver(rt, review_id)
    return queued


@task
def learning_event_invitations(reference: str, on: date) -> int:
    """Invite each involved agency's practitioners to the learning event (once)."""
    return _invite(
        reference,
        "learning_event",
        "Learning event",
        on,
        "Practitioners who worked with the family analyse the combined timeline with the lead "
        "reviewers and identify key learning and good practice.",
    )


def _held(reference: str, stage: str, held_on: date) -> StageResult:
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_event(session, review_id=review.id, name=stage, on_date=held_on)
        complete_stage(session, rt, review, stage)
    return StageResult(reference=reference, stage=stage)


@task
def learning_event(reference: str, answer: LearningEventHeld) -> StageResult:
    """Record the day the learning event was held (once); its findings are in the gate's
    audited answer."""
    return _held(reference, "learning_event", answer.held_on)


@task
def recall_session_invitations(reference: str, on: date) -> int:
    """Invite the practitioners back to the recall session (once)."""
    return _invite(
        reference,
        "recall_session",
        "Recall session",
        on,
        "Practitioners reconvene to test and correct the draft findings.",
    )


@task
def recall_session(reference: str, answer: RecallSessionHeld) -> StageResult:
    """Record the day the recall session was held (once)."""
    return _held(reference, "recall_session", answer.held_on)


@task
def final_report(reference: str, answer: FinalReportApproved) -> StageResult:
    """Record the approved report (starting the four-week sign-off clock), close the completion
    target, and ask each agency to sign off the action plan (once)."""
    rt = runtime()
    queued = 0
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_event(
            session, review_id=review.id, name="final_report", on_date=answer.approved_on
        )
        store.meet_obligation(
            session, key=f"{reference}:review_completion", on_date=answer.approved_on
        )
        store.open_obligations_from_deadlines(
            session, review=review, deadlines=rt.deadlines, now=rt.now()
        )
        due = required_due(session, review, "action_plan_signoff")
        board = session.get_one(Board, review.board_id)
        for agency in _owe_per_agency(
            session,
            review,
            key="signoff",
            milestone="action_plan_signoff",
            description="action plan sign-off",
            owed_to="board",
            due=due,
            now=rt.now(),
        ):
            queued += queue_email(
                session,
                rt,
                review,
                kind="signoff_request",
                recipient=agency.contact_email or board.business_manager_email,
                key=f"signoff_request:{agency.name}",
                agency_name=agency.name,
                report_on=answer.approved_on,
                due=due,
            )
        complete_stage(
            session, rt, review, "final_report", {"recommendations": answer.recommendations}
        )
        review_id = review.id
    deliver(rt, review_id)
    return StageResult(reference=reference, stage="final_report", messages_queued=queued)


@task
def action_plan_signoff(reference: str, answer: ActionPlanSignedOff) -> StageResult:
    """Record sign-off (or the chair's override and its reason) and open the quarterly
    progress obligations for each agency (once)."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_event(
            session,
            review_id=review.id,
            name="action_plan_signed_off",
            on_date=answer.signed_off_on,
        )
        note = f"chair override: {answer.override_reason}" if answer.chair_override else ""
        for obligation in session.scalars(
            select(Obligation).where(
                Obligation.review_id == review.id, Obligation.milestone == "action_plan_signoff"
            )
        ):
            store.meet_obligation(
                session, key=obligation.key, on_date=answer.signed_off_on, note=note
            )
        first = required_due(session, review, "action_progress")
        _owe_per_agency(
            session,
            review,
            key="progress-1",
            milestone="action_progress",
            description="quarterly action plan progress report",
            owed_to="performance committee",
            due=first,
            now=rt.now(),
        )
        complete_stage(
            session, rt, review, "action_plan_signoff", {"chair_override": answer.chair_override}
        )
    return StageResult(reference=reference, stage="action_plan_signoff")


@task
def panel_copy(reference: str, case: CaseSummary) -> StageResult:
    """Send the national panel its copy of the report (once) and record when it went; the
    publication gate refuses a date earlier than the panel-copy rule allows."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        if not case.has_panel_copy:
            complete_stage(session, rt, review, "panel_copy", {"skipped": "no panel-copy rule"})
            return StageResult(reference=reference, stage="panel_copy", note="no panel copy rule")
        board = session.get_one(Board, review.board_id)
        store.record_event(session, review_id=review.id, name="panel_copy_sent", on_date=rt.today())
        sent_on = store.review_events(session, review.id)["panel_copy_sent"]
        queue_email(
            session,
            rt,
            review,
            kind="panel_copy",
            recipient=board.national_panel_email,
            key="panel_copy",
            publication_on=earliest_publication(rt.deadlines, case.regime, sent_on),
        )
        complete_stage(session, rt, review, "panel_copy", {"sent_on": sent_on.isoformat()})
        review_id = review.id
    deliver(rt, review_id)
    return StageResult(reference=reference, stage="panel_copy", messages_queued=1)


@task
def publication(reference: str, case: CaseSummary, answer: PublicationDecision) -> StageResult:
    """Record publication (and how long it stays up), or the decision not to publish; tell the
    national panel either way where the regime has one (once)."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        board = session.get_one(Board, review.board_id)
        published_until = None
        if answer.publish and answer.publication_on is not None:
            store.record_event(
                session, review_id=review.id, name="publication", on_date=answer.publication_on
            )
            published_until = milestone_due(session, review, "published_until")
        if case.has_panel_copy:
            queue_email(
                session,
                rt,
                review,
                kind="publication_decision",
                recipient=board.national_panel_email,
                key="publication_decision",
                published=answer.publish,
                publication_on=answer.publication_on,
                published_until=published_until,
                reasons=answer.reasons_not_to_publish,
            )
        complete_stage(session, rt, review, "publication", {"published": answer.publish})
        review_id = review.id
    deliver(rt, review_id)
    return StageResult(reference=reference, stage="publication")


@task
def monitoring(reference: str, answer: ReviewClosed) -> StageResult:
    """Close the review once every action is done; outstanding obligations are closed (once)."""
    return close_review.fn(reference, f"closed: {answer.impact_summary}", stage="monitoring")


@task
def close_review(reference: str, note: str, stage: str | None = None) -> StageResult:
    """Mark the review closed and close what it still owes (once)."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        for obligation in store.open_obligations(session, review.id):
            obligation.status = ObligationStatus.WAIVED
            obligation.note = "review closed"
        review.status = ReviewStatus.CLOSED
        review.waiting_at = None
        review.stage = "closed"
        if stage is not None:
            complete_stage(session, rt, review, stage)
        store.record_audit(
            session,
            review_id=review.id,
            actor="case-reviews",
            action="review_closed",
            detail={"note": note},
            at=rt.now(),
            key=f"{reference}:closed",
        )
    return StageResult(reference=reference, stage="closed", note=note)
