"""The daily sweep as a task: one pass over the case store (:func:`services.sweep.run_sweep`)."""

from __future__ import annotations

from prefect import task

from services.runtime import runtime
from services.sweep import SweepReport, run_sweep


@task
def sweep_once() -> SweepReport:
    """Queue today's reminders and digest, resume complete timeline gates, deliver the outbox.

    Idempotent: each reminder round and message is keyed, so a retry sends nothing twice.
    """
    return run_sweep(runtime())
