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
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.deadlines import DeadlineEngine, RulePack
from core.markup import escape_markdown, escape_markdown_block
from core.methods import load_methods
from core.names import GateSpec, gate_key
from models import documents_store, store
from models import participation_store as participation
from models.answers import GateAnswer, GateFacts, choice_label
from models.documents import Hit, ListedName, find_hits
from models.identity_guard import identity_leaks
from models.orm import Review
from notifications.render import long_date
from services.action_plans import plan_facts
from services.documents import final_report_notes, release_blocked
from services.runtime import Runtime, runtime
from tasks.common import case_summary
from tasks.context import review_step

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class GatePrompt(BaseModel):
    """What the gate's form shows, and today's date for the form's defaults."""

    description: str
    today: date
    methods: list[str] = Field(description="The titles of the methods the board knows.")
    routes: list[str] = Field(description="The routes the review's regime offers.")
    reply_to: str = Field(description="The business manager's address, for event replies.")
    waiting: bool = Field(
        default=True, description="Whether this attempt still waits (not answered or refused)."
    )


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _refusal_lines(refusals: list[str]) -> list[str]:
    # A refused answer leads whatever the person reads next: the form, the email, the run page.
    if not refusals:
        return []
    return [
        "### Your last answer was not accepted",
        *[f"- {escape_markdown(r)}" for r in refusals],
        "",
    ]


def review_artifact_key(reference: str) -> str:
    """The run page's "where this review stands" artifact: one key per review, so each gate
    makes a new version of the same artifact (keys allow lowercase letters, digits, dashes)."""
    return "review-" + re.sub(r"[^a-z0-9]+", "-", reference.lower()).strip("-")


def _show_on_run_page(reference: str, lines: list[str]) -> None:
    create_markdown_artifact(
        markdown="\n".join(lines) + "\n",
        key=review_artifact_key(reference),
        description=f"Where review {reference} stands: the gate it waits at and why",
    )


def _release_notes(rt: Runtime, session: Session, review: Review) -> list[str]:
    blocked = release_blocked(rt, session, review, ["final_report"]).get("final_report", [])
    return [
        "",
        "### Anonymisation check of the final report",
        *(
            [f"- {escape_markdown(line)}" for line in blocked]
            or ["- its newest version may leave the board"]
        ),
    ]


def _shown(rt: Runtime, session: Session, review: Review, shows: tuple[str, ...]) -> list[str]:
    """The documents' lines a gate's form shows (``shows`` in ``core/gates.yaml``)."""
    lines = []
    if "final_report" in shows:
        lines += final_report_notes(session, review)
    if "release_check" in shows:
        lines += _release_notes(rt, session, review)
    return lines


def _basis_words(pack: RulePack, milestone: str) -> str:
    """What the milestone's clock rests on, for the form: "; board rule" where the board chose
    it (no text sets the period), so a board's clock is never read as law."""
    rules = {rule.milestone: rule for rule in pack.rules}
    rule = rules.get(milestone)
    return f"; {rule.basis}" if rule is not None else ""


@task
def open_gate(reference: str, spec: GateSpec, attempt: int, refusals: list[str]) -> GatePrompt:
    """Mark the review as waiting at gate ``spec``, email the person who must act (once per
    attempt) with the link to the run, and build the form's markdown description. A refused
    answer (``refusals``) leads the email, the form and the run page's review artifact, which
    shows the gate, its question and deadline; the artifact is written only while the gate
    waits (not again when a replay passes a gate already answered)."""
    gate = spec.name
    with review_step(reference) as step:
        rt, session, review = step.rt, step.session, step.review
        waiting = not any(
            store.audit_recorded(session, gate_key(reference, gate, attempt, outcome))
            for outcome in ("answered", "refused")
        )
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
            refusals=refusals,
        )
        obligation_line = (
            f"**Deadline:** {long_date(obligation.due_on)}: {days_left} days left"
            f"{' (OVERDUE)' if days_left is not None and days_left < 0 else ''} "
            f"({obligation.milestone}: {obligation.description}"
            f"{_basis_words(rt.deadlines.pack(case.regime), obligation.milestone)})"
            if obligation is not None
            else "**Deadline:** no statutory deadline for this step"
        )
        recommendation_lines = (
            [
                "",
                "### Committee recommendation",
                f"**{choice_label(recommendation.outcome)}**"
                + (
                    f" ({escape_markdown(recommendation.methodology)})"
                    if recommendation.methodology
                    else ""
                ),
                "",
                escape_markdown_block(recommendation.rationale),
            ]
            if recommendation is not None
            else []
        )
        pack = rt.deadlines.pack(case.regime)
        regime_title = pack.title
        routes = list(pack.paths)
        overrides = [choice_label(p) for p in pack.board_paths]
        reply_to = board.business_manager_email
        shown = _shown(rt, session, review, spec.shows)
    refused = _refusal_lines(refusals)
    question = [f"**Deciding:** {spec.question}", "", obligation_line]
    if waiting:
        who = "the chair" if spec.actor == "chair" else "the business manager"
        _show_on_run_page(
            reference,
            [
                f"# {case.reference} ({case.pseudonym}) waits at: {spec.title}",
                "",
                *refused,
                f"**Waiting for:** {who}, who answers with this run's **Resume** button.",
                "",
                *question,
                "",
                f"Attempt {attempt} at this gate; shown on {long_date(rt.today())}.",
            ],
        )
    lines = [
        *refused,
        f"## {spec.title}: {case.reference} ({case.pseudonym})",
        "",
        *question,
        "",
        "### The case (pseudonymised)",
        f"- Regime: {regime_title}",
        f"- Harm: {case.harm.replace('_', ' ')}; abuse or neglect: "
        f"{case.abuse_or_neglect.replace('_', ' ')}; concerns about inter-agency working: "
        f"{_yes(case.interagency_concerns)}",
        f"- Statutory criteria {case.criteria}",
        *(
            [
                "- Board overrides (local routes, not the regime's statutory path): "
                + ", ".join(overrides)
            ]
            if overrides
            else []
        ),
        f"- Agencies involved: {escape_markdown(', '.join(case.agencies))}",
        "- Parallel proceedings: "
        + (escape_markdown(", ".join(case.parallel_proceedings)) or "none recorded"),
        "",
        escape_markdown_block(case.summary, prefix="> "),
        *recommendation_lines,
        *shown,
    ]
    return GatePrompt(
        description="\n".join(lines),
        today=rt.today(),
        methods=[m.title for m in load_methods(rt.settings.rules_dir).values()],
        routes=routes,
        reply_to=reply_to,
        waiting=waiting,
    )


