"""One pass of the daily sweep, shared by the ``sweep`` flow, ``reviews sweep`` and the
simulation.

1. On a working day, queue the reminders, escalations and weekly digest that are due
   (:mod:`notifications.sweep`), in one transaction with the rounds they record.
2. Resume any timelines gate whose agencies have all submitted but which still waits.
3. Deliver the outbox (new messages and retries).

On weekends and bank holidays nothing new is queued; messages already queued (retries) still go.
Running it twice in a day sends nothing new.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from pydantic import BaseModel

from notifications.outbox import deliver_pending
from notifications.sweep import queue_reminders, queue_weekly_digest
from services.runtime import Runtime
from services.timelines import resume_complete_timeline_gates


class SweepReport(BaseModel):
    on: date
    quiet_day: bool
    reminders_queued: int
    rounds_recorded: int
    digest_queued: bool
    sent: int
    failed: int
    pending: int


def run_sweep(rt: Runtime) -> SweepReport:
    """One sweep (see the module docstring)."""
    calendar = rt.deadlines.calendar
    today = rt.today()
    quiet = not calendar.is_working_day(today)
    queued = rounds = 0
    digest = False
    if not quiet:
        policy = rt.reminder_policy
        with rt.sessions.begin() as session:
            now = rt.now()
            queued, rounds = queue_reminders(
                session, now=now, today=today, policy=policy, calendar=calendar
            )
            digest = queue_weekly_digest(
                session, now=now, today=today, policy=policy, calendar=calendar
            )
    resume_complete_timeline_gates(rt)
    report = deliver_pending(
        rt.sessions, rt.mailer, rt.now, documents_dir=rt.settings.documents_dir
    )
    return SweepReport(
        on=today,
        quiet_day=quiet,
        reminders_queued=queued,
        rounds_recorded=rounds,
        digest_queued=digest,
        **asdict(report),
    )
