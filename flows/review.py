"""The ``review`` flow: one statutory case review, from referral to closure.

Its only parameter is the review reference. The body reads like the flowchart and does no I/O:
every side effect is a task, keyed in our database, and every human step is a gate
(``suspend_flow_run`` with a RunInput form and a stable key). After each resume Prefect runs the
body again from the top; gates already answered return their stored answers, the stages before
the last of them are skipped (they ran to their end before that gate was reached), and the
tasks that run again repeat nothing, so the body is deterministic given those answers.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any, Literal, ParamSpec, TypeVar, cast

from prefect import Task, flow
from prefect.flow_runs import suspend_flow_run
from pydantic import Field, create_model

from core.methods import PROFESSIONAL_FORUM, MethodStep
from core.names import Gate, GateSpec, Stage, event_gates, gate_specs
from core.paths import review_path
from flows.inputs import (
    ActionPlanSignedOff,
    AgencyReviewReceived,
    AnonymisationCleared,
    ChairDecision,
    CommitteeRecommendation,
    CommunicationsPlan,
    DraftReportReady,
    EventArranged,
    EventHeld,
    FinalReportApproved,
    ForumHeld,
    GateForm,
    LearningSummaryForm,
    PanelAdvice,
    PanelResponse,
    PublicationDecision,
    RapidReviewMeeting,
    ReviewClosed,
    ReviewerAppointment,
    TermsOfReferenceSet,
    TimelinesComplete,
)
from flows.suspension import gate_key
from models import answers
from tasks import rapid_review as rapid
from tasks import stages
from tasks.common import CaseSummary
from tasks.gates import (
    GatePrompt,
    answered_gates,
    check_answer,
    close_gate,
    open_gate,
    refuse_answer,
)
from tasks.runs import claim_run

Form = TypeVar("Form", bound=GateForm)
P = ParamSpec("P")
R = TypeVar("R")


class ReplayDiverged(RuntimeError):
    """A replay left the path its earlier executions took: it reached a gate, or the end,
    while gates this run answered before still lie ahead. The stages it skipped (see
    :func:`step`) may never have run, so the run stops here, Failed, instead of going on
    without them; it happens only if the review's route or rule pack changed under a running
    review."""


def _diverged(case: CaseSummary, reached: str) -> ReplayDiverged:
    ahead = ", ".join(sorted(gate for gate in case.answered if gate not in case.met))
    return ReplayDiverged(
        f"{case.reference}: this execution reached {reached} before gates this run answered "
        f"earlier ({ahead}); the review's path has changed since they were answered (a route "
        "or rule pack edited?), so the run stops rather than skip stages"
    )


def step(case: CaseSummary, stage: Task[P, R], *args: P.args, **kwargs: P.kwargs) -> R | None:
    """Run ``stage`` unless this execution replays past it: a gate this run answered in an
    earlier execution still lies ahead, so the execution that reached that gate ran the stage
    to its end (a stage that fails ends the execution before any later gate). Only the stages after
    the last answered gate run again, each repeating nothing (its side effects are keyed).
    Returns what the stage returned, or None when it was skipped."""
    if case.replaying():
        return None
    return stage(*args, **kwargs)


def _date_fields(form: type[GateForm]) -> list[str]:
    hints = typing.get_type_hints(form)
    return [
        name
        for name, hint in hints.items()
        if name in form.model_fields
        and (hint is dt.date or (isinstance(hint, types.UnionType) and dt.date in hint.__args__))
    ]


def _offering(form: type[Form], prompt: GatePrompt) -> type[Form]:
    """``form`` with its choices the case's own: the route a choice among the routes the
    regime offers, the methodology among the board's methods (a board adds one in its
    rule-pack directory, so the choices are read, not written in the form's code)."""
    fields: dict[str, Any] = {}
    for name in ("decision", "recommendation"):
        if name in form.model_fields and prompt.routes:
            info = form.model_fields[name]
            fields[name] = (
                answers.shown_routes(prompt.routes),
                Field(description=info.description),
            )
    if "methodology" in form.model_fields and prompt.methods:
        info = form.model_fields["methodology"]
        choice: Any = Literal.__getitem__(tuple(prompt.methods))
        fields["methodology"] = (choice | None, Field(default=None, description=info.description))
    if not fields:
        return form
    return cast(type[Form], create_model(form.__name__, __base__=form, **fields))


