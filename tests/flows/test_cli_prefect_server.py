"""``reviews start`` reaches the server ``REVIEWS_PREFECT_API_URL`` names (here the test
server), whatever Prefect's own context says."""

from __future__ import annotations

import dataclasses
from uuid import UUID

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from case_reviews.cli import app
from deployments import driver
from services.runtime import use_runtime

pytestmark = pytest.mark.prefect


def test_start_with_the_test_servers_url_in_the_setting_starts_the_run(
    case_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = case_factory()
    server_url = str(PREFECT_API_URL.value())
    settings = case.rt.settings.model_copy(update={"prefect_api_url": server_url})
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    # Prefect's context points nowhere: only the setting can lead the CLI to the server.
    with (
        use_runtime(dataclasses.replace(case.rt, settings=settings)),
        temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}),
    ):
        result = CliRunner().invoke(app, ["start", case.reference])
    assert result.exit_code == 0, result.stderr
    assert "/runs/flow-run/" in result.stdout
    run_id = result.stdout.strip().rsplit("/", 1)[-1]
    assert str(driver.read_run(UUID(run_id)).id) == run_id
