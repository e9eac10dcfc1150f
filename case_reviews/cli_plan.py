"""``reviews`` commands for what follows the report: recommendations, the action plan, learning
themes, clock-miss reasons, and the committee's and the board's reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from case_reviews.cli_common import (
    attempt,
    change_as_operator,
    change_review,
    fail,
    get_review,
    json_text,
    read_bytes,
    ready,
)
from core.themes import ThemeListError, load_themes
from models import action_plan_store as plans
from models import store
from models.action_plan import PlanRejected, parse_plan_file, template_csv, template_xlsx
from models.orm import Review
from models.reports_store import Quarter
from services.action_plans import (
    ActionRefused,
    close_item,
    proceed_without_signoff,
    request_signoffs,
    resend_signoff_links,
    signoff_state,
)
from services.runtime import Runtime, runtime

plan_cli = typer.Typer()
"""Registered by ``case_reviews.cli`` at the top level: its groups and ``clock-miss``."""
recommendations_app = typer.Typer(
    help="Recommendations recorded at the final report.", no_args_is_help=True
)
plan_app = typer.Typer(help="The review's action plan.", no_args_is_help=True)
themes_app = typer.Typer(help="Learning themes across reviews.", no_args_is_help=True)
report_app = typer.Typer(
    help="The committee's quarterly report and the annual report pack.", no_args_is_help=True
)
plan_cli.add_typer(recommendations_app, name="recommendations")
plan_cli.add_typer(plan_app, name="plan")
plan_cli.add_typer(themes_app, name="themes")
plan_cli.add_typer(report_app, name="report")


def _by(rt: Runtime) -> dict[str, Any]:
    """Who records a change and when: the configured operator, now."""
    return {"actor": rt.settings.operator, "now": rt.now()}


# The options, each with its help (one line per command signature).
Number = Annotated[int, typer.Option(help="The recommendation's number in the report.")]
Wording = Annotated[str, typer.Option(help="The recommendation as the report words it.")]
Outcome = Annotated[str, typer.Option(help="Its intended outcome.")]
Timescale = Annotated[str, typer.Option(help="Its timescale, e.g. 'within six months'.")]
UnsignedAgency = Annotated[str, typer.Option(help="The owner agency that has not signed off.")]
WhyWithout = Annotated[str, typer.Option(help="Why the plan goes on without it.")]
MissedClock = Annotated[str, typer.Option(help="The clock, e.g. panel_notification.")]
WhyMissed = Annotated[str, typer.Option(help="Why it was missed.")]


# --- recommendations ------------------------------------------------------------------------


@recommendations_app.command("add")
def recommendations_add(
    reference: str, number: Number, text: Wording, outcome: Outcome, timescale: Timescale
) -> None:
    """Record a recommendation of the final report, with its intended outcome and timescale."""
    change_as_operator(
        reference,
        plans.add_recommendation,
        number=number,
        text=text,
        intended_outcome=outcome,
        timescale=timescale,
    )
    typer.echo(f"{reference}: recommendation {number} recorded")


@recommendations_app.command("list")
def recommendations_list(
    reference: str, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """The review's recommendations."""
    rt = ready()
    with rt.sessions() as session:
        review = get_review(session, reference)
        views = plans.recommendation_views(session, review.id)
    if as_json:
        typer.echo(json_text(list(views)))
        return
    for v in views:
        declined = (
            f"  [not implemented: {v.not_implemented_reason}]" if v.not_implemented_reason else ""
        )
        typer.echo(f"{v.number}. {v.text} (outcome: {v.intended_outcome}; {v.timescale}){declined}")


@recommendations_app.command("not-implemented")
def recommendations_not_implemented(
    reference: str,
    number: Annotated[int, typer.Option(help="The recommendation.")],
    reason: Annotated[str, typer.Option(help="Why the board will not implement it.")],
) -> None:
    """Record the board's decision not to implement a recommendation, with the reason (the
    annual report gives it, as the Care Act asks for SARs). Audited."""
    change_as_operator(reference, plans.decline_recommendation, number=number, reason=reason)
    typer.echo(f"{reference}: recommendation {number} recorded as not implemented")