@task
def check_answer(
    reference: str, answer: GateAnswer, gate: str | None = None, attempt: int = 0
) -> list[str]:
    """Every problem with ``answer``, each naming its field: the subject's identity in its free
    text, then the answer's own rules against the case. Empty when the answer stands.

    A replay meets the answer the first run judged (the gate's ``attempt``, when given) and
    gets the same verdict, even if the case has changed since (a newer document version)."""
    rt = runtime()
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        if gate is not None:
            if store.audit_detail(session, gate_key(reference, gate, attempt, "answered")):
                return []
            refused = store.audit_detail(session, gate_key(reference, gate, attempt, "refused"))
            if refused is not None:
                return list(refused["problems"])
        facts = GateFacts(
            reference=reference,
            pseudonym=review.pseudonym,
            outcome=review.outcome,
            involved_agencies=[a.name for a in store.involved_agencies(session, review.id)],
            awaited_agencies=store.outstanding_agencies(session, review.id),
            earliest_publication=_earliest_publication(rt.deadlines, review, session),
            **plan_facts(session, review),
            board_agencies=[a.name for a in store.list_agencies(session, review.board_id)],
            awaited_summaries=participation.awaited_summaries(session, review.id),
            paths=list(rt.deadlines.pack(review.regime.value).paths),
            methods=[m.title for m in load_methods(rt.settings.rules_dir).values()],
            documents={
                kind.value: version
                for kind, version in documents_store.newest_versions(session, review.id).items()
            },
            release_blocked=release_blocked(rt, session, review, answer.release_checked),
            told_by=_told_by(store.review_events(session, review.id)),
        )
        identity = store.known_identity(session, review.id)
        listed = documents_store.listed_names(session, review.id) if answer.becomes_document else []
    problems = []
    for field, value in answer.model_dump(mode="json").items():
        # A bare ISO date is a date field (decided_on…), not free text.
        texts = [text for text in _texts(value) if not _ISO_DATE.fullmatch(text)]
        found = {leak for text in texts for leak in identity_leaks(text, identity)}
        if found:
            problems.append(
                f"{field}: contains the subject's real {' and '.join(sorted(found))}; "
                f"use the pseudonym ({facts.pseudonym})"
            )
        problems += sorted(
            {f"{field}: holds the {hit.found}; leave names out" for hit in _listed(texts, listed)}
        )
    return problems + answer.problems(facts)


def _texts(value: object) -> list[str]:
    """Every string in an answer's field, however nested (a timetable, recommendations)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return []


def _listed(texts: list[str], listed: list[ListedName]) -> list[Hit]:
    return find_hits([("", text) for text in texts], None, listed) if listed else []


def _told_by(events: dict[str, date]) -> date | None:
    told = [events[name] for name in ("family_told", "agencies_told") if name in events]
    return max(told) if len(told) == 2 else None


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
def refuse_answer(reference: str, gate: str, attempt: int, problems: list[str]) -> None:
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
def answered_gates(reference: str) -> dict[str, dict[str, Any]]:
    """The answers this flow run's gates took before this execution, by gate. The flow's
    replay after a resume returns them at once, instead of re-running three tasks and asking
    Prefect again at every gate it passed (a cost that grew with the square of the gates)."""
    with runtime().sessions() as session:
        review = store.get_review(session, reference)
        return store.gate_answers(session, review.id, str(flow_run.id))


@task
def close_gate(reference: str, spec: GateSpec, attempt: int, answer: GateAnswer) -> None:
    """Record (once) the accepted answer and who gave it; the review no longer waits (the run
    page's review artifact says so, until the next gate)."""
    gate = spec.name
    with review_step(reference) as step:
        if step.review.waiting_at == gate:
            step.review.waiting_at = None
        first_time = not store.audit_recorded(
            step.session, gate_key(reference, gate, attempt, "answered")
        )
        pseudonym = step.review.pseudonym
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
    if first_time:
        title = spec.title
        _show_on_run_page(
            reference,
            [
                f"# {reference} ({pseudonym}): {title} answered",
                "",
                f"Answered by {escape_markdown(answer.actor)}; "
                "the review moves on to its next step.",
            ],
        )
