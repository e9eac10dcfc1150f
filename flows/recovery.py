"""The ``recover`` flow: every few minutes, bring review runs Prefect marked ``Crashed`` (their
process died mid-run) back to their gates. Cheap when nothing crashed: one query per open
review in the case store and one read per run from the Prefect API."""

from __future__ import annotations

from prefect import flow, get_run_logger

from tasks.recovery import reschedule_crashed_reviews


@flow(name="recover", log_prints=False, persist_result=False)
def recover() -> list[str]:
    """Reschedule crashed review runs; returns the references rescheduled."""
    recovered = reschedule_crashed_reviews()
    if recovered:
        get_run_logger().info("rescheduled crashed runs of %s", ", ".join(recovered))
    return recovered
