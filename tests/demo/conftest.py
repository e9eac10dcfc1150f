"""The running demo (``reviews up`` in a thread) and the helpers its browser tests share."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from case_reviews.demo import DemoInfo, up
from core.config import get_settings
from notifications.smtp_catcher import free_port
from services.runtime import set_runtime

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT = 240.0  # the demo's own waits are bounded below this
UI_TIMEOUT_MS = 30_000
# Assertions on the page wait as long as its actions do: under a loaded CI run the server can
# take more than Playwright's default 5 s to answer a form.
expect.set_options(timeout=UI_TIMEOUT_MS)
# The demo's example is an LCSPR (issue 25 point 8: LCSPRs replaced SCRs in England from 2019).
REAL_NAME = "Mia Okonkwo-Bright"  # examples/referrals/lcspr-child-m.yaml: the subject's identity


@dataclass
class RunningDemo:
    info: DemoInfo
    var_dir: Path
    prefect_port: int
    smtp_port: int
    portal_port: int
    thread: threading.Thread
    stop: threading.Event
    printed_until_ready: str
    errors: list[BaseException] = field(default_factory=list)


@pytest.fixture
def demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[RunningDemo]:
    """``up()`` in a background thread on free ports and a temporary var directory, waited
    for until the example review waits for the chair; stopped afterwards whatever happens."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run 'make browser'")
    prefect_port, smtp_port, portal_port = free_port(), free_port(), free_port()
    monkeypatch.setenv("REVIEWS_DATABASE_URL", f"sqlite:///{tmp_path / 'reviews.db'}")
    monkeypatch.setenv(
        "REVIEWS_MAIL_URL",
        f"mailto://127.0.0.1:{smtp_port}?from=case-reviews@board.example&mode=insecure",
    )
    monkeypatch.setenv("REVIEWS_UI_URL", f"http://127.0.0.1:{prefect_port}")
    # The demo draws its own signing keys under var/, as on a board's first 'make demo'.
    monkeypatch.delenv("REVIEWS_PORTAL_SECRET", raising=False)
    monkeypatch.delenv("REVIEWS_WORKSPACE_SECRET", raising=False)
    set_runtime(None)
    get_settings.cache_clear()

    var_dir = tmp_path / "var"
    stop = threading.Event()
    ready = threading.Event()
    infos: list[DemoInfo] = []
    errors: list[BaseException] = []

    def on_ready(info: DemoInfo) -> None:
        infos.append(info)
        ready.set()

    def run() -> None:
        try:
            up(
                var_dir=var_dir,
                prefect_port=prefect_port,
                smtp_port=smtp_port,
                portal_port=portal_port,
                workspace_port=free_port(),
                ready=on_ready,
                stop_event=stop,
            )
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="reviews-up", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ready.wait(1.0):
            if not thread.is_alive():
                pytest.fail(f"up() ended before it was ready: {errors!r}")
            if time.monotonic() > deadline:
                pytest.fail(f"up() was not ready within {STARTUP_TIMEOUT:.0f} s")
        printed = capsys.readouterr().out
        yield RunningDemo(
            infos[0], var_dir, prefect_port, smtp_port, portal_port, thread, stop, printed, errors
        )
    finally:
        stop.set()
        thread.join(90)
        set_runtime(None)
        get_settings.cache_clear()


def form_field(form: Locator, label: str) -> Locator:
    """One property of Prefect's schema form. Its <label for=…> points at no element, so
    get_by_label finds nothing: match the property by its label text instead."""
    return form.locator(".schema-form-property").filter(
        has=form.page.locator(
            ".schema-form-property__label",
            has_text=re.compile(rf"^{re.escape(label)}( \(Optional\))?$"),
        )
    )


def choose(page: Page, form: Locator, label: str, option: str) -> None:
    """Pick ``option`` in a schema-form select (an enum or Literal field)."""
    select = form_field(form, label)
    # A click on the select's value button only focuses it inside the modal; its chevron
    # (or Space on the focused button) opens the option list.
    select.locator(".p-select-button__icon").click()
    options = page.get_by_role("listbox")
    options.get_by_role("option", name=option, exact=True).click()
    expect(options).to_have_count(0)
    expect(select.locator(".p-select-button__value")).to_have_text(option)


def auth_string(demo: RunningDemo) -> str:
    return (demo.var_dir / "prefect-auth-string").read_text().strip()
