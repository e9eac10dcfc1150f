"""The production shape: the ``review`` and ``sweep`` deployments on a process work pool, run
by one or more ``prefect worker`` processes (scale out by starting workers on more hosts).

``python -m deployments.pool`` (run once per release, from the installed code's directory)
creates the pool if it is missing, sets its concurrency limit (``REVIEWS_RUNNER_LIMIT`` runs
at once across every worker: a burst of starts queues instead of exhausting memory) and
applies both deployments to it. Each worker then runs::

    prefect worker start --pool reviews --type process

with ``PREFECT_API_URL``, ``PREFECT_API_AUTH_STRING`` and the ``REVIEWS_*`` settings in its
environment (see ``deploy/``). Flow runs start in the directory this module is installed in
(a ``set_working_directory`` pull step), so install the code at the same path on every host.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
from prefect.exceptions import ObjectNotFound
from prefect.runner.storage import LocalStorage
from prefect.workers.process import ProcessWorker

from core.config import Settings, get_settings
from deployments.automations import apply_zombie_automation
from deployments.serve import deployments
from services.prefect_client import prefect_client

WORK_POOL = "reviews"
#: Where the code is installed: each flow run's working directory, on every worker host.
CODE_DIR = Path(__file__).resolve().parent.parent


def apply_to_work_pool(
    pool: str = WORK_POOL, concurrency: int | None = None, settings: Settings | None = None
) -> list[str]:
    """Create (or update) the process work pool ``pool`` with its concurrency limit, create the
    zombie-run automation and apply the deployments to the pool; returns the deployments'
    names. ``settings`` (default: the process's) gives the limit, the zombie window and the
    recovery interval. Idempotent: run it on every release."""
    settings = settings or get_settings()
    limit = concurrency if concurrency is not None else settings.runner_limit
    with prefect_client() as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(
                WorkPoolCreate(
                    name=pool,
                    type=ProcessWorker.type,
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                    concurrency_limit=limit,
                    description="Statutory case reviews: review runs and the daily sweep.",
                ),
                overwrite=False,
            )
        else:
            client.update_work_pool(pool, WorkPoolUpdate(concurrency_limit=limit))
    apply_zombie_automation(timedelta(seconds=settings.zombie_after_seconds))
    names = []
    for deployment in deployments(settings):
        # A pull step that enters the installed code, instead of a temporary directory.
        deployment.storage = LocalStorage(path=str(CODE_DIR))
        deployment.apply(work_pool_name=pool)
        names.append(f"{deployment.flow_name}/{deployment.name}")
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deployments.pool", description=__doc__)
    parser.add_argument("--pool", default=WORK_POOL, help=f"work pool name (default {WORK_POOL})")
    parser.add_argument("--concurrency", type=int, default=None, help="runs at once in the pool")
    args = parser.parse_args(argv)
    for name in apply_to_work_pool(args.pool, args.concurrency):
        print(f"applied {name} to work pool {args.pool}")


if __name__ == "__main__":
    main()
