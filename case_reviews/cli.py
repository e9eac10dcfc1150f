"""The ``reviews`` command line: what the business manager types."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated

import typer

from case_reviews.cli_audit import audit_app
from case_reviews.cli_backup import backup_app
from case_reviews.cli_common import (
    change_as_operator,
    fail,
    get_review,
    json_text,
    read_bytes,
    read_model,
    ready,
    validate,
)
from case_reviews.cli_documents import documents_app, names_app
from case_reviews.cli_plan import plan_cli
from case_reviews.cli_records import delay_app, family_app, record_delay
from case_reviews.cli_users import users_app
from core.clock import LONDON, ManualClock
from core.config import get_settings
from core.deadlines import ClockStop, RulePack, UnknownEventError, UnknownRegimeError
from core.secrets import use_stored_prefect_auth
from models import store
from models.migrate import upgrade
from models.schemas import BoardIn, DelayIn, LocalAuthorityNotificationIn, ReferralIn
from models.timeline import TimelineRejected, parse_timeline_file
from notifications.exports import to_csv, to_html
from services.links import portal_link, timeline_due
from services.referrals import record_referral
from services.runtime import Runtime, runtime

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
app.add_typer(documents_app, name="documents")
app.add_typer(names_app, name="names")
app.add_typer(plan_cli)  # recommendations, plan, themes, report, clock-miss
app.add_typer(users_app, name="users")
app.add_typer(delay_app, name="delay")
app.add_typer(family_app, name="family")
app.add_typer(audit_app)  # audit REF
app.add_typer(backup_app)  # backup DIR, restore DIR


@app.callback()
def _before_every_command() -> None:
    # The demo keeps the Prefect API auth string it drew in a file; hand it to Prefect's
    # client (which reads its settings once, when first imported: Prefect is imported lazily
    # by the commands below) unless PREFECT_API_AUTH_STRING is set.
    use_stored_prefect_auth(get_settings().prefect_auth_file)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the case store to the newest schema."""
    url = runtime().settings.database_url
    upgrade(url)
    typer.echo(f"case store at {url} is up to date")


