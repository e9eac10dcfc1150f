"""Serve the ``review`` deployment (started per review), the daily ``sweep`` (08:00 London) and
the performance committee's quarterly report (07:00 on the first day of each quarter).

``python -m deployments.serve`` runs both in one process against ``PREFECT_API_URL``. A
suspended review holds no process: the server keeps its state and the served runner picks the
run up again when it is resumed.

At most ``REVIEWS_RUNNER_LIMIT`` runs (default 4) execute at once in one serving process; a
burst of starts waits, scheduled, until a slot frees instead of exhausting memory. With
workers (``deploy/``), the work pool's concurrency limit does the same across hosts.
"""

from __future__ import annotations

from datetime import timedelta

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval

from core.config import Settings, get_settings
from deployments.automations import apply_zombie_automation
from flows.committee_report import committee_report
from flows.recovery import recover
from flows.review import review
from flows.sweep import sweep

REVIEW_DEPLOYMENT = "review/review"
SWEEP_DEPLOYMENT = "sweep/daily-sweep"
RECOVER_DEPLOYMENT = "recover/recover-crashed"
COMMITTEE_REPORT_DEPLOYMENT = "committee-report/quarterly-committee-report"


def deployments(settings: Settings | None = None) -> list[RunnerDeployment]:
    """The three deployments; ``settings`` (default: the process's) gives the recovery
    interval."""
    interval = (settings or get_settings()).recovery_interval_seconds
    found = [
        review.to_deployment(name="review", description="One statutory case review."),
        sweep.to_deployment(
            name="daily-sweep",
            description="Deliver queued mail and send reminders.",
            schedule=Cron("0 8 * * *", timezone="Europe/London"),
        ),
        recover.to_deployment(
            name="recover-crashed",
            description="Reschedule review runs Prefect marked Crashed, back to their gates.",
            schedule=Interval(timedelta(seconds=interval)),
        ),
        committee_report.to_deployment(
            name="quarterly-committee-report",
            description="The performance committee's action plan report for the quarter just "
            "ended: kept as a board document and sent to the committee.",
            schedule=Cron("0 7 1 1,4,7,10 *", timezone="Europe/London"),
        ),
    ]
    # to_deployment is dual sync/async; called from sync code it returns the deployment.
    assert all(isinstance(d, RunnerDeployment) for d in found)
    return found  # type: ignore[return-value]


def main() -> None:
    settings = get_settings()
    apply_zombie_automation(timedelta(seconds=settings.zombie_after_seconds))
    serve(*deployments(), limit=settings.runner_limit)


if __name__ == "__main__":
    main()