# --- the plan ---------------------------------------------------------------------------------


@plan_app.command("template")
def plan_template(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write it.")],
    format: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
) -> None:
    """Write a blank action plan (headings and one example row)."""
    if format not in {"csv", "xlsx"}:
        fail(f"--format: expected csv or xlsx, got {format!r}")
    output.write_bytes(template_csv() if format == "csv" else template_xlsx())
    typer.echo(f"action plan template written to {output}")


@plan_app.command("load")
def plan_load(reference: str, file: Path) -> None:
    """Load action plan items from a CSV or Excel file: all of them, or (with every problem
    named by row and column) none."""
    rt = ready()
    data = read_bytes(file)
    try:
        items = parse_plan_file(file.name, data)
        with rt.sessions.begin() as session:
            review = store.get_review(session, reference)
            added = plans.load_plan(
                session,
                review=review,
                items=items,
                actor=rt.settings.operator,
                source=f"cli: {file.name}",
                now=rt.now(),
            )
            numbers = [a.number for a in added]
    except PlanRejected as exc:
        fail("\n".join(str(p) for p in exc.problems))
    except store.NotFound as exc:
        fail(str(exc))
    typer.echo(f"{reference}: {len(numbers)} items added (numbers {numbers[0]} to {numbers[-1]})")


