"""Gate tasks: open a gate (tell the person who must act), check an answer against the case,
refuse it or close the gate.

Each gate's own rules are its answer's :meth:`~models.answers.GateAnswer.problems`; these tasks
read the facts those rules need, add the rule every gate shares (free text must not hold the
subject's identity), and record the outcome. Each side effect is keyed by review, gate and
attempt, so a replay repeats none of them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from prefect import task
from prefect.runtime import flow_run
from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.deadlines import DeadlineEngine
from core.names import Gate, gate_key, gate_specs
from models import store
from models.answers import GateAnswer, GateFacts
from models.identity_guard import identity_leaks
from models.orm import Review
from notifications.render import long_date
from services.runtime import runtime
from tasks.common import case_summary
from tasks.context import review_step

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class GatePrompt(BaseModel):
    """What the gate's form shows, and today's date for the form's defaults."""

    description: str
    today: date


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@task
def open_gate(reference: str, gate: Gate, attempt: int, refusals: list[str]) -> GatePrompt:
    """Mark the review as waiting at ``gate``, email the person who must act (once per
    attempt) with the link to the run, and build the form's markdown description."""
    spec = gate_specs()[gate]
    with review_step(reference) as step:
        rt, session, review = step.rt, step.session, step.review
        review.stage = spec.stage
        review.waiting_at = spec.name
        case = case_summary(session, rt, review)
        obligation = store.first_open_obligation(session, review.id, spec.milestones)
        days_left = (obligation.due_on - rt.today()).days if obligation is not None else None
        recommendation = store.get_decision(session, review.id, "committee_recommendation")
        board = step.board
        step.email(
            "decision_needed",
            recipient=board.chair_email if spec.actor == "chair" else board.business_manager_email,
            key=f"gate:{gate}:{attempt}",
            gate_title=spec.title,
            gate_question=spec.question,
            due=obligation.due_on if obligation else None,
            days_left=days_left,
            run_url=rt.settings.run_url(flow_run.id),
        )
        obligation_line = (
            f"**Deadline:** {long_date(obligation.due_on)}: {days_left} days left"
            f"{' (OVERDUE)' if days_left is not None and days_left < 0 else ''} "
            f"({obligation.milestone}: {obligation.description})"
            if obligation is not None
            else "**Deadline:** no statutory deadline for this step"
        )
        recommendation_lines = (
            [
                "",
                "### Committee recommendation",
                f"**{recommendation.outcome.replace('_', ' ')}**"
                + (f" ({recommendation.methodology})" if recommendation.methodology else ""),
                "",
                recommendation.rationale,
            ]
            if recommendation is not None
            else []
        )
        regime_title = rt.deadlines.pack(case.regime).title
    lines = [
        f"## {spec.title}: {case.reference} ({case.pseudonym})",
        "",
        f"**Deciding:** {spec.question}",
        "",
    ]
    if refusals:
        lines += ["**Your previous answer was refused:**", *[f"- {r}" for r in refusals], ""]
    lines += [
        obligation_line,
        "",
        "### The case (pseudonymised)",
        f"- Regime: {regime_title}",
        f"- Harm: {case.harm.replace('_', ' ')}; abuse or neglect: "
        f"{case.abuse_or_neglect.replace('_', ' ')}; concerns about inter-agency working: "
        f"{_yes(case.interagency_concerns)}",
        f"- Statutory criteria {case.criteria}",
        f"- Agencies involved: {', '.join(case.agencies)}",
        f"- Parallel proceedings: {', '.join(case.parallel_proceedings) or 'none recorded'}",
        "",
        f"> {case.summary.strip()}",
        *recommendation_lines,
    ]
    return GatePrompt(description="\n".join(lines), today=rt.today())


@task
def check_answer(reference: str, answer: GateAnswer) -> list[str]:
    """Every problem with ``answer``, each naming its field: the subject's identity in its free
    text, then the answer's own rules against the case. Empty when the answer stands."""
    rt = runtime()
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        facts = GateFacts(
            reference=reference,
            pseudonym=review.pseudonym,
            outcome=review.outcome,
            involved_agencies=[a.name for a in store.involved_agencies(session, review.id)],
            awaited_agencies=store.outstanding_agencies(session, review.id),
            earliest_publication=_earliest_publication(rt.deadlines, review, session),
        )
        identity = store.known_identity(session, review.id)
    problems = []
    for field, value in answer.model_dump(mode="json").items():
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
                f"use the pseudonym ({facts.pseudonym})"
            )
    return problems + answer.problems(facts)


def _earliest_publication(
    deadlines: DeadlineEngine, review: Review, session: Session
) -> date | None:
    sent = store.review_events(session, review.id).get("panel_copy_sent")
    return earliest_publication(deadlines, review.regime.value, sent) if sent else None


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
def refuse_answer(reference: str, gate: Gate, attempt: int, problems: list[str]) -> None:
    """Record (once) that an answer was refused and why; the review stays at its gate."""
    with review_step(reference) as step:
        step.audit(
            "gate_answer_refused",
            {
                "gate": gate,
                "attempt": attempt,
                "problems": problems,
                "flow_run_id": str(flow_run.id),
            },
            actor="case-reviews",
            key=gate_key(reference, gate, attempt, "refused"),
        )


@task
def close_gate(reference: str, gate: Gate, attempt: int, answer: GateAnswer) -> None:
    """Record (once) the accepted answer and who gave it; the review no longer waits."""
    with review_step(reference) as step:
        if step.review.waiting_at == gate:
            step.review.waiting_at = None
        step.audit(
            "gate_answered",
            {
                "gate": gate,
                "attempt": attempt,
                "answer": answer.model_dump(mode="json"),
                "flow_run_id": str(flow_run.id),
            },
            actor=answer.actor,
            key=gate_key(reference, gate, attempt, "answered"),
        )
