"""``reviews simulate``: one complete review on a temporary embedded Prefect server and case store,
with a simulated clock that moves through the months, every gate answered through the Prefect
API, the daily sweep run every simulated day, and mail to an in-process SMTP server."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import yaml
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from sqlalchemy import select
from sqlalchemy.orm import Session

from case_reviews.examples import BOARD, referral_file
from case_reviews.simulation.choices import EXAMPLE_FOR_REGIME, Scenario
from case_reviews.simulation.scenario import (
    Agencies,
    OwnerAgencies,
    drive,
)
from case_reviews.simulation.server import SimulationHome, simulation_home
from core.clock import LONDON, ManualClock
from core.config import Settings
from core.names import Gate
from deployments.driver import start_review
from deployments.serve import deployments
from models import action_plan_store as plans
from models import documents_store, store
from models.migrate import upgrade
from models.orm import OutboxMessage, Review
from models.schemas import BoardIn, LocalAuthorityNotificationIn, ReferralIn
from notifications.smtp_catcher import SmtpCatcher
from portal.server import PortalServer
from services.action_plans import PROGRESS_MILESTONE
from services.referrals import record_referral
from services.runtime import Runtime, use_runtime
from services.sweep import run_sweep

REMINDER_KINDS = frozenset({"reminder", "overdue_notice", "escalation"})
OVERDUE_KINDS = frozenset({"overdue_notice", "escalation"})


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
    regime: str,
    scenario: Scenario,
    keep: Path | None = None,
    subject_name: str | None = None,
    home: SimulationHome | None = None,
) -> dict[str, Any]:
    """Run one review from referral to its end; returns the summary ``--json`` prints.

    ``home`` is the simulation's directory and server if the caller started them already
    (``reviews simulate`` does, before importing this module)."""
    started = time.perf_counter()
    referral = _referral(regime, subject_name)
    with contextlib.ExitStack() as stack:
        if home is None:
            home = stack.enter_context(simulation_home(keep))
        workdir = home.workdir
        # --keep keeps every message sent (DIR/mail/*.eml) and every stored document
        # (DIR/documents/, each file under its SHA-256).
        smtp = stack.enter_context(SmtpCatcher(mail_dir=workdir / "mail" if keep else None))
        api_url = stack.enter_context(home.server.ready())
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
                    deadlines=rt.deadlines,
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
