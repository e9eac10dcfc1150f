"""The ``reviews`` command line: what the business manager types."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from core import datafiles
from core.clock import LONDON, ManualClock
from core.config import get_settings
from core.deadlines import ClockStop, UnknownEventError, UnknownRegimeError
from core.secrets import use_stored_prefect_auth
from models import store
from models.migrate import upgrade
from models.schemas import BoardIn, ReferralIn
from models.timeline import TimelineRejected, parse_timeline_file
from notifications.exports import to_csv, to_html
from services.links import portal_link, timeline_due
from services.referrals import record_referral
from services.runtime import Runtime, SchemaNotReady, runtime

app = typer.Typer(help="Statutory case reviews, run as Prefect flows.", no_args_is_help=True)
db_app = typer.Typer(help="The case store.", no_args_is_help=True)
board_app = typer.Typer(help="The board and its agency directory.", no_args_is_help=True)
agencies_app = typer.Typer(help="Agencies.", no_args_is_help=True)
referral_app = typer.Typer(help="Referrals.", no_args_is_help=True)
timeline_app = typer.Typer(help="Agency timelines of significant events.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(board_app, name="board")
app.add_typer(agencies_app, name="agencies")
app.add_typer(referral_app, name="referral")
app.add_typer(timeline_app, name="timeline")

INPUT_ERROR = 2


@app.callback()
def _before_every_command() -> None:
    # The demo keeps the Prefect API auth string it drew in a file; hand it to Prefect's
    # client (which reads its settings once, when first imported: Prefect is imported lazily
    # by the commands below) unless PREFECT_API_AUTH_STRING is set.
    use_stored_prefect_auth(get_settings().prefect_auth_file)


Model = TypeVar("Model", bound=BaseModel)


def fail(message: str, code: int = INPUT_ERROR) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


def _dump(models: list[BaseModel] | BaseModel) -> str:
    if isinstance(models, list):
        return _json([m.model_dump(mode="json") for m in models])
    return _json(models.model_dump(mode="json"))


def _ready() -> Runtime:
    rt = runtime()
    try:
        rt.check_schema()
    except SchemaNotReady as exc:
        fail(str(exc), code=1)
    return rt


def validation_lines(exc: ValidationError) -> list[str]:
    """One line per field: ``referrer.email: 'x' is not an email address``."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "(file)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required"
        elif error["type"] == "extra_forbidden":
            message = "is not a field of this form"
        # Model-level checks already name their field ("notified_on: …").
        lines.append(message if not error["loc"] and ": " in message else f"{field}: {message}")
    return lines


def read_data_file(path: Path) -> Any:
    """Parse a YAML or JSON file, failing with one line that names the file."""
    try:
        return datafiles.read_data_file(path)
    except datafiles.DataFileError as exc:
        fail(str(exc))


def read_model(model: type[Model], file: Path) -> Model:
    """Validate a YAML or JSON file as ``model``; fail with one line per field if it is not."""
    try:
        return model.model_validate(read_data_file(file))
    except ValidationError as exc:
        fail("\n".join(validation_lines(exc)))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the case store to the newest schema."""
    url = runtime().settings.database_url
    upgrade(url)
    typer.echo(f"case store at {url} is up to date")


@app.command()
def deadlines(
    regime: Annotated[str, typer.Option(help="scr, lcspr, sar, cpr or apr (or a board pack)")],
    event: Annotated[list[str], typer.Option(help="NAME=YYYY-MM-DD, repeatable")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the statutory deadlines that the given events start."""
    engine = runtime().deadlines
    events: dict[str, date] = {}
    for item in event:
        name, sep, value = item.partition("=")
        if not sep:
            fail(f"--event {item!r}: expected NAME=YYYY-MM-DD")
        try:
            events[name.strip()] = date.fromisoformat(value.strip())
        except ValueError:
            fail(f"--event {name}: {value!r} is not a date (expected YYYY-MM-DD)")
    try:
        result = engine.compute(regime, events)
    except (UnknownRegimeError, UnknownEventError) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(_dump(list(result)))
        return
    for d in result:
        typer.echo(f"{d.milestone:22} {d.due:%a %d %b %Y}  {d.rule}  ({d.source})")


