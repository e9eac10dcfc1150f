"""One task per stage of the flowchart, from referral intake to monitoring.

Each task works inside :func:`tasks.context.review_step`: one transaction for its records and
the messages it queues, so a stage's records and its messages are stored together or not at
all; then it delivers. Every record is keyed (decision kind, event name, obligation key, message
key, stage key), so a replay after a resume, a retry or a restarted process repeats nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.names import AgencyDuty, Stage, obligation_key, review_key
from models import answers, store
from models.orm import Agency, ObligationStatus, Review, ReviewStatus
from notifications.exports import to_markdown
from services.links import portal_link
from services.runtime import runtime
from tasks.common import CaseSummary, case_summary
from tasks.context import Step, review_step
from tasks.gates import earliest_publication

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
    stage: Stage
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


def _ask_each_agency(
    step: Step,
    *,
    duty: AgencyDuty,
    milestone: str,
    description: str,
    owed_to: str,
    due: date,
    kind: str,
    per_agency: Callable[[Agency], dict[str, Any]] = lambda _agency: {},
    **context: Any,
) -> int:
    """Open one obligation per involved agency (keyed by review, duty and agency) and send each
    its ``kind`` request (keyed by kind and agency), so a replay does neither twice. An agency
    with no contact email is written to through the business manager. Returns messages queued."""
    fallback = step.board.business_manager_email
    queued = 0
    for agency in store.owe_per_agency(
        step.session,
        review=step.review,
        duty=duty,
        milestone=milestone,
        description=description,
        owed_to=owed_to,
        due_on=due,
        now=step.rt.now(),
    ):
        queued += step.email(
            kind,
            recipient=agency.contact_email or fallback,
            key=f"{kind}:{agency.name}",
            agency_name=agency.name,
            due=due,
            **context,
            **per_agency(agency),
        )
    return queued


def _log(reference: str, message: str) -> None:
    get_run_logger().info("%s: %s", reference, message)


@task
def referral_intake(reference: str) -> CaseSummary:
    """Acknowledge the referral to the referrer (once) and hand the flow the pseudonymised case."""
    with review_step(reference) as step:
        referral = store.get_referral(step.session, step.review.id)
        step.email(
            "referral_acknowledgement",
            recipient=referral.referrer_email,
            key="referral_acknowledgement",
            decision_due=milestone_due(step.session, step.review, "chair_decision", "rapid_review"),
        )
        step.complete(Stage.REFERRAL_INTAKE)
        case = case_summary(step.session, step.rt, step.review)
    _log(reference, f"referral of {case.pseudonym} acknowledged")
    return case


@task
def committee_recommendation(
    reference: str, answer: answers.CommitteeRecommendation
) -> StageResult:
    """Record the committee's recommendation (once)."""
    with review_step(reference) as step:
        store.record_decision(
            step.session,
            review_id=step.review.id,
            kind="committee_recommendation",
            outcome=answer.recommendation,
            methodology=answer.methodology,
            rationale=answer.rationale,
            decided_by=answer.recommended_by,
            decided_at=step.rt.now(),
        )
        step.complete(Stage.COMMITTEE_RECOMMENDATION)
    return StageResult(reference=reference, stage=Stage.COMMITTEE_RECOMMENDATION)


@task
def chair_decision(reference: str, answer: answers.ChairDecision) -> StageResult:
    """Record the chair's decision and its date (starting the decision clocks), meet the
    decision deadline, and send the referrer written feedback with the rationale (once)."""
    with review_step(reference) as step:
        rt, session, review = step.rt, step.session, step.review
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
                session, key=obligation_key(reference, milestone), on_date=answer.decided_on
            )
        opened = store.open_obligations_from_deadlines(
            session, review=review, deadlines=rt.deadlines, now=rt.now()
        )
        if answer.decision == "no_review":
            # Only the panel notification still stands for a "no review" decision.
            for obligation in opened:
                if obligation.milestone != "panel_notification":
                    obligation.status = ObligationStatus.WAIVED
                    obligation.note = "no review"
        step.email(
            "decision_feedback",
            recipient=store.get_referral(session, review.id).referrer_email,
            key="decision_feedback",
            outcome_title=OUTCOME_TITLES[answer.decision],
            rationale=answer.rationale,
            next_steps=NEXT_STEPS[answer.decision],
        )
        step.complete(Stage.CHAIR_DECISION, {"decision": answer.decision})
    _log(reference, f"chair decided: {answer.decision}")
    return StageResult(reference=reference, stage=Stage.CHAIR_DECISION, note=answer.decision)