@plan_app.command("show")
def plan_show(reference: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The action plan: each item with its recommendation, owner, due date and status, and
    each owner agency's sign-off."""
    rt = ready()
    with rt.sessions() as session:
        review = get_review(session, reference)
        items = plans.item_views(session, review.id)
        states = signoff_state(session, review)
    if as_json:
        data = {"items": [i.model_dump(mode="json") for i in items], "signoff": states}
        typer.echo(json_text(data))
        return
    if not items:
        typer.echo(f"{reference}: no action plan items yet")
        return
    for i in items:
        typer.echo(
            f"{i.number:3}. [R{i.recommendation}] {i.action} — {i.owner_agency}, due "
            f"{i.due_on:%d %b %Y}, {i.status.value.replace('_', ' ')}"
        )
    for agency, state in states.items():
        typer.echo(f"sign-off: {agency}: {state.replace('_', ' ')}")


@plan_app.command("request-signoff")
def plan_request_signoff(reference: str) -> None:
    """Ask each owner agency to sign off its own items (its portal link, by the
    ``action_plan_signoff`` date); asking again sends nothing twice."""
    rt = ready()
    queued = attempt(lambda: request_signoffs(rt, reference), store.NotFound, ActionRefused)
    typer.echo(f"{reference}: {queued} sign-off requests queued")


@plan_app.command("resend-links")
def plan_resend_links(reference: str) -> None:
    """Send each owner agency that has not answered its sign-off a fresh link (signed with the
    portal's key now); each resend sends once, and is audited."""
    rt = ready()
    queued = attempt(
        lambda: resend_signoff_links(rt, reference, rt.settings.operator),
        store.NotFound,
        ActionRefused,
    )
    typer.echo(f"{reference}: {queued} sign-off links resent")


@plan_app.command("proceed-without")
def plan_proceed_without(reference: str, agency: UnsignedAgency, reason: WhyWithout) -> None:
    """Go on without an owner agency's sign-off: recorded as missing (not met), audited."""
    rt = ready()
    attempt(
        lambda: proceed_without_signoff(rt, reference, agency, reason, rt.settings.operator),
        store.InputRejected,
        store.NotFound,
        ActionRefused,
    )
    typer.echo(f"{reference}: going on without {agency}'s sign-off (recorded as missing)")


@plan_app.command("close")
def plan_close(
    reference: str,
    item: Annotated[int, typer.Option(help="The item's number.")],
    reason: Annotated[str, typer.Option(help="Why the committee closes it.")],
    impact: Annotated[
        str, typer.Option(help="The impact evaluation: what changed, how it was measured.")
    ] = "",
) -> None:
    """The performance committee closes an item, with its reason (audited)."""
    rt = ready()
    attempt(
        lambda: close_item(rt, reference, item, reason, rt.settings.operator, impact),
        store.InputRejected,
        store.NotFound,
    )
    typer.echo(f"{reference}: item {item} closed")


# --- themes and clocks --------------------------------------------------------------------------


def _themes(rt: Runtime) -> list[str]:
    try:
        return load_themes(rt.settings.themes_file)
    except ThemeListError as exc:
        fail(str(exc), code=1)


@themes_app.command("list")
def themes_list() -> None:
    """The board's learning themes (REVIEWS_THEMES_FILE, or the default list)."""
    for theme in _themes(runtime()):
        typer.echo(theme)


@themes_app.command("tag")
def themes_tag(
    reference: str, theme: Annotated[list[str], typer.Argument(help="Themes from the list.")]
) -> None:
    """Tag a review's findings with themes from the board's list."""
    known = _themes(ready())
    added = change_as_operator(reference, plans.tag_review, themes=theme, known=known)
    typer.echo(f"{reference}: tagged {', '.join(added) if added else 'nothing new'}")


@plan_cli.command("clock-miss")
def clock_miss(reference: str, milestone: MissedClock, reason: WhyMissed) -> None:
    """Record why a statutory clock of the review was missed (the annual report gives it)."""
    rt = ready()

    def record(session: Session, review: Review) -> None:
        clocks = sorted(
            {o.milestone for o in store.obligations(session, review.id) if o.agency_id is None}
        )
        plans.record_clock_miss(
            session,
            review=review,
            milestone=milestone,
            reason=reason,
            known_milestones=clocks,
            **_by(rt),
        )

    change_review(rt, reference, record)
    typer.echo(f"{reference}: reason recorded for the missed {milestone} clock")


# --- reports ------------------------------------------------------------------------------------


@report_app.command("quarterly")
def report_quarterly(
    quarter: Annotated[str, typer.Option(help="The quarter, e.g. 2027Q1.")],
    output: Annotated[Path, typer.Option(help="Directory for the HTML, PDF and CSV files.")],
    board: Annotated[str | None, typer.Option(help="The board (if several are loaded).")] = None,
) -> None:
    """The performance committee's quarterly report: every open plan, RAG per item, what
    changed, overdue items with their owner, items the committee may close."""
    # WeasyPrint and matplotlib take about two seconds to import: only the reports load them.
    from services.committee_reports import produce_quarterly

    try:
        which = Quarter.parse(quarter)
    except ValueError as exc:
        fail(f"--quarter: {exc}")
    rt = ready()
    try:
        paths = produce_quarterly(rt, board, which, output)
    except store.NotFound as exc:
        fail(f"--board: {exc}")
    for path in paths:
        typer.echo(str(path))


@report_app.command("annual")
def report_annual(
    year: Annotated[int, typer.Option(help="The year, e.g. 2027.")],
    output: Annotated[Path, typer.Option(help="Directory for the HTML, PDF and CSV files.")],
    board: Annotated[str | None, typer.Option(help="The board (if several are loaded).")] = None,
) -> None:
    """The board's annual report pack: referrals and decisions, statutory clocks met or missed
    (with reasons), reviews published, actions, learning themes, and SAR findings."""
    from services.committee_reports import produce_annual  # slow imports (see quarterly)

    if not 2000 <= year <= 2100:
        fail(f"--year: {year} is not a plausible year")
    rt = ready()
    try:
        paths = produce_annual(rt, board, year, output)
    except store.NotFound as exc:
        fail(f"--board: {exc}")
    for path in paths:
        typer.echo(str(path))
