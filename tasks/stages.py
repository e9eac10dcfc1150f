"""One task per stage of the flowchart, from referral intake to monitoring.

Each task works inside :func:`tasks.context.review_step`: one transaction for its records and
the messages it queues, so a stage's records and its messages are stored together or not at
all; then it delivers. Every record is keyed (decision kind, event name, obligation key, message
key, stage key), so a replay after a resume, a retry or a restarted process repeats nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, NamedTuple

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.methods import MethodStep, find_method, load_methods
from core.names import (
    AgencyDuty,
    DocumentKind,
    Stage,
    agency_obligation_key,
    obligation_key,
    review_key,
    stage_key,
)
from core.paths import review_path
from core.regime import ROLE_TITLES
from models import action_plan_store as plans
from models import answers, documents_store, store
from models.documents import DocumentView
from models.orm import Agency, ObligationStatus, Review, ReviewStatus
from notifications.exports import to_markdown
from services import documents
from services.action_plans import go_on_without, open_quarter
from services.links import LINK_GRACE, portal_link
from services.rapid_review import summary_link
from services.runtime import Runtime, runtime
from tasks.common import CaseSummary, case_summary
from tasks.context import Step, review_step
from tasks.gates import earliest_publication


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


# The flowchart's stages when a regime's pack names none: every stage but the LCSPR rapid
# review and the panel's response to it.
DEFAULT_STAGES = [
    s for s in Stage if s not in {Stage.RAPID_REVIEW, Stage.PANEL_RESPONSE, Stage.CLOSED}
]


def walks(step: Step, stage: Stage) -> bool:
    """Does the review's regime walk ``stage`` (its pack's ``stages``, or the default)?"""
    return stage in (step.rt.deadlines.pack(step.review.regime.value).stages or DEFAULT_STAGES)


def _forward_line(role: str) -> str:
    return (
        f"No address for {ROLE_TITLES[role]} is in the board file: please forward this "
        f"message and add it (addresses: {role})."
    )


def _tell(
    step: Step, roles: Sequence[str], kind: str, key: Callable[[str], str], **context: Any
) -> int:
    """Send ``kind`` to each recipient role at the board file's address (keyed by ``key(role)``);
    a role without an address goes to the business manager, with a line asking them to forward
    it and add the address. Returns the messages queued."""
    board = step.board
    queued = 0
    for role in roles:
        address = store.recipient_address(board, role)
        forward = "" if address else _forward_line(role)
        queued += step.email(
            kind,
            recipient=address or board.business_manager_email,
            key=key(role),
            addressee=ROLE_TITLES[role],
            forward=forward,
            **context,
        )
    return queued


@task
def regime_stages(reference: str) -> list[str]:
    """The stages the review's regime walks, in order, as its rule pack names them (or the
    full flowchart without the rapid review). Read from data, so the flow stays deterministic."""
    with review_step(reference) as step:
        stages = step.rt.deadlines.pack(step.review.regime.value).stages or DEFAULT_STAGES
    return [str(stage) for stage in stages]


class PortalRequest(NamedTuple):
    """A request each involved agency answers through its own portal link."""

    event: str  # recorded when the requests go
    milestone: str  # the rule that sets the due date
    description: str  # what the obligation is for
    page: str  # what the agency's page offers
    link: Callable[[Runtime, str, int, date], str]  # the agency's signed link


PORTAL_REQUESTS = {
    AgencyDuty.TIMELINE: PortalRequest(
        "timelines_requested",
        "timeline_return",
        "timeline of significant events",
        "it shows this request, a template to download, and lets you upload the file or type "
        "the events in. You can replace your submission until the deadline.",
        portal_link,
    ),
    AgencyDuty.RAPID_REVIEW_SUMMARY: PortalRequest(
        "summaries_requested",
        "agency_summary",
        "rapid review agency summary",
        "it shows this request and a short form.",
        summary_link,
    ),
}


def ask_through_portal(
    step: Step, duty: AgencyDuty, with_due: Callable[[date], dict[str, Any]] = lambda _: {}
) -> tuple[date, int]:
    """Record the request's event and ask each involved agency, by its milestone's date, for
    what ``duty`` owes the business manager, through its own portal link (keyed: a replay asks
    nobody twice), with what ``with_due`` adds for that date. Returns the due date and the
    messages queued."""
    request = PORTAL_REQUESTS[duty]
    session, review = step.session, step.review
    store.record_event(session, review_id=review.id, name=request.event, on_date=step.today())
    due = required_due(session, review, request.milestone)
    link = request.link
    how = through_portal(request.page, lambda a: link(step.rt, review.reference, a.id, due))
    queued = _ask_each_agency(
        step,
        duty=duty,
        milestone=request.milestone,
        description=request.description,
        owed_to="business manager",
        due=due,
        kind=f"{duty.value}_request",
        per_agency=how,
        **with_due(due),
    )
    return due, queued


def through_portal(page: str, link: Callable[[Agency], str]) -> Callable[[Agency], dict[str, Any]]:
    """Each agency's ``submit_how`` and ``submit_url`` for a request answered through its own
    portal link (``page`` says what the page offers); an agency with no contact email is asked
    through the business manager, who forwards it."""

    def how(agency: Agency) -> dict[str, Any]:
        text = (
            f"open your agency's own link below: {page} The link is for your agency only."
            if agency.contact_email
            else f"(no contact email is recorded for {agency.name}: please forward this "
            "request and link to the agency and record a contact.)"
        )
        return {"submit_how": text, "submit_url": link(agency)}

    return how


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
        pack = step.rt.deadlines.pack(step.review.regime.value)
        _tell(
            step,
            pack.recipients.referral,
            "referral_notice",
            lambda role: f"referral_notice:{role}",
            regime_title=pack.title,
            notified_on=referral.notified_on,
            next_step=(
                "the safeguarding partners hold a rapid review; each involved agency is asked "
                "for a short summary"
                if walks(step, Stage.RAPID_REVIEW)
                else "the review committee considers the referral against the criteria and "
                "recommends to the chair"
            ),
        )
        first_time = step.complete(Stage.REFERRAL_INTAKE)
        case = case_summary(step.session, step.rt, step.review)
    if first_time:  # not again on the replay after each resume
        _log(reference, f"referral of {case.pseudonym} acknowledged")
    return case


def record_recommendation(
    step: Step, outcome: str, rationale: str, by: str, methodology: str | None = None
) -> None:
    """Record the recommendation the chair's form shows (the committee's, or for an LCSPR the
    safeguarding partners' after the rapid review), once."""
    store.record_decision(
        step.session,
        review_id=step.review.id,
        kind="committee_recommendation",
        outcome=outcome,
        methodology=methodology,
        rationale=rationale,
        decided_by=by,
        decided_at=step.rt.now(),
    )