@app.command()
def deadlines(
    regime: Annotated[
        str, typer.Option(help="scr, lcspr, sar, cpr, apr or susr (or a board pack)")
    ],
    event: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=YYYY-MM-DD, repeatable (any event the case store records, e.g. "
            "incident_known, la_notified, decision); none: list the regime's clocks"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the statutory deadlines that the given events start, each with its basis (statute,
    statutory guidance, national panel guidance or board rule) and source; with no event, the
    regime's clocks and its statutory criteria. Regimes: scr (legacy), lcspr, sar, cpr and apr
    (referrals before 1 October 2024), susr (Wales, from 1 October 2024)."""
    engine = runtime().deadlines
    if not event:
        try:
            pack = engine.pack(regime)
        except UnknownRegimeError as exc:
            fail(str(exc))
        _print_pack(pack, as_json)
        return
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
        typer.echo(json_text(list(result)))
        return
    for d in result:
        note = f" [{d.note}]" if d.note else ""
        why = _basis_and_source(d.basis, d.source)
        typer.echo(f"{d.milestone:22} {d.due:%a %d %b %Y}  {d.rule}{note}  ({why})")


def _basis_and_source(basis: str, source: str) -> str:
    """'statute: Children Act 2004 s.16C'; a source that already says its basis ('board rule
    (…)') as it is."""
    return source if source.startswith(basis) else f"{basis}: {source}"


def _print_pack(pack: RulePack, as_json: bool) -> None:
    clocks = [
        {"milestone": r.milestone, "rule": r.description, "basis": r.basis, "source": r.source}
        for r in pack.rules
    ]
    routes = [
        {"route": p, "board_override": p in pack.board_paths, "label": pack.route_label(p)}
        for p in pack.paths
    ]
    if as_json:
        typer.echo(
            json_text(
                {
                    "regime": pack.regime,
                    "title": pack.title,
                    "nation": pack.nation,
                    "clocks": clocks,
                    "routes": routes,
                    "replaced": {
                        "referrals_before": pack.referrals_before.isoformat(),
                        "by": pack.superseded_by,
                    }
                    if pack.referrals_before
                    else None,
                    "criteria": pack.criteria.model_dump(mode="json") if pack.criteria else None,
                }
            )
        )
        return
    typer.echo(f"{pack.title}: {pack.nation}")
    for clock in clocks:
        typer.echo(
            f"  {clock['milestone']:26} {clock['rule']:42} "
            f"({_basis_and_source(clock['basis'], clock['source'])})"
        )
    typer.echo("Routes: " + "; ".join(str(r["label"]) for r in routes))
    if pack.referrals_before is not None:
        typer.echo(
            f"New referrals: before {pack.referrals_before.isoformat()} only "
            f"(then {pack.superseded_by}); reviews started before it run to their end"
        )
    if pack.criteria is not None:
        typer.echo(f"Statutory criteria: {pack.criteria.basis}")
        for test in pack.criteria.tests:
            typer.echo(f"  - {test.label}")


@board_app.command("load")
def board_load(file: Path) -> None:
    """Load (or update) the board and its agency directory from YAML or JSON."""
    rt = ready()
    board_in = read_model(BoardIn, file)
    with rt.sessions.begin() as session:
        board = store.load_board(session, board_in)
        store.record_audit(
            session,
            None,
            rt.settings.operator,
            "board_loaded",
            {"board": board.name, "agencies": len(board_in.agencies)},
            rt.now(),
        )
    typer.echo(f"loaded {board_in.name} with {len(board_in.agencies)} agencies")


@agencies_app.command("list")
def agencies_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the board's agencies and their contacts."""
    rt = ready()
    with rt.sessions() as session:
        try:
            board = store.get_board(session)
        except store.NotFound as exc:
            fail(str(exc), code=1)
        agencies = store.list_agencies(session, board.id)
    if as_json:
        typer.echo(json_text(list(agencies)))
        return
    for a in agencies:
        lead = a.safeguarding_lead_email or "(no safeguarding lead)"
        typer.echo(f"{a.name:40} {a.contact_email or '(no contact email)':36} {lead}")


@referral_app.command("add")
def referral_add(file: Path) -> None:
    """Validate and store a referral; prints the review reference it was given, and where a case
    below the statutory threshold goes (as the regime's rule pack says)."""
    rt = ready()
    referral = read_model(ReferralIn, file)
    try:
        with rt.sessions.begin() as session:
            board = store.get_board(session)
            review = record_referral(rt, session, referral, board_id=board.id)
            assessment = store.criteria_assessment(session, review, rt.deadlines)
    except store.InputRejected as exc:
        fail(str(exc))
    except store.DuplicateReferral as exc:
        fail(f"refused: {exc}")
    except store.NotFound as exc:
        fail(str(exc), code=1)
    typer.echo(review.reference)
    if assessment is not None and not assessment.met:
        typer.echo(f"{review.reference}: statutory criteria {assessment.summary}")


@referral_app.command("la-notification")
def referral_la_notification(
    reference: str,
    sent_on: Annotated[str, typer.Option(help="When the local authority sent it (YYYY-MM-DD).")],
    to: Annotated[
        list[str], typer.Option(help="national_panel, ofsted or secretary_of_state; repeatable")
    ],
) -> None:
    """Record the local authority's serious incident notification for an LCSPR (the date sent
    and to whom); its five-working-day deadline is then met and its reminders stop, and the
    rapid review's 15 working days are counted from it."""
    notification = validate(LocalAuthorityNotificationIn, {"sent_on": sent_on, "to": to})
    change_as_operator(
        reference,
        store.record_local_authority_notification,
        notification=notification,
        deadlines=runtime().deadlines,
    )
    typer.echo(f"{reference}: local authority notification of {sent_on} recorded")


@referral_app.command("show")
def referral_show(
    reference: str,
    reveal: Annotated[
        bool, typer.Option(help="Also show the subject's identity (recorded in the audit trail).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a referral, pseudonymised unless --reveal is given."""
    rt = ready()
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
        typer.echo(json_text(data))
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
    from deployments.connection import PrefectUnreachable, board_prefect_server, check_reachable
    from services.timelines import SubmissionRefused, submit_timeline

    rt = ready()
    data = read_bytes(file)
    # The submission is stored whether or not Prefect answers (the sweep resumes a missed
    # gate); only the gate's resume talks to the board's Prefect server.
    with board_prefect_server(rt.settings) as server:
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
    if result.all_submitted and not result.gate_resumed:
        try:
            check_reachable(server)
        except PrefectUnreachable as exc:
            fail(f"the timelines gate was not resumed: {exc}", code=1)


@timeline_app.command("show")
def timeline_show(
    reference: str,
    format: Annotated[str, typer.Option("--format", help="csv or html")] = "csv",
) -> None:
    """Print the combined timeline (every agency's newest version, in date order)."""
    if format not in {"csv", "html"}:
        fail(f"--format: expected csv or html, got {format!r}")
    rt = ready()
    with rt.sessions() as session:
        review = get_review(session, reference)
        combined = store.combined_timeline(session, review)
    typer.echo(to_csv(combined) if format == "csv" else to_html(combined), nl=False)


@timeline_app.command("link")
def timeline_link(reference: str, agency: Annotated[str, typer.Option(help="The agency.")]) -> None:
    """Print an agency's own portal link for a review (to resend it by hand)."""
    rt = ready()
    with rt.sessions() as session:
        review = get_review(session, reference)
        found = store.find_agency(session, review.board_id, agency)
        involved = {a.id for a in store.involved_agencies(session, review.id)}
        if found is None or found.id not in involved:
            fail(f"--agency: {agency!r} is not an agency on {reference}")
        due = timeline_due(session, review, found)
        if due is None:
            fail(f"{reference} has not requested timelines yet")
        typer.echo(portal_link(rt, reference, found.id, due))


StopStart = Annotated[str, typer.Option(help="First day the clock is stopped (YYYY-MM-DD).")]
StopEnd = Annotated[str, typer.Option(help="Last day the clock is stopped (YYYY-MM-DD).")]
StopReason = Annotated[str, typer.Option(help="Why, e.g. parallel criminal proceedings.")]


@app.command("clock-stop")
def clock_stop(reference: str, start: StopStart, end: StopEnd, reason: StopReason) -> None:
    """Record a delay for a period (with the reason), as ``reviews delay record`` does. The
    six-month target stands unless the regime's pack lets a delay move it
    (``delays_move_dates``). Recorded in the audit trail."""
    stop = validate(ClockStop, {"start": start, "end": end, "reason": reason})
    delay = DelayIn(reason=stop.reason, start=stop.start, end=stop.end)
    lines = record_delay(ready(), reference, delay)
    typer.echo(f"{reference}: delay recorded from {stop.start} to {stop.end}")
    for line in lines:
        typer.echo(f"  {line}")


@app.command()
def start(reference: str) -> None:
    """Start the review flow for a stored referral; prints the run's Prefect UI address."""
    # Prefect (behind the driver, the demo, the simulation and the sweep) takes over a second
    # to import: only the commands that talk to it load it.
    from deployments.connection import board_prefect_server, fix
    from deployments.driver import (
        PrefectUnauthorized,
        PrefectUnavailable,
        ReviewAlreadyStarted,
        run_ui_url,
        start_review,
    )

    rt = ready()
    with board_prefect_server(rt.settings) as server:
        try:
            run_id = start_review(rt, reference)
        except store.NotFound as exc:
            fail(str(exc))
        except ReviewAlreadyStarted as exc:
            fail(f"refused: {exc}")
        except PrefectUnavailable as exc:
            fail(
                f"{exc}: {fix(server)}; the referral stays stored: "
                f"run 'reviews start {reference}' later",
                code=1,
            )
        except PrefectUnauthorized as exc:
            fail(str(exc), code=1)
    typer.echo(run_ui_url(rt, run_id))


@app.command()
def recover(reference: str) -> None:
    """Bring back a review whose run stopped (Failed, or Crashed past the automatic
    recoveries) once the cause is fixed: the run is rescheduled and replays, repeating
    nothing, to the gate it was at. Audited."""
    from deployments.connection import board_prefect_server, fix
    from deployments.driver import PrefectUnauthorized, PrefectUnavailable, prefect_errors
    from services.recovery import NothingToRecover, recover_review

    rt = ready()
    with board_prefect_server(rt.settings) as server:
        try:
            with prefect_errors():
                was = recover_review(rt, reference, actor=rt.settings.operator)
        except (store.NotFound, NothingToRecover) as exc:
            fail(str(exc))
        except PrefectUnavailable as exc:
            fail(f"{exc}: {fix(server)}", code=1)
        except PrefectUnauthorized as exc:
            fail(str(exc), code=1)
    typer.echo(f"{reference}: the run was {was}; rescheduled, it resumes at its gate")


@app.command()
def up(
    prefect_port: Annotated[int, typer.Option(help="Port of the Prefect server and UI.")] = 4200,
    smtp_port: Annotated[int, typer.Option(help="Port of the local mail catcher.")] = 8025,
    portal_port: Annotated[int, typer.Option(help="Port of the agency portal.")] = 8800,
    workspace_port: Annotated[int, typer.Option(help="Port of the board's workspace.")] = 8900,
) -> None:
    """The demo: local Prefect server and UI, both deployments served, mail caught in var/mail,
    and an example review waiting at the chair's gate. Ctrl-C stops everything."""
    from case_reviews.demo import DemoError  # imports Prefect (see start)
    from case_reviews.demo import up as run_demo

    try:
        run_demo(
            prefect_port=prefect_port,
            smtp_port=smtp_port,
            portal_port=portal_port,
            workspace_port=workspace_port,
        )
    except DemoError as exc:
        fail(str(exc), code=1)


@app.command()
def simulate(
    regime: Annotated[str, typer.Option(help="scr, lcspr, sar, cpr, apr or susr")],
    scenario: Annotated[
        str | None,
        typer.Option(
            help="full, cir, iar, forum or no-review (lcspr also national; Wales: concise, "
            "extended, forum or no-review); default: the regime's first"
        ),
    ] = None,
    keep: Annotated[
        Path | None, typer.Option(help="Leave the Prefect home and the case store in DIR.")
    ] = None,
    subject_name: Annotated[
        str | None, typer.Option(help="The subject's recorded real name.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run one complete review on a temporary server with a simulated clock."""
    # Quiet unless PREFECT_LOGGING_LEVEL says otherwise, or --keep keeps the server's
    # database to read. Prefect configured its logging when this module imported it, so the
    # level is set on its logger: every record below it would be formatted for the console and
    # shipped to a server about to be deleted.
    if keep is None:
        logging.getLogger("prefect").setLevel(
            os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING").upper()
        )
    from case_reviews.simulation.choices import EXAMPLE_FOR_REGIME, scenarios_for
    from case_reviews.simulation.server import simulation_home

    if regime not in EXAMPLE_FOR_REGIME:
        fail(f"--regime: unknown regime {regime!r} (known: {', '.join(EXAMPLE_FOR_REGIME)})")
    valid = scenarios_for(regime, get_settings().rules_dir)
    scenario = scenario or valid[0]
    if scenario not in valid:
        fail(f"--scenario: {scenario!r} is not a route of {regime} (choose: {', '.join(valid)})")
    # The Prefect server starts first, in its own process, while the simulation (the flows,
    # the portal, the documents) is imported here.
    with simulation_home(keep) as home:
        from case_reviews.simulation.run import simulate as run_simulation

        summary = run_simulation(regime, scenario, keep, subject_name, home)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json_text(summary))
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
    from deployments.connection import PrefectUnreachable, board_prefect_server, check_reachable
    from services.sweep import run_sweep  # imports Prefect (see start)
    from services.timelines import timeline_gates_ready

    on = None
    if now is not None:
        try:
            on = date.fromisoformat(now)
        except ValueError:
            fail(f"--now: {now!r} is not a date (expected YYYY-MM-DD)")
    rt = ready()
    if on is not None:
        rt = dataclasses.replace(
            rt, clock=ManualClock(datetime.combine(on, time(8), tzinfo=LONDON))
        )
    with board_prefect_server(rt.settings) as server:
        # Prefect is needed only to resume gates whose timelines are all in: when there are
        # some, an unreachable server stops the sweep before it does anything.
        if timeline_gates_ready(rt):
            try:
                check_reachable(server)
            except PrefectUnreachable as exc:
                fail(str(exc), code=1)
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
    from prefect.settings import PREFECT_API_URL

    from deployments.connection import board_prefect_server
    from deployments.driver import PrefectUnauthorized, PrefectUnavailable, prefect_errors
    from services.recovery import run_states

    with contextlib.ExitStack() as stack:
        if not PREFECT_API_URL.value():
            # No Prefect server configured: the board's, never a temporary one.
            stack.enter_context(board_prefect_server(rt.settings))
        try:
            with prefect_errors():
                return run_states(rt)
        except (PrefectUnavailable, PrefectUnauthorized) as exc:
            typer.echo(f"run states unknown: {exc}", err=True)
            return None
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
    rt = ready()
    with rt.sessions() as session:
        views = store.open_review_status(session, rt.today(), rt.deadlines)
    states = _run_states(rt) if runs and views else None
    if states is not None:
        views = [v.model_copy(update={"run_state": states.get(v.reference)}) for v in views]
    if as_json:
        typer.echo(json_text(list(views)))
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
        for d in v.delays:
            until = f"to {d.end}" if d.end else "ongoing"
            moves = "moves the statutory dates" if d.moves_dates else "the statutory dates stand"
            learning = f"; learning meanwhile: {d.learning}" if d.learning else ""
            typer.echo(f"  delay from {d.start} {until}: {d.reason} ({moves}){learning}")
        if v.family:
            steps = ", ".join(f"{f.step.replace('_', ' ')} {f.on_date}" for f in v.family)
            typer.echo(f"  family: {steps}")
