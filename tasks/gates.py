"""Gate tasks: open a gate (tell the person who must act), check an answer, close the gate.

Each side effect is keyed by review, gate and attempt, so a replay repeats none of them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Literal

from prefect import task
from prefect.runtime import flow_run
from pydantic import BaseModel
from sqlalchemy import select

from case_reviews.deadlines import DeadlineEngine
from case_reviews.runtime import runtime
from models import store
from models.identity_guard import identity_leaks
from models.orm import Board, Decision, Obligation, ObligationStatus, Review
from notifications.render import long_date
from tasks.common import case_summary, deliver, queue_email

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class GateSpec(BaseModel):
    name: str
    stage: str
    title: str
    question: str
    actor: Literal["chair", "business_manager"]
    milestones: tuple[str, ...] = ()


GATES: dict[str, GateSpec] = {
    spec.name: spec
    for spec in (
        GateSpec(
            name="committee_recommendation",
            stage="committee_recommendation",
            title="Committee recommendation",
            question="Record the review committee's recommendation to the chair, having applied "
            "the criteria and the decision-making matrix.",
            actor="business_manager",
            milestones=("chair_decision", "rapid_review"),
        ),
        GateSpec(
            name="chair_decision",
            stage="chair_decision",
            title="Chair's decision",
            question="Decide whether to initiate a review and by which route; give the rationale "
            "the referrer will receive and, for a full review, the lead reviewer(s).",
            actor="chair",
            milestones=("chair_decision", "rapid_review", "panel_notification"),
        ),
        GateSpec(
            name="reviewer_appointment",
            stage="reviewer_appointment",
            title="Reviewer appointment",
            question="Confirm the lead reviewer(s) and that they are independent of the case.",
            actor="chair",
            milestones=("review_completion",),
        ),
        GateSpec(
            name="timelines_complete",
            stage="timelines_merged",
            title="Agency timelines",
            question="Every agency's timeline resumes this gate by itself when the last one "
            "arrives. To go on without some, list them with a reason, and set the date of the "
            "learning event.",
            actor="business_manager",
            milestones=("timeline_return", "review_completion"),
        ),
        GateSpec(
            name="learning_event",
            stage="learning_event",
            title="Learning event held",
            question="Record the learning event and set the date of the recall session.",
            actor="business_manager",
            milestones=("review_completion",),
        ),
        GateSpec(
            name="recall_session",
            stage="recall_session",
            title="Recall session held",
            question="Record that practitioners tested and corrected the draft findings.",
            actor="business_manager",
            milestones=("review_completion",),
        ),
        GateSpec(
            name="final_report",
            stage="final_report",
            title="Final report approval",
            question="Approve the final report (overview report and learning summary) presented "
            "to the board. Approval starts the four-week action plan sign-off clock.",
            actor="chair",
            milestones=("review_completion",),
        ),
        GateSpec(
            name="action_plan_signoff",
            stage="action_plan_signoff",
            title="Action plan sign-off",
            question="Record that member agencies signed off the action plan, or override "
            "with a reason.",
            actor="business_manager",
            milestones=("action_plan_signoff",),
        ),
        GateSpec(
            name="publication",
            stage="publication",
            title="Publication",
            question="Set the publication date of the anonymised report, or decide not to "
            "publish and give the reasons the national panel will be told.",
            actor="chair",
        ),
        GateSpec(
            name="monitoring",
            stage="monitoring",
            title="Close the review",
            question="Confirm every action is complete and its impact evaluated.",
            actor="business_manager",
            milestones=("action_progress",),
        ),
    )
}


class GatePrompt(BaseModel):
    """What the gate's form shows, and today's date for the form's defaults."""

    description: str
    today: date


def _next_deadline(
    session: Any, review: Review, spec: GateSpec
) -> tuple[Obligation | None, int | None]:
    for milestone in spec.milestones:
        obligation = session.scalar(
            select(Obligation)
            .where(
                Obligation.review_id == review.id,
                Obligation.milestone == milestone,
                Obligation.status == ObligationStatus.OPEN,
            )
            .order_by(Obligation.due_on.desc())
        )
        if obligation is not None:
            return obligation, (obligation.due_on - runtime().today()).days
    return None, None


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def run_url(ui_url: str) -> str:
    """The Prefect UI page of the run this task belongs to."""
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run.id}"


