"""``reviews simulate``: one complete review on a temporary embedded Prefect server and case store,
with a simulated clock that moves through the months, every gate answered through the Prefect
API, the daily sweep run every simulated day, and mail to an in-process SMTP server."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import prefect.settings
import yaml
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    PREFECT_HOME,
    PREFECT_LOGGING_LEVEL,
    PREFECT_SERVER_ANALYTICS_ENABLED,
    PREFECT_SERVER_DATABASE_CONNECTION_URL,
    PREFECT_UI_ENABLED,
    temporary_settings,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_reviews.examples import BOARD, referral_file
from case_reviews.simulation.scenario import (
    SCENARIO_DECISION,
    Agencies,
    OwnerAgencies,
    Scenario,
    drive,
)
from core.clock import LONDON, ManualClock
from core.config import Settings
from core.deadlines import load_rule_packs
from core.names import Gate
from deployments.driver import start_review
from deployments.serve import deployments
from models import action_plan_store as plans
from models import documents_store, store
from models.migrate import upgrade
from models.orm import OutboxMessage, Review
from models.schemas import BoardIn, LocalAuthorityNotificationIn, ReferralIn
from notifications.smtp_catcher import SmtpCatcher, free_port
from portal.server import PortalServer
from services.action_plans import PROGRESS_MILESTONE
from services.referrals import record_referral
from services.runtime import Runtime, use_runtime
from services.sweep import run_sweep

EXAMPLE_FOR_REGIME = {
    "scr": "scr-child-t",
    "lcspr": "lcspr-child-m",
    "sar": "sar-adult-b",
    "cpr": "cpr-child-w",
    "apr": "apr-adult-w",
    "susr": "susr-adult-d",
}
REMINDER_KINDS = frozenset({"reminder", "overdue_notice", "escalation"})
OVERDUE_KINDS = frozenset({"overdue_notice", "escalation"})


def scenarios_for(regime: str, rules_dir: Path | None = None) -> list[str]:
    """The scenarios the regime's routes allow (its rule pack's ``paths``), in their order."""
    paths = load_rule_packs(rules_dir)[regime].paths
    return [name for name, decision in SCENARIO_DECISION.items() if decision in paths]


def _agencies_asked(session: Session, review: Review) -> list[str]:
    """The agencies asked for anything (a timeline, a report, to attend, to sign off…): each
    involved agency whose address got a message other than a reminder, by name."""
    addresses = {a.contact_email: a.name for a in store.involved_agencies(session, review.id)}
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.review_id == review.id))
    return sorted(
        {
            addresses[row.recipient]
            for row in rows
            if row.recipient in addresses and row.kind not in REMINDER_KINDS
        }
    )


#: Server loops a one-review simulation has no use for (scheduling the sweep and recovery
#: deployments' runs, marking them late, the zombie automation, …): off, they leave the two
#: cores to the review.
IDLE_SERVICES = ("scheduler", "late_runs", "foreman", "triggers", "cancellation_cleanup")


def _template_database() -> Path:
    """Where a migrated, empty Prefect database for this Prefect version is kept: a new
    server on a copy skips Prefect's migrations (most of its start-up on a fresh database)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "case-reviews"
    return cache / f"prefect-{prefect.__version__}.db"


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its write-ahead log included)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


@contextlib.contextmanager
def _server(home: Path) -> Iterator[str]:
    database = "sqlite+aiosqlite:///" + str(home / "prefect.db")
    services = {f"PREFECT_SERVER_SERVICES_{name.upper()}_ENABLED": False for name in IDLE_SERVICES}
    with temporary_settings(
        updates={
            PREFECT_HOME: str(home),
            PREFECT_SERVER_DATABASE_CONNECTION_URL: database,
            PREFECT_SERVER_ANALYTICS_ENABLED: False,
            PREFECT_UI_ENABLED: False,
            PREFECT_LOGGING_LEVEL: "WARNING",
            **{getattr(prefect.settings, name): value for name, value in services.items()},
        }
    ):
        server = SubprocessASGIServer(port=free_port())
        server.start(timeout=120)
        try:
            with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
                yield server.api_url
                # Ship the runs' logs and events while the server is still there to take
                # them; otherwise their workers retry a stopped server at exit.
                APILogWorker.drain_all(timeout=10)
                EventsWorker.drain_all(timeout=10)
        finally:
            server.stop()


@contextlib.contextmanager
def embedded_prefect(home: Path) -> Iterator[str]:
    """A Prefect server in a subprocess with its home and SQLite database under ``home``,
    started from a copy of a migrated empty database (made by the first run)."""
    home.mkdir(parents=True, exist_ok=True)
    template = _template_database()
    if not template.is_file():
        with tempfile.TemporaryDirectory() as scratch:
            with _server(Path(scratch)):
                pass  # the server migrated scratch/prefect.db on start
            template.parent.mkdir(parents=True, exist_ok=True)
            partial = template.with_suffix(f".{os.getpid()}.tmp")
            _copy_database(Path(scratch) / "prefect.db", partial)
            partial.replace(template)  # atomic: a concurrent run sees all of it or none
    _copy_database(template, home / "prefect.db")
    with _server(home) as api_url:
        yield api_url


def _referral(regime: str, subject_name: str | None) -> ReferralIn:
    path = referral_file(EXAMPLE_FOR_REGIME[regime])
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["regime"] = regime
    if subject_name is not None:
        data["subject"]["full_name"] = subject_name
    return ReferralIn.model_validate(data)