@task
def committee_recommendation(
    reference: str, answer: answers.CommitteeRecommendation
) -> StageResult:
    """Record the committee's recommendation (once)."""
    with review_step(reference) as step:
        record_recommendation(
            step, answer.recommendation, answer.rationale, answer.recommended_by, answer.methodology
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
        path = review_path(answer.decision)
        store.record_event(session, review_id=review.id, name="decision", on_date=answer.decided_on)
        if path.has("forum"):
            store.record_event(
                session, review_id=review.id, name="forum_agreed", on_date=answer.decided_on
            )
        # Where the regime holds a rapid review, its clock is met by the report to the panel.
        met = ["chair_decision"] + ([] if walks(step, Stage.RAPID_REVIEW) else ["rapid_review"])
        for milestone in met:
            store.meet_obligation(
                session, key=obligation_key(reference, milestone), on_date=answer.decided_on
            )
        opened = store.open_obligations_from_deadlines(
            session, review=review, deadlines=rt.deadlines, now=rt.now()
        )
        for obligation in opened:
            # A "no review" or a forum keeps only what the route still owes (the panel's
            # notification of the decision, the forum itself).
            if not path.keeps_milestone(obligation.milestone):
                obligation.status = ObligationStatus.WAIVED
                obligation.note = path.title
        step.email(
            "decision_feedback",
            recipient=store.get_referral(session, review.id).referrer_email,
            key="decision_feedback",
            outcome_title=path.title,
            rationale=answer.rationale,
            next_steps=path.next_steps,
        )
        step.complete(Stage.CHAIR_DECISION, {"decision": answer.decision})
    _log(reference, f"chair decided: {answer.decision}")
    return StageResult(reference=reference, stage=Stage.CHAIR_DECISION, note=answer.decision)


@task
def panel_notification(
    reference: str, case: CaseSummary, answer: answers.ChairDecision
) -> StageResult:
    """Tell the decision's recipients (the regime pack's ``recipients.decision``: the national
    panel, Ofsted and the DfE for an LCSPR, the Welsh Government for a Welsh review) with the
    reviewer names, or the justification for not initiating; meet the board's notification
    deadlines (once: each message keyed by role)."""
    with review_step(reference) as step:
        roles = step.rt.deadlines.pack(case.regime).recipients.decision or (
            ("national_panel",) if case.has_panel_notification else ()
        )
        if not roles:
            step.complete(Stage.PANEL_NOTIFICATION, {"skipped": "no panel rule"})
            return StageResult(
                reference=reference, stage=Stage.PANEL_NOTIFICATION, note="regime has no panel"
            )
        queued = _tell(
            step,
            roles,
            "panel_notification",
            lambda role: "panel_notification" if role == "national_panel" else f"decision:{role}",
            outcome_title=review_path(answer.decision).title,
            decided_on=answer.decided_on,
            initiating=review_path(answer.decision).statutory,
            lead_reviewers=answer.lead_reviewers,
            methodology=answer.methodology or "to be confirmed",
            rationale=answer.rationale,
            summary=case.summary.strip(),
        )
        if "welsh_government" in roles:
            store.meet_obligation(
                step.session,
                key=obligation_key(reference, "government_notification"),
                on_date=step.today(),
            )
        if "national_panel" not in roles:
            step.complete(Stage.PANEL_NOTIFICATION, {"told": list(roles)})
            return StageResult(
                reference=reference, stage=Stage.PANEL_NOTIFICATION, messages_queued=queued
            )
        store.record_event(
            step.session, review_id=step.review.id, name="panel_notified", on_date=step.today()
        )
        if (
            case.has_panel_notification
            and step.rt.deadlines.pack(case.regime).rule("panel_notification").owed_by == "board"
        ):
            # Otherwise (an LCSPR) the deadline is the local authority's own notification,
            # recorded when it is sent; this letter is the partners' decision.
            store.meet_obligation(
                step.session,
                key=obligation_key(reference, "panel_notification"),
                on_date=step.today(),
            )
        step.complete(Stage.PANEL_NOTIFICATION)
    return StageResult(reference=reference, stage=Stage.PANEL_NOTIFICATION, messages_queued=queued)


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
        tor = documents_store.newest_versions(step.session, step.review.id).get(
            DocumentKind.TERMS_OF_REFERENCE
        )

        def terms_of_reference(due: date) -> dict[str, Any]:
            # The terms of reference go with the request as a signed download link (until the
            # agency's own link expires); a review without them sends the request alone.
            url = None
            if tor is not None:
                until = due + LINK_GRACE
                kind = DocumentKind.TERMS_OF_REFERENCE
                url = documents.panel_copy_link(step.rt, reference, kind, tor, until)
            return {"tor_url": url}

        due, queued = ask_through_portal(step, AgencyDuty.TIMELINE, terms_of_reference)
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
                step.waive(obligation, "timeline_waived", answer.reason, actor=answer.recorded_by)
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


@task
def method_steps(reference: str, methodology: str | None) -> list[MethodStep]:
    """The events the chosen method walks (``core/methods``, the board's own methods too).

    The steps are recorded the first time (keyed), and a replay reads them back, so a board
    editing its method files does not change the events of a review already under way."""
    key = review_key(reference, "method_steps")
    with review_step(reference) as step:
        recorded = store.audit_detail(step.session, key)
        if recorded is None:
            method = find_method(load_methods(step.rt.settings.rules_dir), methodology or "silp")
            recorded = {
                "method": method.method,
                "steps": [s.model_dump() for s in method.steps],
            }
            step.audit("method_chosen", recorded, actor="case-reviews", key=key)
    steps = [MethodStep.model_validate(s) for s in recorded["steps"]]
    _log(reference, f"method {recorded['method']}: {', '.join(s.name for s in steps)}")
    return steps


@task
def event_invitations(reference: str, event: MethodStep, arranged: answers.EventArranged) -> int:
    """Once the business manager has confirmed the event, invite each involved agency's
    practitioners with its date, time, venue and the contact to reply to (once per agency)."""
    queued = 0
    with review_step(reference) as step:
        store.record_event(
            step.session,
            review_id=step.review.id,
            name=f"{event.name}_arranged",
            on_date=arranged.on,
        )
        fallback = step.board.business_manager_email
        for agency in store.involved_agencies(step.session, step.review.id):
            queued += step.email(
                "event_invitation",
                recipient=agency.contact_email or fallback,
                key=f"invitation:{event.name}:{agency.name}",
                agency_name=agency.name,
                event=event,
                arranged=arranged,
            )
    return queued


@task
def event_held(reference: str, event: str, held_on: date, attendees: list[str]) -> StageResult:
    """Record the day a method's event (or a forum) was held (once); what it found is in the
    gate's audited answer."""
    with review_step(reference) as step:
        store.record_event(step.session, review_id=step.review.id, name=event, on_date=held_on)
        if event == Stage.PROFESSIONAL_FORUM:
            store.meet_obligation(
                step.session, key=obligation_key(reference, "professional_forum"), on_date=held_on
            )
        step.complete(event, {"attendees": attendees})
    return StageResult(reference=reference, stage=event)


@task
def agency_review_request(reference: str, answer: answers.ChairDecision) -> StageResult:
    """Ask the one agency under review for its own review report (not a timeline), by the
    method the committee set and saying how its learning will be shared; open its obligation
    (keyed by review, duty and agency) so the reminders chase that agency only (once)."""
    with review_step(reference) as step:
        session, review = step.session, step.review
        agency = store.find_agency(session, review.board_id, answer.agency_under_review or "")
        if agency is None:
            raise LookupError(f"{reference}: no agency {answer.agency_under_review!r}")
        store.record_event(
            session, review_id=review.id, name="agency_review_requested", on_date=step.today()
        )
        due = required_due(session, review, "agency_review_report")
        store.upsert_obligation(
            session,
            key=agency_obligation_key(reference, AgencyDuty.AGENCY_REVIEW, agency.name),
            review_id=review.id,
            milestone="agency_review_report",
            description="individual agency review report",
            owed_by=agency.name,
            agency_id=agency.id,
            owed_to="business manager",
            due_on=due,
            now=step.rt.now(),
        )
        step.email(
            "agency_review_request",
            recipient=agency.contact_email or step.board.business_manager_email,
            key=f"agency_review_request:{agency.name}",
            agency_name=agency.name,
            due=due,
            methodology=answer.methodology or "as the committee sets",
            learning_shared_how=answer.learning_shared_how,
            reply_to=step.board.business_manager_email,
        )
        step.complete(Stage.AGENCY_REVIEW_REQUEST, {"agency": agency.name, "due": due.isoformat()})
    return StageResult(reference=reference, stage=Stage.AGENCY_REVIEW_REQUEST, messages_queued=1)


@task
def agency_review_received(reference: str, answer: answers.AgencyReviewReceived) -> StageResult:
    """Record the agency's review report (meeting its obligation and the completion target)
    and how its learning is shared (once)."""
    with review_step(reference) as step:
        session, review = step.session, step.review
        store.record_event(
            session, review_id=review.id, name="agency_review_received", on_date=answer.received_on
        )
        for obligation in store.obligations(session, review.id, milestone="agency_review_report"):
            store.meet_obligation(session, key=obligation.key, on_date=answer.received_on)
        store.meet_obligation(
            session, key=obligation_key(reference, "review_completion"), on_date=answer.received_on
        )
        step.complete(Stage.AGENCY_REVIEW, {"learning_shared_how": answer.learning_shared_how})
    return StageResult(reference=reference, stage=Stage.AGENCY_REVIEW)


@task
def final_report(reference: str, answer: answers.FinalReportApproved) -> StageResult:
    """Record the approved report (starting the four-week sign-off clock) and each of its
    recommendations with its intended outcome and timescale, numbered in order; close the
    completion target (once: a recommendation already recorded is kept as it is). The action
    plan is loaded next, and each owner agency is asked to sign off its own items."""
    with review_step(reference) as step:
        rt, session, review = step.rt, step.session, step.review
        store.record_event(
            session, review_id=review.id, name="final_report", on_date=answer.approved_on
        )
        if store.get_referral(session, review.id).domestic_homicide:
            # A review meeting the DHR criteria also goes to the Home Office (its pack's clock).
            store.record_event(
                session, review_id=review.id, name="dhr_final_report", on_date=answer.approved_on
            )
        store.meet_obligation(
            session, key=obligation_key(reference, "review_completion"), on_date=answer.approved_on
        )
        store.open_obligations_from_deadlines(
            session, review=review, deadlines=rt.deadlines, now=rt.now()
        )
        for number, entry in enumerate(answer.recommendations, start=1):
            if plans.get_recommendation(session, review.id, number) is None:
                plans.add_recommendation(
                    session,
                    review=review,
                    number=number,
                    **entry.model_dump(),
                    actor=answer.approved_by,
                    now=rt.now(),
                )
        for obligation in store.open_obligations(
            session, review.id, milestone=documents.DRAFT_CHECK_MILESTONE
        ):
            obligation.status = ObligationStatus.WAIVED
            obligation.note = "final report approved before this agency's comments"
        step.complete(
            Stage.FINAL_REPORT,
            {
                "recommendations": len(answer.recommendations),
                "final_report_version": answer.final_report_version,
            },
        )
    return StageResult(reference=reference, stage=Stage.FINAL_REPORT)


@task
def action_plan_signoff(reference: str, answer: answers.ActionPlanSignedOff) -> StageResult:
    """Record the plan's sign-off: each agency the board goes on without is recorded missing
    (not met) with the audited reason; the board's sign-off clock is met; and each owner
    agency with open items is asked, through its link, for its first quarter's progress
    (the recurring ``action_progress`` rule). Keyed throughout, so a replay repeats nothing."""
    with review_step(reference) as step:
        rt, session, review = step.rt, step.session, step.review
        for name in answer.proceed_without:
            owner = store.find_agency(session, review.board_id, name)
            if owner is not None:
                go_on_without(session, rt, review, owner, answer.reason, answer.recorded_by)
        store.record_event(
            session,
            review_id=review.id,
            name="action_plan_signed_off",
            on_date=answer.signed_off_on,
        )
        note = f"went on without: {', '.join(answer.proceed_without)}" if answer.reason else ""
        store.meet_obligation(
            session,
            key=obligation_key(reference, "action_plan_signoff"),
            on_date=answer.signed_off_on,
            note=note,
        )
        asked = open_quarter(
            rt, session, review, 1, required_due(session, review, "action_progress")
        )
        step.complete(
            Stage.ACTION_PLAN_SIGNOFF,
            {"missing": answer.proceed_without, "progress_asked": asked},
        )
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
        if store.audit_detail(session, stage_key(reference, Stage.PANEL_COPY)) is not None:
            # A replay: the copy went, with the version cleared then; a newer version since
            # (even one that fails the check) changes nothing that was sent.
            return StageResult(reference=reference, stage=Stage.PANEL_COPY, note="sent")
        store.record_event(
            session, review_id=review.id, name="panel_copy_sent", on_date=step.today()
        )
        sent_on = store.review_events(session, review.id)["panel_copy_sent"]
        report = documents_store.get_document(
            session, review_id=review.id, kind=DocumentKind.FINAL_REPORT
        )
        link_until = sent_on + LINK_GRACE
        download_url = documents.panel_copy_link(
            step.rt, reference, DocumentKind.FINAL_REPORT, report.version, link_until
        )
        # The pack's final-report recipients (for an LCSPR, the panel and the Secretary of
        # State; the panel alone when it names none), each with the cleared report attached and
        # an expiring link; a role without an address goes to the business manager to forward.
        roles = step.rt.deadlines.pack(case.regime).recipients.final_report or ("national_panel",)
        for role in roles:
            address = store.recipient_address(step.board, role)
            sent = step.email_with_document(
                "panel_copy",
                recipient=address or step.board.business_manager_email,
                key="panel_copy" if role == "national_panel" else f"final_report:{role}",
                document=DocumentKind.FINAL_REPORT,
                addressee=ROLE_TITLES[role],
                forward="" if address else _forward_line(role),
                publication_on=earliest_publication(step.rt.deadlines, case.regime, sent_on),
                version=report.version,
                sha256=report.sha256,
                download_url=download_url,
                link_until=link_until,
            )
            documents_store.record_document_sent(
                session,
                review_id=review.id,
                document_id=sent.id,
                recipient=address or step.board.business_manager_email,
                sent_at=step.rt.now(),
                via="link",
            )
        step.complete(
            Stage.PANEL_COPY,
            {"sent_on": sent_on.isoformat(), "version": sent.version, "sha256": sent.sha256},
        )
    return StageResult(reference=reference, stage=Stage.PANEL_COPY, messages_queued=len(roles))


@task
def publication(
    reference: str, case: CaseSummary, answer: answers.PublicationDecision
) -> StageResult:
    """Record publication (and how long it stays up), or the decision not to publish; tell the
    national panel either way where the regime has one (once)."""
    published = _published_version(reference, answer)
    with review_step(reference) as step:
        published_until = None
        detail: dict[str, Any] = {"published": answer.publish}
        if answer.publish and answer.publication_on is not None:
            store.record_event(
                step.session,
                review_id=step.review.id,
                name="publication",
                on_date=answer.publication_on,
            )
            published_until = milestone_due(step.session, step.review, "published_until")
            if published_until is not None:
                _owe_takedown(step, published_until)
            if published is not None:
                detail |= {"url": answer.published_url, "version": published.version}
                detail |= {"sha256": published.sha256}
        if case.has_panel_copy:
            step.email(
                "publication_decision",
                recipient=step.board.national_panel_email,
                key="publication_decision",
                published=answer.publish,
                publication_on=answer.publication_on,
                published_until=published_until,
                published_url=answer.published_url,
                reasons=answer.reasons_not_to_publish,
            )
        step.complete(Stage.PUBLICATION, detail)
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
            if obligation.milestone == "published_until":
                continue  # the published report still comes down on its date
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


# --- the review's documents (issue 10) --------------------------------------------------------


@task
def terms_of_reference(reference: str, answer: answers.TermsOfReferenceSet) -> StageResult:
    """Render the agreed terms of reference into the stored document (once: keyed, so a replay
    stores no second version); they go to the agencies with the timeline requests."""
    stored = documents.store_terms_of_reference(
        runtime(),
        reference,
        answer.document(),
        answer.agreed_by,
        replay_key=review_key(reference, "terms_of_reference_stored"),
    )
    return StageResult(
        reference=reference, stage=Stage.TIMELINE_REQUESTS, note=f"version {stored.version}"
    )


@task
def draft_check_requests(reference: str, answer: answers.DraftReportReady) -> StageResult:
    """Ask each agency on the review to check the draft for factual accuracy by the date set,
    through its own portal link, with an obligation the sweep chases until it answers (once)."""
    with review_step(reference) as step:
        draft = documents_store.get_document(
            step.session, review_id=step.review.id, kind=DocumentKind.DRAFT_REPORT
        )
        store.record_event(
            step.session,
            review_id=step.review.id,
            name="draft_check_requested",
            on_date=step.today(),
        )
        queued = _ask_each_agency(
            step,
            duty=AgencyDuty.DRAFT_CHECK,
            milestone=documents.DRAFT_CHECK_MILESTONE,
            description="factual-accuracy check of the draft report",
            owed_to="business manager",
            due=answer.check_by,
            kind="draft_check_request",
            per_agency=lambda agency: {
                "check_url": documents.draft_check_link(
                    step.rt, reference, agency.id, answer.check_by
                )
            },
            draft_version=draft.version,
        )
        step.audit(
            "draft_check_requested",
            {"draft_version": draft.version, "check_by": answer.check_by.isoformat()},
            actor=answer.recorded_by,
            key=review_key(reference, "draft_check_requested"),
        )
    return StageResult(reference=reference, stage=Stage.FINAL_REPORT, messages_queued=queued)


@task
def learning_summary(reference: str, answer: answers.LearningSummaryForm) -> StageResult:
    """Render the learning summary to HTML and PDF, store it (once), and send it to the
    board's learning and development and performance committees (the business manager when
    the board file names neither), recording which version went to each (once)."""
    documents.store_learning_summary(
        runtime(),
        reference,
        answer.document(),
        answer.recorded_by,
        replay_key=review_key(reference, "learning_summary_stored"),
    )
    with review_step(reference) as step:
        board = step.board
        committees = {
            "learning and development committee": board.learning_committee_email,
            "performance committee": board.performance_committee_email,
        }
        for committee, address in committees.items():
            step.email_with_document(
                "learning_summary",
                recipient=address or board.business_manager_email,
                key=f"learning_summary:{committee}",
                document=DocumentKind.LEARNING_SUMMARY,
                committee=committee,
            )
    return StageResult(reference=reference, stage=Stage.FINAL_REPORT, messages_queued=2)


@task
def anonymisation(reference: str, answer: answers.AnonymisationCleared) -> StageResult:
    """Record the business manager's reasoned override of the newest final report version
    when its hits stand (audited; once: a replay finds it recorded)."""
    rt = runtime()
    check = documents.release_check(rt, reference, DocumentKind.FINAL_REPORT)
    if not check.may_leave and answer.override_reason and check.version is not None:
        # A replay finds the override recorded (and the check passing): nothing twice.
        documents.record_anonymisation_override(
            rt,
            reference,
            DocumentKind.FINAL_REPORT,
            check.version,
            answer.override_reason,
            answer.cleared_by,
        )
    return StageResult(reference=reference, stage=Stage.PANEL_COPY, note=check.why)


@task
def communications(reference: str, answer: answers.CommunicationsPlan) -> StageResult:
    """Record when the family and the agencies were told, and the plan (once); publication
    must come after both."""
    with review_step(reference) as step:
        for name, on in (
            ("family_told", answer.family_told_on),
            ("agencies_told", answer.agencies_told_on),
        ):
            store.record_event(step.session, review_id=step.review.id, name=name, on_date=on)
        step.audit(
            "communications_plan",
            {"who_is_told": answer.who_is_told, "holding_statement": answer.holding_statement},
            actor=answer.recorded_by,
            key=review_key(reference, "communications_plan"),
        )
    return StageResult(reference=reference, stage=Stage.PUBLICATION)


@task
def publication_withheld(
    reference: str, case: CaseSummary, answer: answers.PublicationDecision
) -> StageResult:
    """Send the national panel the reasons not to publish (once); the decision is final only
    after the panel's advice, at its own gate."""
    with review_step(reference) as step:
        step.email(
            "publication_decision",
            recipient=step.board.national_panel_email,
            key="publication_reasons",
            published=False,
            publication_on=None,
            published_until=None,
            published_url="",
            reasons=answer.reasons_not_to_publish,
        )
    return StageResult(reference=reference, stage=Stage.PUBLICATION, messages_queued=1)


def _published_version(reference: str, answer: answers.PublicationDecision) -> DocumentView | None:
    """Store the version that goes public (the newest final report, which the gate checked)
    as the ``published_version`` document (once)."""
    if not answer.publish:
        return None
    rt = runtime()
    report, data = documents.get_document(
        rt,
        reference,
        DocumentKind.FINAL_REPORT,
        actor="publication",
        audit_key=review_key(reference, "published_version_read"),
    )
    return documents.add_document(
        rt,
        reference,
        DocumentKind.PUBLISHED_VERSION,
        report.safe_filename,
        data,
        added_by=answer.decided_by,
        replay_key=review_key(reference, "published_version_stored"),
    )


def _owe_takedown(step: Step, published_until: date) -> None:
    """The business manager is reminded before the report may come off the website; the
    takedown (``reviews documents takedown``) meets it."""
    store.upsert_obligation(
        step.session,
        key=obligation_key(step.reference, "published_until"),
        review_id=step.review.id,
        milestone="published_until",
        description="published report: take it down (then available on request) and record "
        "it with 'reviews documents takedown'",
        owed_by="board",
        agency_id=None,
        owed_to="board",
        due_on=published_until,
        now=step.rt.now(),
    )
