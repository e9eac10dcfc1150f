"""Benchmarks on the case store alone: the sweep's selection and rendering over 10,000 open
obligations, and delivery of 1,000 messages to a local SMTP server."""

from __future__ import annotations

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


def _timed_sweep(rt: Runtime, *, trace_memory: bool) -> dict[str, object]:
    """One sweep's selection, rendering and queueing. Python's memory tracing slows code two
    to three times, so a timed sweep is never traced."""
    if trace_memory:
        tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    with rt.sessions.begin() as session:
        messages, rounds = queue_reminders(
            session,
            now=rt.now(),
            today=rt.today(),
            policy=rt.reminder_policy,
            calendar=rt.deadlines.calendar,
        )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    result: dict[str, object] = {
        "rounds_due": rounds,
        "messages_rendered_and_queued": messages,
    }
    if trace_memory:
        result["peak_python_memory_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    else:
        result["select_render_queue_seconds"] = round(elapsed, 3)
        result["cpu_seconds"] = round(cpu, 3)
    return result


def bench_sweep(workdir: Path) -> dict[str, object]:
    """The first sweep over a fresh store (every obligation catches up at once; its peak
    memory is reported), then the steady state, timed: the next working day's sweep, after
    the previous day's rounds were logged."""
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    clock = ManualClock(datetime.combine(TODAY - timedelta(days=1), clock_time(8), tzinfo=LONDON))
    rt = Runtime.from_settings(Settings(database_url=url), clock=clock)
    _populate(rt)
    first = _timed_sweep(rt, trace_memory=True)
    clock.advance(timedelta(days=1))
    daily = _timed_sweep(rt, trace_memory=False)
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
        started, cpu = time.perf_counter(), time.process_time()
        report = deliver_pending(rt.sessions, rt.mailer, rt.now)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        received = len(smtp.received)
    return {
        "messages": MESSAGES,
        "sent": report.sent,
        "received_by_smtp": received,
        "delivery_seconds": round(elapsed, 2),
        # This process's CPU, the SMTP server's thread included: steadier than wall time
        # on a shared machine.
        "cpu_seconds": round(cpu, 2),
        "messages_per_second": round(report.sent / elapsed, 1),
    }
