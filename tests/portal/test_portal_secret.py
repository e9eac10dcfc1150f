"""Closed by default (issue 12, item 4): the portal will not run on the published secret, and
a forged link (signed with the published secret, or a guessed one) is refused by a portal
whose secret the demo drew or the operator set."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from itsdangerous import URLSafeSerializer

from core.clock import ManualClock
from core.secrets import DEFAULT_PORTAL_SECRET, InsecureSetting, read_or_create_secret
from models import store
from portal.server import PortalServer
from services.links import LINK_SALT, make_token, read_signed
from services.runtime import Runtime, use_runtime
from tasks import stages
from tests.conftest import REPO, make_runtime
from tests.helpers import add_example_referral, load_example_board


@pytest.fixture(params=["generated", "operator"])
def secret_portal(
    request: pytest.FixtureRequest,
    sqlite_url: str,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Runtime, PortalServer, str]]:
    """A portal whose secret the demo drew (``var/portal-secret``) or the operator set
    (``REVIEWS_PORTAL_SECRET`` in the environment, as in ``deploy/``)."""
    overrides: dict[str, object] = {}
    if request.param == "generated":
        secret, created = read_or_create_secret(tmp_path / "var" / "portal-secret")
        assert created
        overrides["portal_secret"] = secret
    else:
        secret = "operator-chosen-" + "x" * 32
        monkeypatch.setenv("REVIEWS_PORTAL_SECRET", secret)
    with PortalServer() as server:
        rt = make_runtime(sqlite_url, clock, portal_url=server.url, **overrides)
        assert rt.settings.portal_secret.get_secret_value() == secret
        with use_runtime(rt):
            load_example_board(rt)
            reference = add_example_referral(rt)
            stages.timeline_requests.fn(reference)
            yield rt, server, reference


@pytest.mark.parametrize("forger_secret", [DEFAULT_PORTAL_SECRET, "a-guess-" + "y" * 32])
def test_a_forged_link_is_refused_whatever_the_secret_s_origin(
    secret_portal, sqlite_url: str, clock: ManualClock, forger_secret: str
) -> None:
    rt, server, reference = secret_portal
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        agency = store.involved_agencies(session, review.id)[0]
    # A forger signs as the portal would, with the key they guess (our code refuses to sign
    # with the published default at all).
    payload = {"r": reference, "a": agency.id, "x": "2099-12-31"}
    forged = URLSafeSerializer(forger_secret, salt=LINK_SALT).dumps(payload)
    genuine = make_token(rt, reference, agency.id, date(2099, 12, 31))

    refused = httpx.get(f"{server.url}/t/{forged}", timeout=30)
    assert refused.status_code == 403
    assert reference not in refused.text
    # The same link signed with the portal's own secret opens: the refusal is the signature.
    assert httpx.get(f"{server.url}/t/{genuine}", timeout=30).status_code == 200


def test_a_generated_secret_is_kept_owner_only_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "var" / "portal-secret"
    first, created = read_or_create_secret(path)
    again, created_again = read_or_create_secret(path)
    assert (created, created_again) == (True, False)
    assert first == again and len(first) >= 32 and first != DEFAULT_PORTAL_SECRET
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_secret_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "portal-secret"
    path.write_text("\n")
    with pytest.raises(InsecureSetting, match="portal-secret: is empty"):
        read_or_create_secret(path)


@pytest.mark.parametrize(
    ("secret", "complaint"),
    [(None, "is the published default"), ("short", "shorter than 32 characters")],
)
def test_the_production_portal_refuses_to_start_with_a_weak_secret(
    secret: str | None, complaint: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REVIEWS_PORTAL_SECRET"}
    if secret is not None:
        env["REVIEWS_PORTAL_SECRET"] = secret
    done = subprocess.run(
        [sys.executable, "-m", "portal", "--port", "9"],
        cwd=tmp_path,  # no .env here
        env=env | {"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("portal: refusing to start: portal_secret: ")
    assert complaint in lines[0]


def test_the_production_workspace_refuses_to_start_with_the_published_secret(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REVIEWS_WORKSPACE_SECRET"}
    done = subprocess.run(
        [sys.executable, "-m", "workspace", "--port", "9"],
        cwd=tmp_path,  # no .env here
        env=env | {"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("workspace: refusing to start: workspace_secret: ")
    assert "is the published default" in lines[0]


def test_every_process_reads_the_demo_s_stored_secret_when_none_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str, clock: ManualClock
) -> None:
    """A second terminal's CLI signs with the key the demo drew into var/, exactly as it
    reads the Prefect auth string from there: its links open on the demo's portal."""
    monkeypatch.delenv("REVIEWS_PORTAL_SECRET")
    monkeypatch.delenv("REVIEWS_WORKSPACE_SECRET")
    monkeypatch.chdir(tmp_path)  # the demo's var/ beside the terminal's working directory
    drawn, _ = read_or_create_secret(tmp_path / "var" / "portal-secret")
    session_key, _ = read_or_create_secret(tmp_path / "var" / "workspace-secret")
    cli = make_runtime(sqlite_url, clock)
    assert cli.settings.portal_secret.get_secret_value() == drawn
    assert cli.settings.workspace_secret.get_secret_value() == session_key
    demo = make_runtime(sqlite_url, clock, portal_secret=drawn)
    token = make_token(cli, "SCR-2026-001", 3, date(2099, 12, 31))
    assert read_signed(demo, token, salt=LINK_SALT).agency_id == 3


def test_nothing_signs_with_the_published_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str, clock: ManualClock
) -> None:
    monkeypatch.delenv("REVIEWS_PORTAL_SECRET")
    monkeypatch.chdir(tmp_path)  # no var/portal-secret here
    rt = make_runtime(sqlite_url, clock)
    with pytest.raises(InsecureSetting, match=r"^portal_secret: REVIEWS_PORTAL_SECRET is the"):
        make_token(rt, "SCR-2026-001", 3, date(2099, 12, 31))
