"""One pass of the daily sweep, shared by the ``sweep`` flow, ``reviews sweep`` and the
simulation.

1. On a working day, queue the reminders, escalations and weekly digest that are due
   (:mod:`notifications.sweep`), in one transaction with the rounds they record.
   Before that, action plan items past their due date (not done, not closed) turn overdue,
   so the digest lists them with their owner.
2. Resume any timelines gate whose agencies have all submitted, and any action plan sign-off
   gate whose owner agencies have all signed off, that still waits.
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
from services.action_plans import mark_overdue_items, resume_complete_signoff_gates
from services.runtime import Runtime
from services.timelines import resume_complete_timeline_gates


class SweepReport(BaseModel):
    on: date
    quiet_day: bool
    reminders_queued: int
    rounds_recorded: int
    digest_queued: bool
    items_overdue: int = 0
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
    with rt.sessions.begin() as session:
        overdue = len(mark_overdue_items(session, today, rt.now()))
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
    resume_complete_signoff_gates(rt)
    report = deliver_pending(
        rt.sessions, rt.mailer, rt.now, documents_dir=rt.settings.documents_dir
    )
    counts = {"reminders_queued": queued, "rounds_recorded": rounds, "items_overdue": overdue}
    return SweepReport(on=today, quiet_day=quiet, digest_queued=digest, **counts, **asdict(report))