@task
def panel_notification(
    reference: str, case: CaseSummary, answer: answers.ChairDecision
) -> StageResult:
    """Tell the national panel of the decision (with reviewer names, or the justification for
    not initiating) where the regime has a panel; meet the notification deadline (once)."""
    with review_step(reference) as step:
        if not case.has_panel_notification:
            step.complete(Stage.PANEL_NOTIFICATION, {"skipped": "no panel rule"})
            return StageResult(
                reference=reference, stage=Stage.PANEL_NOTIFICATION, note="regime has no panel"
            )
        step.email(
            "panel_notification",
            recipient=step.board.national_panel_email,
            key="panel_notification",
            outcome_title=OUTCOME_TITLES[answer.decision],
            decided_on=answer.decided_on,
            initiating=answer.decision == "full_review",
            lead_reviewers=answer.lead_reviewers,
            methodology=answer.methodology or "to be confirmed",
            rationale=answer.rationale,
            summary=case.summary.strip(),
        )
        store.record_event(
            step.session, review_id=step.review.id, name="panel_notified", on_date=step.today()
        )
        if step.rt.deadlines.pack(case.regime).rule("panel_notification").owed_by == "board":
            # Otherwise (an LCSPR) the deadline is the local authority's own notification,
            # recorded when it is sent; this letter is the partners' decision.
            store.meet_obligation(
                step.session,
                key=obligation_key(reference, "panel_notification"),
                on_date=step.today(),
            )
        step.complete(Stage.PANEL_NOTIFICATION)
    return StageResult(reference=reference, stage=Stage.PANEL_NOTIFICATION, messages_queued=1)


@task
def reviewer_appointment(reference: str, answer: answers.ReviewerAppointment) -> StageResult:
    """Record the appointed lead reviewer(s) and the independence confirmation (once)."""
    with review_step(reference) as step:
        store.record_event(
            step.session, review_id=step.review.id, name="reviewers_appointed", on_date=step.today()
        )
        step.complete(
            Stage.REVIEWER_APPOINTMENT,
            {"lead_reviewers": answer.lead_reviewers, "independent": answer.independence_confirmed},
        )
    return StageResult(reference=reference, stage=Stage.REVIEWER_APPOINTMENT)


@task
def timeline_requests(reference: str) -> StageResult:
    """Ask each involved agency for its timeline of significant events, with its own deadline
    (the board's ``timeline_return`` rule) and an obligation the reminders will chase (once)."""
    with review_step(reference) as step:
        store.record_event(
            step.session, review_id=step.review.id, name="timelines_requested", on_date=step.today()
        )
        due = required_due(step.session, step.review, "timeline_return")

        def how_to_submit(agency: Agency) -> dict[str, Any]:
            how = (
                "open your agency's own link below: it shows this request, a template to "
                "download, and lets you upload the file or type the events in. You can replace "
                "your submission until the deadline. The link is for your agency only."
                if agency.contact_email
                else f"(no contact email is recorded for {agency.name}: please forward this "
                "request and link to the agency and record a contact.)"
            )
            return {
                "submit_how": how,
                "submit_url": portal_link(step.rt, reference, agency.id, due),
            }

        queued = _ask_each_agency(
            step,
            duty=AgencyDuty.TIMELINE,
            milestone="timeline_return",
            description="timeline of significant events",
            owed_to="business manager",
            due=due,
            kind="timeline_request",
            per_agency=how_to_submit,
        )
        step.complete(Stage.TIMELINE_REQUESTS, {"due": due.isoformat()})
    return StageResult(reference=reference, stage=Stage.TIMELINE_REQUESTS, messages_queued=queued)


