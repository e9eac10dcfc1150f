"""The ``sweep`` flow: the daily pass that delivers what is queued and retries what failed.

It reads durable state from the database (the outbox and open obligations), so nothing depends
on a flow sleeping for weeks or on a process staying up.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from services.sweep import SweepReport
from tasks.sweep import sweep_once


@flow(name="sweep", log_prints=False, persist_result=False)
def sweep() -> SweepReport:
    """Deliver the outbox; report how many messages went, failed and are still pending."""
    report = sweep_once()
    get_run_logger().info(
        "sweep: %d sent, %d failed, %d pending", report.sent, report.failed, report.pending
    )
    return report
