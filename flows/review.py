"""The ``review`` flow: one statutory case review, from referral to closure.

Its only parameter is the review reference. The body reads like the flowchart and does no I/O:
every side effect is a task, keyed in our database, and every human step is a gate
(``suspend_flow_run`` with a RunInput form and a stable key). After each resume Prefect runs the
body again from the top; gates already answered return their stored answers, and the tasks
repeat nothing, so the body is deterministic given those answers.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any, TypeVar

from prefect import flow
from prefect.flow_runs import suspend_flow_run

from core.names import Gate
from flows.inputs import (
    ActionPlanSignedOff,
    ChairDecision,
    CommitteeRecommendation,
    FinalReportApproved,
    GateForm,
    LearningEventHeld,
    PublicationDecision,
    RecallSessionHeld,
    ReviewClosed,
    ReviewerAppointment,
    TimelinesComplete,
)
from tasks import stages
from tasks.common import CaseSummary
from tasks.gates import check_answer, close_gate, open_gate, refuse_answer
from tasks.runs import claim_run

Form = TypeVar("Form", bound=GateForm)


def _date_fields(form: type[GateForm]) -> list[str]:
    hints = typing.get_type_hints(form)
    return [
        name
        for name, hint in hints.items()
        if name in form.model_fields
        and (hint is dt.date or (isinstance(hint, types.UnionType) and dt.date in hint.__args__))
    ]


def ask(case: CaseSummary, gate: Gate, form: type[Form], **initial: Any) -> Form:
    """Wait at ``gate`` until an answer passes the case's rules; return it.

    A refused answer is recorded with its reasons and the gate asks again under a new key
    (``chair-decision-2``, ``chair-decision-3``…), so replays meet the same answers in order.
    """
    refusals: list[str] = []
    attempt = 1
    while True:
        prompt = open_gate(case.reference, gate, attempt, refusals)
        defaults = {name: prompt.today for name in _date_fields(form)} | initial
        answer = suspend_flow_run(
            wait_for_input=form.with_initial_data(description=prompt.description, **defaults),
            key=gate.suspend_key(attempt),
            timeout=None,
        )
        problems = check_answer(case.reference, answer)
        if not problems:
            close_gate(case.reference, gate, attempt, answer)
            return answer
        refuse_answer(case.reference, gate, attempt, problems)
        refusals = problems
        attempt += 1


def below_threshold(case: CaseSummary) -> dict[str, Any]:
    """The committee's form, pre-filled for a case below the statutory threshold with the route
    the regime's pack gives it (a critical incident review, a professional forum)."""
    if case.criteria_met or case.below_threshold_route not in {
        "critical_incident_review",
        "professional_forum",
    }:
        return {}
    return {"recommendation": case.below_threshold_route, "criteria_met": False}


@flow(name="review", flow_run_name="{reference}", log_prints=False, persist_result=False)
def review(reference: str) -> str:
    """Run review ``reference`` through the flowchart; returns the chair's decision.

    Paths: a full statutory review walks every stage; a critical incident or individual agency
    review skips the panel copy and statutory publication; "no review" tells the referrer and
    the panel why and closes the case.
    """
    claim_run(reference)
    case = stages.referral_intake(reference)

    recommendation = ask(
        case, Gate.COMMITTEE_RECOMMENDATION, CommitteeRecommendation, **below_threshold(case)
    )
    stages.committee_recommendation(reference, recommendation)

    decision = ask(
        case,
        Gate.CHAIR_DECISION,
        ChairDecision,
        decision=recommendation.recommendation
        if recommendation.recommendation != "professional_forum"
        else "no_review",
        methodology=recommendation.methodology,
    )
    stages.chair_decision(reference, decision)
    stages.panel_notification(reference, case, decision)
    if decision.decision == "no_review":
        stages.close_review(reference, "no review: referrer and panel told why")
        return decision.decision

    appointment = ask(
        case, Gate.REVIEWER_APPOINTMENT, ReviewerAppointment, lead_reviewers=decision.lead_reviewers
    )
    stages.reviewer_appointment(reference, appointment)

    stages.timeline_requests(reference)
    timelines = ask(case, Gate.TIMELINES_COMPLETE, TimelinesComplete)
    stages.timelines_merged(reference, timelines)

    stages.learning_event_invitations(reference, timelines.learning_event_on)
    held = ask(case, Gate.LEARNING_EVENT, LearningEventHeld)
    stages.learning_event(reference, held)

    stages.recall_session_invitations(reference, held.recall_session_on)
    recall = ask(case, Gate.RECALL_SESSION, RecallSessionHeld)
    stages.recall_session(reference, recall)

    report = ask(case, Gate.FINAL_REPORT, FinalReportApproved)
    stages.final_report(reference, report)

    signoff = ask(case, Gate.ACTION_PLAN_SIGNOFF, ActionPlanSignedOff)
    stages.action_plan_signoff(reference, signoff)

    if decision.decision == "full_review":
        stages.panel_copy(reference, case)
        published = ask(case, Gate.PUBLICATION, PublicationDecision)
        stages.publication(reference, case, published)

    closed = ask(case, Gate.MONITORING, ReviewClosed)
    stages.monitoring(reference, closed)
    return decision.decision
