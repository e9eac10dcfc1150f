"""The daily sweep's work, as a plain function the ``sweep`` flow and the simulation share."""

from __future__ import annotations

from pydantic import BaseModel

from case_reviews.runtime import Runtime
from notifications.outbox import deliver_pending


class SweepReport(BaseModel):
    sent: int
    failed: int
    pending: int


def run_sweep(rt: Runtime) -> SweepReport:
    """Deliver every due message in the outbox (each exactly once; failures stay queued)."""
    report = deliver_pending(rt.sessions, rt.mailer, rt.now)
    return SweepReport(sent=report.sent, failed=report.failed, pending=report.pending)
