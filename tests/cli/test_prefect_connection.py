"""The CLI talks to the board's Prefect server (``REVIEWS_PREFECT_API_URL``), never a temporary
one, and says in one line which setting to change when that server does not answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.clock import ManualClock
from notifications.smtp_catcher import free_port
from tests.conftest import make_runtime
from tests.helpers import add_example_referral, load_example_board


def _reviews(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "case_reviews", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def env_without_prefect(sqlite_url: str, clock: ManualClock, tmp_path: Path) -> dict[str, str]:
    """A stored referral, and REVIEWS_PREFECT_API_URL naming a port nothing listens on. The
    store is set up in this process (what is tested is the command's own start-up)."""
    rt = make_runtime(sqlite_url, clock)
    load_example_board(rt)
    assert add_example_referral(rt, "sar-adult-b") == "SAR-2026-001"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REVIEWS_"))}
    env |= {
        "REVIEWS_DATABASE_URL": sqlite_url,
        "REVIEWS_PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
    }
    return env


def test_start_with_no_server_at_the_setting_exits_non_zero_with_one_line_naming_it(
    env_without_prefect: dict[str, str], tmp_path: Path
) -> None:
    started = _reviews(env_without_prefect, "start", "SAR-2026-001")
    assert started.returncode == 1
    lines = started.stderr.strip().splitlines()
    assert len(lines) == 1, started.stderr
    assert "REVIEWS_PREFECT_API_URL" in lines[0]
    assert env_without_prefect["REVIEWS_PREFECT_API_URL"] in lines[0]
    # No temporary server was started in its place: it would have made a database here.
    assert not list((tmp_path / "prefect-home").glob("*.db"))


def test_an_explicit_prefect_api_url_wins_and_is_the_one_named(
    env_without_prefect: dict[str, str],
) -> None:
    explicit = f"http://127.0.0.1:{free_port()}/api"
    started = _reviews(
        {**env_without_prefect, "PREFECT_API_URL": explicit}, "start", "SAR-2026-001"
    )
    assert started.returncode == 1
    assert explicit in started.stderr and "set PREFECT_API_URL" in started.stderr


def test_sweep_with_nothing_for_prefect_to_do_does_not_need_the_server(
    env_without_prefect: dict[str, str],
) -> None:
    swept = _reviews(env_without_prefect, "sweep", "--now", "2026-12-25")
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout.startswith("sweep Fri 25 Dec 2026")