@task
def timelines_merged(reference: str, answer: answers.TimelinesComplete) -> StageResult:
    """Close each agency's timeline obligation (met, or waived with the audited reason), combine
    the agencies' newest timelines and attach the combined timeline (pseudonymised) to the run
    as a markdown artifact for the chair and the learning event (once per review)."""
    with review_step(reference) as step:
        for obligation in store.open_obligations(
            step.session, step.review.id, milestone="timeline_return"
        ):
            if obligation.owed_by in answer.proceed_without:
                obligation.status = ObligationStatus.WAIVED
                obligation.note = answer.reason
                step.audit(
                    "timeline_waived",
                    {"agency": obligation.owed_by, "reason": answer.reason},
                    actor=answer.recorded_by,
                    key=review_key(reference, f"timeline_waived:{obligation.owed_by}"),
                )
            else:
                obligation.status = ObligationStatus.MET
                obligation.met_on = step.today()
        store.record_event(
            step.session, review_id=step.review.id, name="timelines_merged", on_date=step.today()
        )
        combined = store.combined_timeline(step.session, step.review)
        step.complete(
            Stage.TIMELINES_MERGED,
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
        stage=Stage.TIMELINES_MERGED,
        note=f"{len(combined.agencies)} agencies, {len(combined.entries)} events",
    )


def _invite(reference: str, event: Stage, title: str, on: date, purpose: str) -> int:
    queued = 0
    with review_step(reference) as step:
        fallback = step.board.business_manager_email
        for agency in store.involved_agencies(step.session, step.review.id):
            queued += step.email(
                "event_invitation",
                recipient=agency.contact_email or fallback,
                key=f"invitation:{event}:{agency.name}",
                agency_name=agency.name,
                event_title=title,
                event_date=on,
                purpose=purpose,
            )
    return queued


@task
def learning_event_invitations(reference: str, on: date) -> int:
    """Invite each involved agency's practitioners to the learning event (once)."""
    return _invite(
        reference,
        Stage.LEARNING_EVENT,
        "Learning event",
        on,
        "Practitioners who worked with the family analyse the combined timeline with the lead "
        "reviewers and identify key learning and good practice.",
    )


def _held(reference: str, stage: Stage, held_on: date) -> StageResult:
    with review_step(reference) as step:
        store.record_event(step.session, review_id=step.review.id, name=stage, on_date=held_on)
        step.complete(stage)
    return StageResult(reference=reference, stage=stage)


@task
def learning_event(reference: str, answer: answers.LearningEventHeld) -> StageResult:
    """Record the day the learning event was held (once); its findings are in the gate's
    audited answer."""
    return _held(reference, Stage.LEARNING_EVENT, answer.held_on)


@task
def recall_session_invitations(reference: str, on: date) -> int:
    """Invite the practitioners back to the recall session (once)."""
    return _invite(
        reference,
        Stage.RECALL_SESSION,
        "Recall session",
        on,
        "Practitioners reconvene to test and correct the draft findings.",
    )


@task
def recall_session(reference: str, answer: answers.RecallSessionHeld) -> StageResult:
    """Record the day the recall session was held (once)."""
    return _held(reference, Stage.RECALL_SESSION, answer.held_on)


@task
def final_report(reference: str, answer: answers.FinalReportApproved) -> StageResult:
    """Record the approved report (starting the four-week sign-off clock), close the completion
    target, and ask each agency to sign off the action plan (once)."""
    with review_step(reference) as step:
        rt, session, review = step.rt, step.session, step.review
        store.record_event(
            session, review_id=review.id, name="final_report", on_date=answer.approved_on
        )
        store.meet_obligation(
            session, key=obligation_key(reference, "review_completion"), on_date=answer.approved_on
        )
        store.open_obligations_from_deadlines(
            session, review=review, deadlines=rt.deadlines, now=rt.now()
        )
        queued = _ask_each_agency(
            step,
            duty=AgencyDuty.SIGNOFF,
            milestone="action_plan_signoff",
            description="action plan sign-off",
            owed_to="board",
            due=required_due(session, review, "action_plan_signoff"),
            kind="signoff_request",
            report_on=answer.approved_on,
        )
        step.complete(Stage.FINAL_REPORT, {"recommendations": answer.recommendations})
    return StageResult(reference=reference, stage=Stage.FINAL_REPORT, messages_queued=queued)