def ask(case: CaseSummary, gate: Gate | GateSpec, form: type[Form], **initial: Any) -> Form:
    """Wait at ``gate`` until an answer passes the case's rules; return it.

    A refused answer is recorded with its reasons and the gate asks again under a new key
    (``chair-decision-2``, ``chair-decision-3``…), so replays meet the same answers in order.
    A gate this run answered before the current execution returns its recorded answer at
    once (``case.answered``), without asking Prefect or re-running the gate's tasks.
    """
    spec = gate if isinstance(gate, GateSpec) else gate_specs()[gate]
    given = case.answered.get(spec.name)
    if given is not None:  # answered before this replay: the recorded answer, no task runs
        case.met.add(spec.name)
        return form.model_validate(given)
    if case.replaying():
        raise _diverged(case, f"the gate {spec.name!r}")
    refusals: list[str] = []
    attempt = 1
    while True:
        prompt = open_gate(case.reference, spec, attempt, refusals)
        defaults: dict[str, Any] = {name: prompt.today for name in _date_fields(form)}
        if "reply_to" in form.model_fields:
            defaults["reply_to"] = prompt.reply_to
        # Only a waiting attempt offers the narrowed choices: an input already given (refused
        # or taken) is read back with the plain form, whatever the board's routes are now.
        asked = _offering(form, prompt) if prompt.waiting else form
        answer = suspend_flow_run(
            wait_for_input=asked.with_initial_data(
                description=prompt.description, **(defaults | initial)
            ),
            key=gate_key(spec.suspend_key(attempt)),
            timeout=None,
        )
        problems = check_answer(case.reference, answer, spec.name, attempt)
        if not problems:
            close_gate(case.reference, spec, attempt, answer)
            return answer
        refuse_answer(case.reference, spec.name, attempt, problems)
        refusals = problems
        attempt += 1


def hold_event(case: CaseSummary, event: MethodStep, held_form: type[Form]) -> Form:
    """One event: the business manager confirms its date, time, venue and contact at a gate;
    only then are the agencies invited; then it is recorded as held at a second gate."""
    arrange, held = event_gates(event.name, event.title)
    arranged = ask(case, arrange, EventArranged)
    step(case, stages.event_invitations, case.reference, event, arranged)
    return ask(case, held, held_form)


def below_threshold(case: CaseSummary) -> dict[str, Any]:
    """The committee's form, pre-filled for a case below the statutory threshold with the route
    the regime's pack gives it (a critical incident review, a professional forum)."""
    if case.criteria_met or case.below_threshold_route not in {
        "critical_incident_review",
        "professional_forum",
    }:
        return {}
    return {"recommendation": case.below_threshold_route, "criteria_met": False}


def rapid_review(case: CaseSummary) -> dict[str, Any]:
    """The LCSPR rapid review (Working Together 2023 ch.5): agency summaries through the
    portal, the meeting at a gate, its report to the national panel, the panel's response at a
    gate. Returns the partners' decision form pre-filled from their recommendation."""
    step(case, rapid.agency_summary_requests, case.reference)
    meeting = ask(
        case,
        Gate.RAPID_REVIEW_MEETING,
        RapidReviewMeeting,
        attendees=case.agencies,
        recommends_lcspr=case.criteria_met,
    )
    step(case, rapid.rapid_review_report, case.reference, case, meeting)
    response = ask(case, Gate.PANEL_RESPONSE, PanelResponse)
    step(case, rapid.panel_response, case.reference, response)
    return {
        "decision": "full_review" if meeting.recommends_lcspr else "no_review",
        "rationale": meeting.rationale,
    }


def committee(case: CaseSummary) -> dict[str, Any]:
    """The review committee's recommendation at its gate; returns the chair's form pre-filled
    from it."""
    recommendation = ask(
        case, Gate.COMMITTEE_RECOMMENDATION, CommitteeRecommendation, **below_threshold(case)
    )
    step(case, stages.committee_recommendation, case.reference, recommendation)
    return {
        "decision": recommendation.recommendation,
        "methodology": recommendation.methodology,
        "agency_under_review": recommendation.agency_under_review,
        "learning_shared_how": recommendation.learning_shared_how,
    }


