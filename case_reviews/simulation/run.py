"""``reviews simulate``: one complete review on a temporary embedded Prefect server and case store,
with a simulated clock that moves through the months, every gate answered through the Prefect
API, the daily sweep run every simulated day, and mail to an in-process SMTP server."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import yaml
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_HOME,
    PREFECT_LOGGING_LEVEL,
    PREFECT_SERVER_ANALYTICS_ENABLED,
    PREFECT_SERVER_DATABASE_CONNECTION_URL,
    temporary_settings,
)
from sqlalchemy import select

from case_reviews.examples import BOARD, referral_file
from case_reviews.simulation.scenario import Agencies, Scenario, drive
from core.clock import LONDON, ManualClock
from core.config import Settings
from deployments.driver import start_review
from deployments.serve import deployments
from models import store
from models.migrate import upgrade
from models.orm import OutboxMessage
from models.schemas import BoardIn, LocalAuthorityNotificationIn, ReferralIn
from notifications.smtp_catcher import SmtpCatcher, free_port
from portal.server import PortalServer
from services.referrals import record_referral
from services.runtime import Runtime, use_runtime
from services.sweep import run_sweep

EXAMPLE_FOR_REGIME = {
    "scr": "scr-child-t",
    "lcspr": "lcspr-child-m",
    "sar": "sar-adult-b",
    "cpr": "scr-child-t",
    "apr": "sar-adult-b",
}
REMINDER_KINDS = frozenset({"reminder", "overdue_notice", "escalation"})


@contextlib.contextmanager
def embedded_prefect(home: Path) -> Iterator[str]:
    """A Prefect server in a subprocess with its home and SQLite database under ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    database = "sqlite+aiosqlite:///" + str(home / "prefect.db")
    with temporary_settings(
        updates={
            PREFECT_HOME: str(home),
            PREFECT_SERVER_DATABASE_CONNECTION_URL: database,
            PREFECT_SERVER_ANALYTICS_ENABLED: False,
            PREFECT_LOGGING_LEVEL: "WARNING",
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
        smtp = stack.enter_context(SmtpCatcher())
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

        def each_day() -> None:
            agencies()
            run_sweep(rt)

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
            "timeline_events": len(timeline.entries),
            "simulated_days": (clock.now().date() - referral.notified_on).days,
            "kept_in": str(workdir) if keep is not None else None,
            "elapsed_seconds": round(time.perf_counter() - started, 2),
        }
    raise AssertionError("unreachable")
