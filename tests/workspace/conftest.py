"""A running workspace (real HTTP, uvicorn in a thread) over a store with the example review
and one user of each role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from core.clock import ManualClock
from models.orm import WorkspaceRole
from services.accounts import add_user
from services.runtime import Runtime, use_runtime
from tests.conftest import make_runtime
from tests.helpers import add_example_referral, load_example_board
from workspace.server import WorkspaceServer

PASSWORD = "correct horse battery staple"
USERS = {
    "bm": WorkspaceRole.BUSINESS_MANAGER,
    "chair": WorkspaceRole.CHAIR,
    "member": WorkspaceRole.COMMITTEE_MEMBER,
    "reader": WorkspaceRole.READ_ONLY,
}
REAL_NAME = "Tobias Quennell"  # examples/referrals/scr-child-t.yaml: the subject's identity


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Workspace:
    rt: Runtime
    clock: ManualClock
    server: WorkspaceServer
    reference: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=30)

    @contextmanager
    def signed_in(self, username: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
        with self.client() as client:
            token = csrf_of(client.get("/login").text)
            response = client.post(
                "/login", data={"username": username, "password": password, "csrf_token": token}
            )
            assert response.status_code == 303, response.text
            yield client


def make_workspace(url: str, clock: ManualClock, **settings: object) -> Iterator[Workspace]:
    rt = make_runtime(url, clock, **settings)
    with use_runtime(rt), WorkspaceServer() as server:
        load_example_board(rt)
        reference = add_example_referral(rt)
        for username, role in USERS.items():
            add_user(rt, username, role, PASSWORD)
        yield Workspace(rt, clock, server, reference)


@pytest.fixture
def workspace(sqlite_url: str, clock: ManualClock) -> Iterator[Workspace]:
    yield from make_workspace(sqlite_url, clock)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium through Playwright (no browser download works here)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run 'make browser'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