@task
def open_gate(reference: str, gate: str, attempt: int, refusals: list[str]) -> GatePrompt:
    """Mark the review as waiting at ``gate``, email the person who must act (once per
    attempt) with the link to the run, and build the form's markdown description."""
    rt = runtime()
    spec = GATES[gate]
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        review.stage = spec.stage
        review.waiting_at = spec.name
        case = case_summary(session, rt, review)
        obligation, days_left = _next_deadline(session, review, spec)
        board = session.get_one(Board, review.board_id)
        recommendation = session.scalar(
            select(Decision).where(
                Decision.review_id == review.id, Decision.kind == "committee_recommendation"
            )
        )
        recipient = board.chair_email if spec.actor == "chair" else board.business_manager_email
        url = run_url(rt.settings.ui_url)
        queue_email(
            session,
            rt,
            review,
            kind="decision_needed",
            recipient=recipient,
            key=f"gate:{gate}:{attempt}",
            gate_title=spec.title,
            gate_question=spec.question,
            due=obligation.due_on if obligation else None,
            days_left=days_left,
            run_url=url,
        )
        review_id = review.id
    deliver(rt, review_id)

    lines = [
        f"## {spec.title}: {case.reference} ({case.pseudonym})",
        "",
        f"**Deciding:** {spec.question}",
        "",
    ]
    if refusals:
        lines += ["**Your previous answer was refused:**", *[f"- {r}" for r in refusals], ""]
    if obligation is not None:
        overdue = " (OVERDUE)" if days_left is not None and days_left < 0 else ""
        lines.append(
            f"**Deadline:** {long_date(obligation.due_on)}: {days_left} days left{overdue} "
            f"({obligation.milestone}: {obligation.description})"
        )
    else:
        lines.append("**Deadline:** no statutory deadline for this step")
    lines += [
        "",
        "### The case (pseudonymised)",
        f"- Regime: {rt.deadlines.pack(case.regime).title}",
        f"- Harm: {case.harm.replace('_', ' ')}; abuse or neglect: "
        f"{case.abuse_or_neglect.replace('_', ' ')}; concerns about inter-agency working: "
        f"{_yes(case.interagency_concerns)}",
        f"- Statutory criteria met (reg 5(2)): {_yes(case.criteria_met)}",
        f"- Agencies involved: {', '.join(case.agencies)}",
        f"- Parallel proceedings: {', '.join(case.parallel_proceedings) or 'none recorded'}",
        "",
        f"> {case.summary.strip()}",
    ]
    if recommendation is not None:
        lines += [
            "",
            "### Committee recommendation",
            f"**{recommendation.outcome.replace('_', ' ')}**"
            + (f" ({recommendation.methodology})" if recommendation.methodology else ""),
            "",
            recommendation.rationale,
        ]
    return GatePrompt(description="\n".join(lines), today=rt.today())


@task
def check_answer(reference: str, gate: str, answer: dict[str, Any]) -> list[str]:
    """Rules a form cannot express; each problem names the field. Empty when the answer stands."""
    rt = runtime()
    problems = _identity_problems(reference, answer)
    if gate == "chair_decision" and answer["decision"] == "full_review":
        if not answer.get("lead_reviewers"):
            problems.append("lead_reviewers: a full review needs at least one lead reviewer")
        if not answer.get("methodology"):
            problems.append("methodology: choose the review's methodology")
    if gate == "reviewer_appointment":
        with rt.sessions() as session:
            review = store.get_review(session, reference)
        if not answer["independence_confirmed"] and review.outcome == "full_review":
            problems.append(
                "independence_confirmed: a statutory review needs reviewers independent of the case"
            )
    if gate == "timelines_complete" and answer.get("proceed_without") and not answer.get("reason"):
        problems.append("reason: give the reason for proceeding without a timeline")
    if gate == "timelines_complete":
        from case_reviews.timelines import outstanding_agencies

        with rt.sessions() as session:
            review = store.get_review(session, reference)
            known = {a.name for a in store.involved_agencies(session, review.id)}
            awaited = outstanding_agencies(session, review.id)
        skipped = set(answer.get("proceed_without", []))
        for name in sorted(skipped - known):
            problems.append(f"proceed_without: {name!r} is not an agency on this review")
        for name in sorted(set(awaited) - skipped):
            problems.append(
                f"proceed_without: {name} has not sent its timeline; wait for it, or list it "
                "here with a reason"
            )
    if (
        gate == "action_plan_signoff"
        and answer.get("chair_override")
        and not answer.get("override_reason")
    ):
        problems.append("override_reason: an override needs a reason")
    if gate == "publication":
        problems += _publication_problems(reference, answer)
    if gate == "monitoring" and not answer["all_actions_complete"]:
        problems.append("all_actions_complete: the review closes only when every action is done")
    return problems


