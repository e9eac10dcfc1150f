"""The ``committee-report`` flow: the performance committee's quarterly action plan report,
scheduled at 07:00 on the first day of each quarter for the quarter just ended; the daily sweep
(08:00) delivers the email it queues."""

from __future__ import annotations

from prefect import flow, get_run_logger

from tasks.reports import committee_reports


@flow(name="committee-report", log_prints=False, persist_result=False)
def committee_report() -> list[str]:
    """Produce, keep and send every board's quarterly report; returns the files written."""
    files = committee_reports()
    get_run_logger().info("committee report: %d files", len(files))
    return files