@board_app.command("load")
def board_load(file: Path) -> None:
    """Load (or update) the board and its agency directory from YAML or JSON."""
    rt = _ready()
    board_in = read_model(BoardIn, file)
    with rt.sessions.begin() as session:
        board = store.load_board(session, board_in)
        store.record_audit(
            session,
            review_id=None,
            actor=rt.settings.operator,
            action="board_loaded",
            detail={"board": board.name, "agencies": len(board_in.agencies)},
            at=rt.now(),
        )
    typer.echo(f"loaded {board_in.name} with {len(board_in.agencies)} agencies")


@agencies_app.command("list")
def agencies_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the board's agencies and their contacts."""
    rt = _ready()
    with rt.sessions() as session:
        try:
            board = store.get_board(session)
        except store.NotFound as exc:
            fail(str(exc), code=1)
        agencies = store.list_agencies(session, board.id)
    if as_json:
        typer.echo(_dump(list(agencies)))
        return
    for a in agencies:
        lead = a.safeguarding_lead_email or "(no safeguarding lead)"
        typer.echo(f"{a.name:40} {a.contact_email or '(no contact email)':36} {lead}")


@referral_app.command("add")
def referral_add(file: Path) -> None:
    """Validate and store a referral; prints the review reference it was given."""
    rt = _ready()
    referral = read_model(ReferralIn, file)
    try:
        with rt.sessions.begin() as session:
            board = store.get_board(session)
            review = record_referral(rt, session, referral, board_id=board.id)
    except store.InputRejected as exc:
        fail(str(exc))
    except store.DuplicateReferral as exc:
        fail(f"refused: {exc}")
    except store.NotFound as exc:
        fail(str(exc), code=1)
    typer.echo(review.reference)