def _identity_problems(reference: str, answer: dict[str, Any]) -> list[str]:
    """Free text in an answer must not hold the subject's identity: rationales and reasons are
    sent on to the referrer and the panel, whose messages are refused if they carry it."""
    with runtime().sessions() as session:
        review = store.get_review(session, reference)
        identity = store.known_identity(session, review.id)
        pseudonym = review.pseudonym
    problems = []
    for field, value in answer.items():
        texts = value if isinstance(value, list) else [value]
        # A bare ISO date is a date field (decided_on…), not free text.
        found = {
            leak
            for text in texts
            if isinstance(text, str) and not _ISO_DATE.fullmatch(text)
            for leak in identity_leaks(text, identity)
        }
        if found:
            problems.append(
                f"{field}: contains the subject's real {' and '.join(sorted(found))}; "
                f"use the pseudonym ({pseudonym})"
            )
    return problems


def _publication_problems(reference: str, answer: dict[str, Any]) -> list[str]:
    if not answer["publish"]:
        return (
            []
            if answer.get("reasons_not_to_publish")
            else ["reasons_not_to_publish: give the reasons the national panel will be told"]
        )
    published = answer.get("publication_on")
    if published is None:
        return ["publication_on: give the publication date"]
    rt = runtime()
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        sent = store.review_events(session, review.id).get("panel_copy_sent")
    if sent is None:
        return []  # the regime has no panel copy
    earliest = earliest_publication(rt.deadlines, review.regime.value, sent)
    if date.fromisoformat(str(published)) < earliest:
        return [
            f"publication_on: the national panel must have the report first; the earliest "
            f"publication date is {long_date(earliest)}"
        ]
    return []


def earliest_publication(deadlines: DeadlineEngine, regime: str, copy_sent: date) -> date:
    """The first publication date the regime's panel-copy rule allows once the copy went.

    The rule counts back from publication (calendar or working days), so walk forward to the
    first publication date whose latest copy date is on or after the day the copy went.
    """
    candidate = copy_sent
    for _ in range(60):
        latest_copy = next(
            d.due
            for d in deadlines.compute(regime, {"publication": candidate})
            if d.milestone == "panel_copy"
        )
        if latest_copy >= copy_sent:
            return candidate
        candidate += timedelta(days=1)
    raise RuntimeError("no publication date within 60 days satisfies the panel-copy rule")


@task
def refuse_answer(reference: str, gate: str, attempt: int, problems: list[str]) -> None:
    """Record (once) that an answer was refused and why; the review stays at its gate."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_audit(
            session,
            review_id=review.id,
            actor="case-reviews",
            action="gate_answer_refused",
            detail={"gate": gate, "attempt": attempt, "problems": problems},
            at=rt.now(),
            key=f"{reference}:gate:{gate}:{attempt}:refused",
        )


@task
def close_gate(reference: str, gate: str, attempt: int, answer: dict[str, Any]) -> None:
    """Record (once) the accepted answer in the audit trail; the review no longer waits."""
    rt = runtime()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        if review.waiting_at == gate:
            review.waiting_at = None
        actor = next(
            (
                str(answer[f])
                for f in (
                    "decided_by",
                    "approved_by",
                    "confirmed_by",
                    "recorded_by",
                    "recommended_by",
                )
                if answer.get(f)
            ),
            "unknown",
        )
        store.record_audit(
            session,
            review_id=review.id,
            actor=actor,
            action="gate_answered",
            detail={"gate": gate, "attempt": attempt, "answer": answer},
            at=rt.now(),
            key=f"{reference}:gate:{gate}:{attempt}:answered",
        )
