"""Imported once by the runner's fork server (``deployments.serve``), before it forks any
flow-run process: the flows, and what a run would otherwise load on its first use, each time
afresh.

Apprise loads every one of its notification plugins (a hundred modules) the first time it
reads a URL, as the mailer's first check does; that alone was a third of a resumed run's
start. Prefect's task engine is imported by a run's first task, and the case store's database
driver by its first query. Prefect's engine builds its settings afresh for each run, and the
first build in a process spends a quarter of a second in abstract-class checks whose answers
Python then caches. Each forked run inherits all of it already loaded; nothing here
opens a connection or reads settings a run could see differently.
"""

from __future__ import annotations

import importlib

from apprise.plugins import N_MGR
from prefect.settings import Settings as PrefectSettings

from core.config import Settings
from models.db import driver_url

#: Imported for what importing them loads.
MODULES = (
    "flows.review",
    "flows.sweep",
    "flows.recovery",
    "flows.committee_report",
    "prefect.task_engine",  # a run's first task imports it
    "prefect.utilities.visualization",
    "anyio._backends._asyncio",  # a run's first event loop imports it
    # Imported where they are used, not by the flows, so that the CLI starts quickly; a run
    # that sends mail or renders a document would otherwise import them afresh.
    "notifications.smtp_session",
    "notifications.pdf",
    "weasyprint",
)

for module in MODULES:
    importlib.import_module(module)
N_MGR.load_modules()  # type: ignore[no-untyped-call]
PrefectSettings()  # fills the abstract-class caches its checks use
driver_url(Settings().database_url).get_dialect().import_dbapi()  # the dialect and its driver
