"""Run on demand (``make bench``): the sweep's selection and rendering over 10,000 open
obligations, and delivery of 1,000 messages to a local SMTP server. Prints JSON."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from sqlalchemy import insert, select

from core.clock import LONDON, ManualClock
from core.config import Settings
from models.migrate import upgrade
from models.orm import Agency, Board, Obligation, OutboxMessage, Review, SubjectIdentity
from notifications.outbox import deliver_pending
from notifications.smtp_catcher import SmtpCatcher
from notifications.sweep import queue_reminders
from services.runtime import Runtime

REVIEWS = 1_000
AGENCIES = 10
MESSAGES = 1_000
TODAY = date(2027, 3, 10)  # a Wednesday


def _populate(rt: Runtime) -> None:
    now = datetime.combine(TODAY - timedelta(days=60), clock_time(9), tzinfo=LONDON)
    with rt.sessions.begin() as session:
        board = Board(
            name="Benchmark Board",
            chair_email="chair@bench.example",
            business_manager_email="bm@bench.example",
            national_panel_email="panel@bench.example",
        )
        session.add(board)
        session.flush()
        agencies = [
            Agency(
                board_id=board.id,
                name=f"Agency {a}",
                contact_email=f"contact{a}@agency.example",
                safeguarding_lead_email=f"lead{a}@agency.example",
            )
            for a in range(AGENCIES)
        ]
        session.add_all(agencies)
        session.flush()
        session.execute(
            insert(Review),
            [
                {
                    "reference": f"SCR-2027-{r:04d}",
                    "board_id": board.id,
                    "regime": "scr",
                    "pseudonym": f"Child {r}",
                    "incident_date": date(2026, 12, 1),
                    "stage": "timelines_merged",
                    "status": "open",
                    "created_at": now,
                }
                for r in range(REVIEWS)
            ],
        )
        ids = list(session.scalars(select(Review.id).order_by(Review.id)))
        session.execute(
            insert(SubjectIdentity),
            [
                {
                    "review_id": rid,
                    "full_name": f"Quillon{rid} Vantablack",
                    "date_of_birth": date(2015, 1, 1),
                    "address": "1 Bench Street",
                }
                for rid in ids
            ],
        )
        # Due dates spread over ±90 days around the sweep day, as in a board with reviews at
        # every stage: some obligations reach a round today, most do not.
        session.execute(
            insert(Obligation),
            [
                {
                    "key": f"{rid}:timeline:{agency.name}",
                    "review_id": rid,
                    "milestone": "timeline_return",
                    "description": "timeline of significant events",
                    "owed_by": agency.name,
                    "agency_id": agency.id,
                    "owed_to": "business manager",
                    "due_on": TODAY + timedelta(days=(rid * 7 + i * 13) % 181 - 90),
                    "status": "open",
                    "note": "",
                    "created_at": now,
                }
                for rid in ids
                for i, agency in enumerate(agencies)
            ],
        )


def _timed_sweep(rt: Runtime) -> dict[str, object]:
    tracemalloc.start()
    started = time.perf_counter()
    with rt.sessions.begin() as session:
        messages, rounds = queue_reminders(
            session,
            now=rt.now(),
            today=rt.today(),
            policy=rt.reminder_policy,
            calendar=rt.deadlines.calendar,
        )
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "rounds_due": rounds,
        "messages_rendered_and_queued": messages,
        "select_render_queue_seconds": round(elapsed, 3),
        "peak_python_memory_mib": round(peak / 2**20, 1),
    }


def bench_sweep(workdir: Path) -> dict[str, object]:
    """The first sweep over a fresh store (every obligation catches up at once), then the
    steady state: the next working day's sweep, after the previous day's rounds were logged."""
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    clock = ManualClock(datetime.combine(TODAY - timedelta(days=1), clock_time(8), tzinfo=LONDON))
    rt = Runtime.from_settings(Settings(database_url=url), clock=clock)
    _populate(rt)
    first = _timed_sweep(rt)
    clock.advance(timedelta(days=1))
    daily = _timed_sweep(rt)
    return {"obligations": REVIEWS * AGENCIES, "first_sweep": first, "daily_sweep": daily}


def bench_delivery(workdir: Path) -> dict[str, object]:
    url = f"sqlite:///{workdir / 'delivery.db'}"
    upgrade(url)
    with SmtpCatcher() as smtp:
        clock = ManualClock(datetime.combine(TODAY, clock_time(8), tzinfo=LONDON))
        rt = Runtime.from_settings(Settings(database_url=url, mail_url=smtp.url()), clock=clock)
        with rt.sessions.begin() as session:
            session.execute(
                insert(OutboxMessage),
                [
                    {
                        "key": f"bench:{n}",
                        "kind": "reminder",
                        "recipient": f"agency{n % 50}@agency.example",
                        "subject": f"Reminder {n}",
                        "body_text": "A reminder.\n",
                        "body_html": "<p>A reminder.</p>\n",
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": clock.now(),
                        "created_at": clock.now(),
                    }
                    for n in range(MESSAGES)
                ],
            )
        started = time.perf_counter()
        report = deliver_pending(rt.sessions, rt.mailer, rt.now)
        elapsed = time.perf_counter() - started
        received = len(smtp.received)
    return {
        "messages": MESSAGES,
        "sent": report.sent,
        "received_by_smtp": received,
        "delivery_seconds": round(elapsed, 2),
        "messages_per_second": round(report.sent / elapsed, 1),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        result = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}",
            "sweep": bench_sweep(workdir),
            "delivery": bench_delivery(workdir),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
