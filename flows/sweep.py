"""The ``sweep`` flow: the daily pass that delivers what is queued and retries what failed.

It reads durable state from the database (the outbox and, with the reminder policy, open
obligations), so nothing depends on a flow sleeping for weeks or on a process staying up.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from pydantic import BaseModel

from case_reviews.runtime import runtime
from notifications.outbox import deliver_pending


class SweepReport(BaseModel):
    sent: int
    failed: int
    pending: int


@task
def deliver_outbox() -> SweepReport:
    """Send every due message in the outbox (each exactly once; failures stay queued)."""
    rt = runtime()
    report = deliver_pending(rt.sessions, rt.mailer, rt.now)
    return SweepReport(sent=report.sent, failed=report.failed, pending=report.pending)


@flow(name="sweep", log_prints=False, persist_result=False)
def sweep() -> SweepReport:
    """Deliver the outbox; report how many messages went, failed and are still pending."""
    report = deliver_outbox()
    get_run_logger().info(
        "sweep: %d sent, %d failed, %d pending", report.sent, report.failed, report.pending
    )
    return report