def _local_authority_notifies(rt: Runtime, regime: str) -> bool:
    rules = {rule.milestone: rule for rule in rt.deadlines.pack(regime).rules}
    notification = rules.get("panel_notification")
    return notification is not None and notification.owed_by == "local_authority"


def simulate(
    regime: str, scenario: Scenario, keep: Path | None = None, subject_name: str | None = None
) -> dict[str, Any]:
    """Run one review from referral to its end; returns the summary ``--json`` prints."""
    started = time.perf_counter()
    referral = _referral(regime, subject_name)
    with contextlib.ExitStack() as stack:
        if keep is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reviews-sim-")))
        else:
            workdir = keep.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        # --keep keeps every message sent (DIR/mail/*.eml) and every stored document
        # (DIR/documents/, each file under its SHA-256).
        smtp = stack.enter_context(SmtpCatcher(mail_dir=workdir / "mail" if keep else None))
        api_url = stack.enter_context(embedded_prefect(workdir / "prefect"))
        # Started inside the Prefect settings above, so its self-resuming gate finds the server.
        portal = stack.enter_context(PortalServer())
        for deployment in deployments():
            deployment.apply()
        database_url = f"sqlite:///{workdir / 'reviews.db'}"
        upgrade(database_url)
        clock = ManualClock(datetime.combine(referral.notified_on, clock_time(9), tzinfo=LONDON))
        rt = Runtime.from_settings(
            Settings(
                database_url=database_url,
                mail_url=smtp.url(),
                ui_url=api_url.removesuffix("/api"),
                portal_url=portal.url,
                documents_dir=workdir / "documents",
            ),
            clock=clock,
        )
        stack.enter_context(use_runtime(rt))
        with rt.sessions.begin() as session:
            board = store.load_board(
                session,
                BoardIn.model_validate(yaml.safe_load(BOARD.read_text())),
            )
            review = record_referral(rt, session, referral, board_id=board.id, actor="simulation")
            reference = review.reference
            if _local_authority_notifies(rt, regime):
                # The local authority notifies the panel the day it learns of the incident.
                store.record_local_authority_notification(
                    session,
                    review=review,
                    notification=LocalAuthorityNotificationIn(
                        sent_on=rt.today(), to=["national_panel", "ofsted"]
                    ),
                    actor="local authority (simulated)",
                    now=rt.now(),
                )
        run_id = start_review(rt, reference)
        agencies = Agencies(rt, lambda: smtp.received, reference)
        owners = OwnerAgencies(rt, lambda: smtp.received, reference)

        def each_day() -> None:
            agencies()
            owners()
            run_sweep(rt)

        # In-process runs on a temporary server: heartbeats (for the zombie automation of a
        # real deployment) would only hold each execution up to a second at its end.
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            result = drive(rt, clock, run_id, reference, scenario, between_gates=each_day)
        # Let time run on past the last gate for whatever the sweep still owes.
        for _ in range(7):
            clock.advance(timedelta(days=1))
            run_sweep(rt)
        with rt.sessions() as session:
            review = store.get_review(session, reference)
            stages = store.completed_stages(session, review.id)
            kinds = Counter(row.kind for row in session.scalars(select(OutboxMessage)))
            outcome = review.outcome or "none"
            status = review.status.value
            timeline = store.combined_timeline(session, review)
            agencies_asked = _agencies_asked(session, review)
            actions = [
                {
                    "number": i.number,
                    "action": i.action,
                    "owner": i.owner_agency,
                    "status": i.status.value,
                    "due": i.due_on.isoformat(),
                }
                for i in plans.item_views(session, review.id)
            ]
            progress_reports = len(plans.progress_reports(session, [review.id]))
            quarters = plans.quarters_opened(session, review.id, PROGRESS_MILESTONE)
            chased_after_met = store.rounds_after_met(session, review.id)
            stored = [
                {"kind": d.kind.value, "version": d.version, "sha256": d.sha256}
                for d in documents_store.documents(session, review.id)
            ]
            blocked = store.refused_answers(session, review.id, Gate.ANONYMISATION)
        delivered = Counter((m.recipients, m.key) for m in smtp.received)
        return {
            "regime": regime,
            "scenario": scenario,
            "reference": reference,
            "outcome": outcome,
            "status": status,
            "final_state": result.state,
            "stages": stages,
            "gates": len(result.gates),
            "emails_sent": len(smtp.received),
            "reminders_sent": sum(n for kind, n in kinds.items() if kind in REMINDER_KINDS),
            "duplicate_emails": sum(n - 1 for n in delivered.values() if n > 1),
            "agencies_submitted": len(timeline.agencies),
            "agency_summaries_submitted": len(agencies.summaries),
            "timeline_events": len(timeline.entries),
            # Names of the agencies asked for anything (``len`` gives the count).
            "agencies_asked": agencies_asked,
            "overdue_notices": sum(n for kind, n in kinds.items() if kind in OVERDUE_KINDS),
            "actions": actions,
            "progress_reports": progress_reports,
            "quarters_opened": quarters,
            "chased_after_met": chased_after_met,
            "simulated_days": (clock.now().date() - referral.notified_on).days,
            "documents": stored,
            # Hits the anonymisation gate refused (the first version names the child).
            "anonymisation_hits_blocked": sum(
                1
                for problems in blocked
                for line in problems
                if line.startswith("final_report: version")
            ),
            "kept_in": str(workdir) if keep is not None else None,
            "elapsed_seconds": round(time.perf_counter() - started, 2),
        }
    raise AssertionError("unreachable")
