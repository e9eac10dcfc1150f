"""Bringing crashed review runs back, as a task (:func:`services.recovery.recover_crashed_runs`)."""

from __future__ import annotations

from prefect import task

from services.recovery import recover_crashed_runs
from services.runtime import runtime


@task
def reschedule_crashed_reviews() -> list[str]:
    """Reschedule each open review's crashed run (audited, at most three times per run)."""
    return recover_crashed_runs(runtime())
