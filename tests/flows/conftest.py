"""A real temporary Prefect server with the review deployment applied, once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import prefect.settings
import pytest
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from core.clock import ManualClock
from deployments.driver import start_review
from deployments.serve import deployments
from notifications.smtp_catcher import SmtpCatcher
from portal.server import PortalServer
from services.runtime import Runtime, use_runtime
from tests.conftest import make_runtime
from tests.helpers import add_example_referral, load_example_board


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    # The runs execute in this process, where nothing watches heartbeats: without them an
    # execution does not wait for the heartbeat thread (up to a second) at its end. The
    # server records no task runs or events and fires no automations: the tests read the
    # case store and the runs' states, and a second writer to the server's SQLite database
    # made "database is locked" refusals under load.
    quiet = {
        getattr(prefect.settings, f"PREFECT_SERVER_SERVICES_{name}_ENABLED"): False
        for name in ("TASK_RUN_RECORDER", "EVENT_PERSISTER", "TRIGGERS")
    }
    with (
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, **quiet}),
        prefect_test_harness(server_startup_timeout=90),
    ):
        for deployment in deployments():
            deployment.apply()
        yield


@pytest.fixture
def portal_url(prefect_api: None) -> Iterator[str]:
    """A real agency portal on a free port, started inside the Prefect settings (so a gate
    it answers for an agency finds the server); pass it as ``settings={"portal_url": …}``."""
    with PortalServer() as server:
        yield server.url


@dataclass
class Case:
    rt: Runtime
    clock: ManualClock
    smtp: SmtpCatcher
    reference: str

    def start(self):
        return start_review(self.rt, self.reference)


@pytest.fixture
def case_factory(
    prefect_api: None, sqlite_url: str, clock: ManualClock, smtp: SmtpCatcher, tmp_path: Path
):
    def make(
        referral: str = "scr-child-t", *, settings: dict[str, Any] | None = None, **changes: object
    ) -> Case:
        rt = make_runtime(
            sqlite_url,
            clock,
            mail_url=smtp.url(),
            documents_dir=tmp_path / "documents",
            **(settings or {}),
        )
        stack.append(use_runtime(rt))
        stack[-1].__enter__()
        load_example_board(rt)
        reference = add_example_referral(rt, referral, **changes)
        return Case(rt, clock, smtp, reference)

    stack: list[Any] = []
    yield make
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)