@task
def action_plan_signoff(reference: str, answer: answers.ActionPlanSignedOff) -> StageResult:
    """Record sign-off (or the chair's override and its reason) and open the quarterly
    progress obligations for each agency (once)."""
    with review_step(reference) as step:
        session, review = step.session, step.review
        store.record_event(
            session,
            review_id=review.id,
            name="action_plan_signed_off",
            on_date=answer.signed_off_on,
        )
        note = f"chair override: {answer.override_reason}" if answer.chair_override else ""
        for obligation in store.obligations(session, review.id, milestone="action_plan_signoff"):
            store.meet_obligation(
                session, key=obligation.key, on_date=answer.signed_off_on, note=note
            )
        store.owe_per_agency(
            session,
            review=review,
            duty=AgencyDuty.PROGRESS,
            milestone="action_progress",
            description="quarterly action plan progress report",
            owed_to="performance committee",
            due_on=required_due(session, review, "action_progress"),
            now=step.rt.now(),
        )
        step.complete(Stage.ACTION_PLAN_SIGNOFF, {"chair_override": answer.chair_override})
    return StageResult(reference=reference, stage=Stage.ACTION_PLAN_SIGNOFF)


@task
def panel_copy(reference: str, case: CaseSummary) -> StageResult:
    """Send the national panel its copy of the report (once) and record when it went; the
    publication gate refuses a date earlier than the panel-copy rule allows."""
    with review_step(reference) as step:
        if not case.has_panel_copy:
            step.complete(Stage.PANEL_COPY, {"skipped": "no panel-copy rule"})
            return StageResult(
                reference=reference, stage=Stage.PANEL_COPY, note="no panel copy rule"
            )
        session, review = step.session, step.review
        store.record_event(
            session, review_id=review.id, name="panel_copy_sent", on_date=step.today()
        )
        sent_on = store.review_events(session, review.id)["panel_copy_sent"]
        step.email(
            "panel_copy",
            recipient=step.board.national_panel_email,
            key="panel_copy",
            publication_on=earliest_publication(step.rt.deadlines, case.regime, sent_on),
        )
        step.complete(Stage.PANEL_COPY, {"sent_on": sent_on.isoformat()})
    return StageResult(reference=reference, stage=Stage.PANEL_COPY, messages_queued=1)


@task
def publication(
    reference: str, case: CaseSummary, answer: answers.PublicationDecision
) -> StageResult:
    """Record publication (and how long it stays up), or the decision not to publish; tell the
    national panel either way where the regime has one (once)."""
    with review_step(reference) as step:
        published_until = None
        if answer.publish and answer.publication_on is not None:
            store.record_event(
                step.session,
                review_id=step.review.id,
                name="publication",
                on_date=answer.publication_on,
            )
            published_until = milestone_due(step.session, step.review, "published_until")
        if case.has_panel_copy:
            step.email(
                "publication_decision",
                recipient=step.board.national_panel_email,
                key="publication_decision",
                published=answer.publish,
                publication_on=answer.publication_on,
                published_until=published_until,
                reasons=answer.reasons_not_to_publish,
            )
        step.complete(Stage.PUBLICATION, {"published": answer.publish})
    return StageResult(reference=reference, stage=Stage.PUBLICATION)


@task
def monitoring(reference: str, answer: answers.ReviewClosed) -> StageResult:
    """Close the review once every action is done; outstanding obligations are closed (once)."""
    return close_review.fn(reference, f"closed: {answer.impact_summary}", stage=Stage.MONITORING)


@task
def close_review(reference: str, note: str, stage: Stage | None = None) -> StageResult:
    """Mark the review closed and close what it still owes (once)."""
    with review_step(reference) as step:
        review = step.review
        for obligation in store.open_obligations(step.session, review.id):
            obligation.status = ObligationStatus.WAIVED
            obligation.note = "review closed"
        review.status = ReviewStatus.CLOSED
        review.waiting_at = None
        review.stage = Stage.CLOSED
        if stage is not None:
            step.complete(stage)
        step.audit(
            "review_closed",
            {"note": note},
            actor="case-reviews",
            key=review_key(reference, "closed"),
        )
    return StageResult(reference=reference, stage=Stage.CLOSED, note=note)
