"""Serve the ``review`` deployment (started per review), the daily ``sweep`` (08:00 London) and
the performance committee's quarterly report (07:00 on the first day of each quarter).

``python -m deployments.serve`` runs both in one process against ``PREFECT_API_URL``. A
suspended review holds no process: the server keeps its state and the served runner picks the
run up again when it is resumed.

At most ``REVIEWS_RUNNER_LIMIT`` runs (default 4) execute at once in one serving process; a
burst of starts waits, scheduled, until a slot frees instead of exhausting memory. With
workers (``deploy/``), the work pool's concurrency limit does the same across hosts.

Each run (a start, or a resume after a gate) executes in a process of its own, as Prefect's
runner does. Prefect spawns that process afresh, and a new Python process spends seconds
importing Prefect and the flows before the run begins: most of the wait between the chair's
Resume and the next form. Here (``REVIEWS_RUNNER_START=forkserver``, the default) the
processes are forked from a fork server, one quiet process that imported the flows once, so
a run starts in milliseconds. The runner watches, limits and cancels them as before.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
from datetime import timedelta
from multiprocessing import forkserver
from types import ModuleType
from typing import Any

from prefect import Flow
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import TerminationSignal
from prefect.runner import Runner
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

log = logging.getLogger(__name__)


def served(settings: Settings | None = None) -> list[tuple[Flow[Any, Any], dict[str, Any]]]:
    """Each served flow with its deployment's options; ``settings`` (default: the process's)
    gives the recovery interval."""
    interval = (settings or get_settings()).recovery_interval_seconds
    return [
        (review, {"name": "review", "description": "One statutory case review."}),
        (
            sweep,
            {
                "name": "daily-sweep",
                "description": "Deliver queued mail and send reminders.",
                "schedule": Cron("0 8 * * *", timezone="Europe/London"),
            },
        ),
        (
            recover,
            {
                "name": "recover-crashed",
                "description": "Reschedule review runs Prefect marked Crashed, back to their "
                "gates.",
                "schedule": Interval(timedelta(seconds=interval)),
            },
        ),
        (
            committee_report,
            {
                "name": "quarterly-committee-report",
                "description": "The performance committee's action plan report for the quarter "
                "just ended: kept as a board document and sent to the committee.",
                "schedule": Cron("0 7 1 1,4,7,10 *", timezone="Europe/London"),
            },
        ),
    ]


def deployments(settings: Settings | None = None) -> list[RunnerDeployment]:
    """The four deployments, to apply (the simulation and the tests execute their runs
    themselves)."""
    found = [flow.to_deployment(**options) for flow, options in served(settings)]
    # to_deployment is dual sync/async; called from sync code it returns the deployment.
    assert all(isinstance(d, RunnerDeployment) for d in found)
    return found  # type: ignore[return-value]


#: What every flow-run process imports: the fork server imports it once, before any fork.
PRELOADED = ("deployments.warm",)


class _ForkServerStarts(ModuleType):
    """Stands in for ``multiprocessing`` in Prefect's flow engine, whose
    ``run_flow_in_subprocess`` (the served runner's way to start a run) asks it for the
    ``spawn`` context: this gives the fork server's context instead. Everything else is the
    real module."""

    def __init__(self, context: Any) -> None:
        super().__init__("multiprocessing")
        self._context = context

    def get_context(self, method: str | None = None) -> Any:
        return self._context

    def __getattr__(self, name: str) -> Any:
        return getattr(multiprocessing, name)


def start_runs_from_a_fork_server() -> None:
    """Make this process's runner fork each flow-run process from a fork server that has
    imported :data:`PRELOADED`; start it (it exits when this process does).

    If the fork server dies (say, the kernel's out-of-memory killer picks it), the runner reads
    the runs it forked as ended (exit 255) and Prefect marks them Crashed although their
    processes go on; recovery then reschedules them beside the live ones, which the replay's
    keyed side effects make harmless. Restart serve if that happens."""
    import prefect.flow_engine

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOADED))
    prefect.flow_engine.multiprocessing = _ForkServerStarts(context)  # type: ignore[attr-defined]
    # Start it now, before the runner's loop: the first run does not wait for the preload, and
    # a preload that fails (the fork server ignores an ImportError) shows here, in serve's log.
    importlib.import_module(PRELOADED[0])
    forkserver.ensure_running()


async def _serve(settings: Settings) -> None:
    # Each flow is given to the runner itself (not only its deployment), so the runner
    # starts a run from the flow in memory, in a child process, instead of a fresh
    # ``python -m prefect.engine`` that loads the flow's code again.
    runner = Runner(limit=settings.runner_limit, pause_on_shutdown=True)
    for flow, options in served(settings):
        await runner.aadd_flow(flow, **options)
    await runner.start()


def main() -> None:
    settings = get_settings()
    apply_zombie_automation(timedelta(seconds=settings.zombie_after_seconds))
    if settings.runner_start == "forkserver":
        start_runs_from_a_fork_server()
    try:
        asyncio.run(_serve(settings))
    except (KeyboardInterrupt, TerminationSignal) as stop:
        log.info("Received %s, shutting down...", type(stop).__name__)


if __name__ == "__main__":
    main()