@referral_app.command("show")
def referral_show(
    reference: str,
    reveal: Annotated[
        bool, typer.Option(help="Also show the subject's identity (recorded in the audit trail).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a referral, pseudonymised unless --reveal is given."""
    rt = _ready()
    with rt.sessions.begin() as session:
        try:
            view = store.referral_view(session, reference)
            identity = (
                store.reveal_identity(session, reference, actor=rt.settings.operator, now=rt.now())
                if reveal
                else None
            )
        except store.NotFound as exc:
            fail(str(exc))
    data = view.model_dump(mode="json")
    if identity is not None:
        data["identity"] = identity.model_dump(mode="json")
    if as_json:
        typer.echo(_json(data))
        return
    for key, value in data.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                typer.echo(f"{key}.{inner}: {inner_value}")
        else:
            typer.echo(f"{key}: {', '.join(value) if isinstance(value, list) else value}")


@timeline_app.command("submit")
def timeline_submit(
    reference: str,
    agency: Annotated[str, typer.Option(help="The agency the timeline is from.")],
    file: Path,
) -> None:
    """Submit an agency's timeline (CSV or Excel) on its behalf: the same checks as the portal."""
    # Submitting may resume the review's gate through Prefect, which is slow to import.
    from services.timelines import SubmissionRefused, submit_timeline

    rt = _ready()
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"{file}: cannot be read ({exc.strerror})")
    try:
        events = parse_timeline_file(file.name, data)
        result = submit_timeline(
            rt,
            reference=reference,
            agency_name=agency,
            events=events,
            submitted_by=rt.settings.operator,
            source=f"cli: {file.name}",
        )
    except TimelineRejected as exc:
        fail("\n".join(str(p) for p in exc.problems))
    except (SubmissionRefused, store.NotFound) as exc:
        fail(f"refused: {exc}")
    typer.echo(
        f"{result.reference}: {result.agency} version {result.version}, {result.events} events"
        + ("; every timeline is in" if result.all_submitted else "")
        + ("; the timelines gate was resumed" if result.gate_resumed else "")
    )


@timeline_app.command("show")
def timeline_show(
    reference: str,
    format: Annotated[str, typer.Option("--format", help="csv or html")] = "csv",
) -> None:
    """Print the combined timeline (every agency's newest version, in date order)."""
    if format not in {"csv", "html"}:
        fail(f"--format: expected csv or html, got {format!r}")
    rt = _ready()
    with rt.sessions() as session:
        try:
            review = store.get_review(session, reference)
        except store.NotFound as exc:
            fail(str(exc))
        combined = store.combined_timeline(session, review)
    typer.echo(to_csv(combined) if format == "csv" else to_html(combined), nl=False)


@timeline_app.command("link")
def timeline_link(reference: str, agency: Annotated[str, typer.Option(help="The agency.")]) -> None:
    """Print an agency's own portal link for a review (to resend it by hand)."""
    rt = _ready()
    with rt.sessions() as session:
        try:
            review = store.get_review(session, reference)
        except store.NotFound as exc:
            fail(str(exc))
        found = store.find_agency(session, review.board_id, agency)
        involved = {a.id for a in store.involved_agencies(session, review.id)}
        if found is None or found.id not in involved:
            fail(f"--agency: {agency!r} is not an agency on {reference}")
        due = timeline_due(session, review, found)
        if due is None:
            fail(f"{reference} has not requested timelines yet")
        typer.echo(portal_link(rt, reference, found.id, due))


@app.command("clock-stop")
def clock_stop(
    reference: str,
    start: Annotated[str, typer.Option(help="First day the clock is stopped (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day the clock is stopped (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option(help="Why, e.g. parallel criminal proceedings.")],
) -> None:
    """Stop the clock for a period (with the reason): the review's stoppable deadlines (the
    six-month completion target) move out by the days stopped. Recorded in the audit trail."""
    try:
        stop = ClockStop.model_validate({"start": start, "end": end, "reason": reason})
    except ValidationError as exc:
        fail("\n".join(validation_lines(exc)))
    rt = _ready()
    with rt.sessions.begin() as session:
        try:
            review = store.get_review(session, reference)
        except store.NotFound as exc:
            fail(str(exc))
        store.add_clock_stop(
            session, review_id=review.id, stop=stop, actor=rt.settings.operator, now=rt.now()
        )
        moved = store.open_obligations_from_deadlines(
            session, review=review, deadlines=rt.deadlines, now=rt.now()
        )
        lines = [f"{o.milestone}: due {o.due_on:%a %d %b %Y}" for o in moved]
    typer.echo(f"{reference}: clock stopped {stop.start} to {stop.end}")
    for line in lines:
        typer.echo(f"  {line}")


@app.command()
def start(reference: str) -> None:
    """Start the review flow for a stored referral; prints the run's Prefect UI address."""
    # Prefect (behind the driver, the demo, the simulation and the sweep) takes over a second
    # to import: only the commands that talk to it load it.
    from deployments.driver import (
        PrefectUnauthorized,
        PrefectUnavailable,
        ReviewAlreadyStarted,
        run_ui_url,
        start_review,
    )

    rt = _ready()
    try:
        run_id = start_review(rt, reference)
    except store.NotFound as exc:
        fail(str(exc))
    except ReviewAlreadyStarted as exc:
        fail(f"refused: {exc}")
    except PrefectUnavailable as exc:
        fail(f"{exc}; the referral stays stored: run 'reviews start {reference}' later", code=1)
    except PrefectUnauthorized as exc:
        fail(str(exc), code=1)
    typer.echo(run_ui_url(rt, run_id))


@app.command()
def up(
    prefect_port: Annotated[int, typer.Option(help="Port of the Prefect server and UI.")] = 4200,
    smtp_port: Annotated[int, typer.Option(help="Port of the local mail catcher.")] = 8025,
    portal_port: Annotated[int, typer.Option(help="Port of the agency portal.")] = 8800,
) -> None:
    """The demo: local Prefect server and UI, both deployments served, mail caught in var/mail,
    and an example review waiting at the chair's gate. Ctrl-C stops everything."""
    from case_reviews.demo import DemoError  # imports Prefect (see start)
    from case_reviews.demo import up as run_demo

    try:
        run_demo(prefect_port=prefect_port, smtp_port=smtp_port, portal_port=portal_port)
    except DemoError as exc:
        fail(str(exc), code=1)


@app.command()
def simulate(
    regime: Annotated[str, typer.Option(help="scr, lcspr, sar, cpr or apr")],
    scenario: Annotated[str, typer.Option(help="full, cir or no-review")] = "full",
    keep: Annotated[
        Path | None, typer.Option(help="Leave the Prefect home and the case store in DIR.")
    ] = None,
    subject_name: Annotated[
        str | None, typer.Option(help="The subject's recorded real name.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run one complete review on a temporary server with a simulated clock."""
    # Prefect reads its logging level when first imported; keep its console quiet here.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from case_reviews.simulation.run import EXAMPLE_FOR_REGIME  # imports Prefect (see start)
    from case_reviews.simulation.run import simulate as run_simulation
    from case_reviews.simulation.scenario import SCENARIO_DECISION

    if regime not in EXAMPLE_FOR_REGIME:
        fail(f"--regime: unknown regime {regime!r} (known: {', '.join(EXAMPLE_FOR_REGIME)})")
    if scenario not in SCENARIO_DECISION:
        fail(f"--scenario: unknown scenario {scenario!r} (known: {', '.join(SCENARIO_DECISION)})")
    summary = run_simulation(regime, scenario, keep, subject_name)  # type: ignore[arg-type]
    if as_json:
        typer.echo(_json(summary))
        return
    for key, value in summary.items():
        typer.echo(f"{key}: {', '.join(value) if isinstance(value, list) else value}")


@app.command()
def sweep(
    now: Annotated[
        str | None, typer.Option(help="Sweep as of this date (YYYY-MM-DD, 08:00 London).")
    ] = None,
) -> None:
    """Deliver what is queued (and, with the reminder policy, what is due)."""
    from services.sweep import run_sweep  # imports Prefect (see start)

    on = None
    if now is not None:
        try:
            on = date.fromisoformat(now)
        except ValueError:
            fail(f"--now: {now!r} is not a date (expected YYYY-MM-DD)")
    rt = _ready()
    if on is not None:
        rt = dataclasses.replace(
            rt, clock=ManualClock(datetime.combine(on, time(8), tzinfo=LONDON))
        )
    report = run_sweep(rt)
    quiet = " (weekend or bank holiday: no reminders)" if report.quiet_day else ""
    typer.echo(
        f"sweep {report.on:%a %d %b %Y}{quiet}: {report.reminders_queued} reminder messages "
        f"queued for {report.rounds_recorded} obligations"
        f"{', weekly digest queued' if report.digest_queued else ''}; "
        f"{report.sent} sent, {report.failed} failed, {report.pending} still pending"
    )


RUN_STATE_NOTES = {
    "Suspended": "",
    "Crashed": " [run CRASHED: its process died; the recover deployment reschedules it]",
    "Running": " [run running: between gates]",
    "Scheduled": " [run scheduled: waiting for a runner or worker]",
    "Late": " [run LATE: no runner or worker has picked it up; is one running?]",
    "Pending": " [run starting]",
}


def _run_states(rt: Runtime) -> dict[str, str] | None:
    """Each open review's Prefect run state, or None (with one line saying why) when Prefect
    cannot be asked."""
    # Prefect is slow to import (see start).
    from deployments.driver import PrefectUnauthorized, PrefectUnavailable, prefect_errors
    from services.recovery import run_states

    try:
        with prefect_errors():
            return run_states(rt)
    except (PrefectUnavailable, PrefectUnauthorized) as exc:
        typer.echo(f"run states unknown: {exc}", err=True)
        return None


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    runs: Annotated[
        bool, typer.Option(help="Ask Prefect each run's state (crashed, late, at a gate).")
    ] = True,
) -> None:
    """Open reviews: stage, the gate each waits at, the next deadline and days left; and
    whether each run is at its gate, between gates, late or crashed."""
    rt = _ready()
    with rt.sessions() as session:
        views = store.open_review_status(session, rt.today())
    states = _run_states(rt) if runs and views else None
    if states is not None:
        views = [v.model_copy(update={"run_state": states.get(v.reference)}) for v in views]
    if as_json:
        typer.echo(_dump(list(views)))
        return
    if not views:
        typer.echo("no open reviews")
        return
    for v in views:
        due = (
            f"{v.next_milestone} due {v.next_deadline:%a %d %b %Y} ({v.days_left} days)"
            if v.next_deadline
            else "no open deadline"
        )
        gate = f" waiting at {v.waiting_at}" if v.waiting_at else ""
        run = ""
        if v.run_state is not None:
            run = RUN_STATE_NOTES.get(v.run_state, f" [run {v.run_state}]")
            if v.run_state == "Running" and v.waiting_at:
                run = " [run running: the gate was answered, on its way to the next]"
        typer.echo(
            f"{v.reference:14} {v.regime.value:6} {v.pseudonym:10} {v.stage}{gate}; {due}{run}"
        )