@flow(name="review", flow_run_name="{reference}", log_prints=False, persist_result=False)
def review(reference: str) -> str:
    """Run review ``reference`` through the flowchart; returns the chair's decision.

    The regime's pack names its stages: an LCSPR holds the rapid review (and hears the
    national panel) where other regimes put the case to the committee. The decision's route
    (``core/paths.yaml``) says what follows: a full review (or a Welsh concise or extended
    review) walks every stage; a critical incident review skips the anonymisation gate, the
    panel copy and statutory publication; an individual agency review asks only the agency
    under review, for its own report; a professional forum is arranged, held and recorded; "no
    review" tells the referrer and the panel why and closes the case. A review walks the events
    of the method chosen (``core/methods``), each confirmed before anyone is invited. Every
    review with reviewers sets its terms of reference, has its draft checked by the agencies,
    and stores its final report and learning summary; a decision not to publish waits for the
    panel's advice.
    """
    claim_run(reference)
    case = stages.referral_intake(reference)
    case.answered = answered_gates(reference)
    walks = stages.regime_stages(reference)

    recommended = rapid_review(case) if Stage.RAPID_REVIEW in walks else committee(case)

    decision = ask(case, Gate.CHAIR_DECISION, ChairDecision, **recommended)
    step(case, stages.chair_decision, reference, decision)
    step(case, stages.panel_notification, reference, case, decision)
    path = review_path(decision.decision)

    if path.has("forum"):
        forum = hold_event(case, PROFESSIONAL_FORUM, ForumHeld)
        step(
            case,
            stages.event_held,
            reference,
            PROFESSIONAL_FORUM.name,
            forum.held_on,
            forum.attendees,
        )

    if path.has("reviewers"):
        appointment = ask(
            case,
            Gate.REVIEWER_APPOINTMENT,
            ReviewerAppointment,
            lead_reviewers=decision.lead_reviewers,
        )
        step(case, stages.reviewer_appointment, reference, appointment)
        terms = ask(
            case,
            Gate.TERMS_OF_REFERENCE,
            TermsOfReferenceSet,
            agencies_in_scope=case.agencies,
            method=decision.methodology or "",
        )
        step(case, stages.terms_of_reference, reference, terms)

    if path.has("timelines"):
        step(case, stages.timeline_requests, reference)
        timelines = ask(case, Gate.TIMELINES_COMPLETE, TimelinesComplete)
        step(case, stages.timelines_merged, reference, timelines)

    if path.has("agency_review"):
        step(case, stages.agency_review_request, reference, decision)
        received = ask(case, Gate.AGENCY_REVIEW, AgencyReviewReceived)
        step(case, stages.agency_review_received, reference, received)

    if path.has("method"):
        for event in stages.method_steps(reference, decision.methodology):
            held = hold_event(case, event, EventHeld)
            step(case, stages.event_held, reference, event.name, held.held_on, held.attendees)

    if path.has("report"):
        draft = ask(case, Gate.DRAFT_REPORT, DraftReportReady)
        step(case, stages.draft_check_requests, reference, draft)
        report = ask(case, Gate.FINAL_REPORT, FinalReportApproved)
        step(case, stages.final_report, reference, report)
        summary = ask(case, Gate.LEARNING_SUMMARY, LearningSummaryForm)
        step(case, stages.learning_summary, reference, summary)
        signoff = ask(case, Gate.ACTION_PLAN_SIGNOFF, ActionPlanSignedOff)
        step(case, stages.action_plan_signoff, reference, signoff)

    if path.has("publication"):
        cleared = ask(case, Gate.ANONYMISATION, AnonymisationCleared)
        step(case, stages.anonymisation, reference, cleared)
        step(case, stages.panel_copy, reference, case)
        told = ask(case, Gate.COMMUNICATIONS, CommunicationsPlan)
        step(case, stages.communications, reference, told)
        published: answers.PublicationDecision = ask(case, Gate.PUBLICATION, PublicationDecision)
        if not published.publish:
            # The panel gets the reasons; the decision is final after its advice.
            step(case, stages.publication_withheld, reference, case, published)
            published = ask(case, Gate.PANEL_ADVICE, PanelAdvice)
        step(case, stages.publication, reference, case, published)

    if path.has("monitoring"):
        closed = ask(case, Gate.MONITORING, ReviewClosed)
        step(case, stages.monitoring, reference, closed)
    else:
        step(case, stages.close_review, reference, path.closing_note)
    if case.replaying():
        raise _diverged(case, "the end of the review")
    return decision.decision
