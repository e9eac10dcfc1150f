"""Serve the ``review`` deployment (started per review) and the daily ``sweep`` (08:00 London).

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

from core.config import get_settings
from deployments.automations import apply_zombie_automation
from flows.recovery import recover
from flows.review import review
from flows.sweep import sweep

REVIEW_DEPLOYMENT = "review/review"
SWEEP_DEPLOYMENT = "sweep/daily-sweep"
RECOVER_DEPLOYMENT = "recover/recover-crashed"


def deployments() -> list[RunnerDeployment]:
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
            schedule=Interval(timedelta(seconds=get_settings().recovery_interval_seconds)),
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
