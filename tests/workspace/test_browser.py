"""The workspace and the agency portal in headless Debian Chromium: sign-in, the register, a
review and its timeline, roles, lock-out, CSRF, and axe-core on every page (no serious or
critical violations). The subject's identity appears only after the audited reveal."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from case_reviews.simulation.scenario import example_timeline_csv
from core.clock import ManualClock
from models import store
from models.timeline import parse_timeline_file
from portal.server import PortalServer
from services.links import portal_link, timeline_due
from services.timelines import submit_timeline
from tasks import stages
from tests.conftest import REPO
from tests.workspace.conftest import PASSWORD, REAL_NAME, Workspace, make_workspace

pytestmark = pytest.mark.browser

AXE = REPO / ".cache/axe/node_modules/axe-core/axe.min.js"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def axe_script() -> Path:
    """axe-core from the npm registry (``make axe``), installed here if it is missing."""
    if not AXE.exists():
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-save",
                "--prefix",
                str(REPO / ".cache/axe"),
                "axe-core@4",
            ],
            check=True,
            timeout=300,
        )
    return AXE


@pytest.fixture
def site(sqlite_url: str, clock: ManualClock) -> Iterator[tuple[Workspace, PortalServer]]:
    """The workspace and the portal, with the police's timeline in for the example review."""
    with PortalServer() as portal:
        for ws in make_workspace(sqlite_url, clock, portal_url=portal.url):
            stages.timeline_requests.fn(ws.reference)
            csv = example_timeline_csv("Northbridge Police", "Child T", ws.rt.today(), 1)
            submit_timeline(
                ws.rt,
                reference=ws.reference,
                agency_name="Northbridge Police",
                events=parse_timeline_file("police.csv", csv),
                submitted_by="test",
                source="test",
            )
            yield ws, portal


def assert_accessible(page: Page, axe: Path) -> None:
    page.add_script_tag(path=str(axe))
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map(v => ({id: v.id, impact: v.impact, help: v.help,
                         targets: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"""
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{page.url}: {serious}"


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_the_business_manager_walks_the_register_review_timeline_and_reveal(
    site: tuple[Workspace, PortalServer],
    browser: Browser,
    axe_script: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ws, _portal = site
    base = ws.server.url
    context = browser.new_context(bypass_csp=True)  # axe-core is injected inline
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    seen: list[str] = []

    page.goto(f"{base}/reviews")
    expect(page.get_by_role("heading", name="Sign in to the board workspace")).to_be_visible()
    assert_accessible(page, axe_script)
    sign_in(page, base, "bm")
    expect(page.get_by_role("heading", name="Register of reviews")).to_be_visible()
    expect(page.locator("#register")).to_contain_text("Child T")
    assert_accessible(page, axe_script)
    seen.append(page.content())

    page.get_by_role("link", name=ws.reference).click()
    expect(page.get_by_role("heading", name=f"{ws.reference} (Child T)")).to_be_visible()
    expect(page.get_by_role("heading", name="Northbridge Police")).to_be_visible()
    assert_accessible(page, axe_script)
    seen.append(page.content())

    page.get_by_role("link", name="Open the combined timeline").click()
    expect(
        page.get_by_role("heading", name=f"Significant events timeline: {ws.reference}")
    ).to_be_visible()
    expect(page.locator("table")).to_contain_text("Northbridge Police")
    assert_accessible(page, axe_script)
    seen.append(page.content())

    page.goto(f"{base}/reviews/{ws.reference}")
    page.get_by_role("button", name="Reveal the identity").click()
    expect(page.locator(".identity")).to_contain_text(REAL_NAME)
    assert_accessible(page, axe_script)

    page.goto(f"{base}/reviews?rag=green")
    assert_accessible(page, axe_script)
    seen.append(page.content())
    cookies = context.cookies()
    context.close()

    for html in seen:
        assert REAL_NAME not in html and "Quennell" not in html
    for cookie in cookies:
        assert "Quennell" not in cookie["value"] and "Tobias" not in cookie["value"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "Quennell" not in caplog.text


def test_a_read_only_user_cannot_reveal_and_a_form_without_the_token_is_refused(
    site: tuple[Workspace, PortalServer], browser: Browser, axe_script: Path
) -> None:
    ws, _portal = site
    page = browser.new_page(bypass_csp=True)  # axe-core is injected inline
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, ws.server.url, "reader")
    page.goto(f"{ws.server.url}/reviews/{ws.reference}")
    expect(page.get_by_role("button", name="Reveal the identity")).to_have_count(0)
    expect(page.get_by_text("Only the business manager and the chair")).to_be_visible()
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    # Posted with the right token but by the wrong role: refused.
    status, body = page.evaluate(
        """async ([url, token]) => {
             const r = await fetch(url, {method: 'POST',
                                         body: new URLSearchParams({csrf_token: token})});
             return [r.status, await r.text()]; }""",
        [f"/reviews/{ws.reference}/reveal", token],
    )
    assert status == 403 and REAL_NAME not in body
    # Posted without the token: refused before any route runs.
    status, body = page.evaluate(
        """async (url) => { const r = await fetch(url, {method: 'POST'});
             return [r.status, await r.text()]; }""",
        f"/reviews/{ws.reference}/reveal",
    )
    assert status == 403 and "form has expired" in body
    page.goto(f"{ws.server.url}/reviews/NO-SUCH")
    assert_accessible(page, axe_script)
    page.close()


def test_five_wrong_passwords_lock_the_account(
    site: tuple[Workspace, PortalServer], browser: Browser, axe_script: Path
) -> None:
    ws, _portal = site
    page = browser.new_page(bypass_csp=True)  # axe-core is injected inline
    page.set_default_timeout(TIMEOUT_MS)
    for _ in range(4):
        sign_in(page, ws.server.url, "chair", "not the password")
        expect(page.get_by_role("alert")).to_contain_text("username or password is not right")
    assert_accessible(page, axe_script)
    sign_in(page, ws.server.url, "chair", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("This account is locked")
    sign_in(page, ws.server.url, "chair")
    expect(page.get_by_role("alert")).to_contain_text("This account is locked")
    page.close()


def test_every_portal_page_passes_axe(
    site: tuple[Workspace, PortalServer], browser: Browser, axe_script: Path
) -> None:
    ws, portal = site
    with ws.rt.sessions() as session:
        review = store.get_review(session, ws.reference)
        agency = store.find_agency(session, review.board_id, "Riverside GP Practice")
        assert agency is not None
        due = timeline_due(session, review, agency)
        assert due is not None
        link = portal_link(ws.rt, ws.reference, agency.id, due)
    page = browser.new_page(bypass_csp=True)  # axe-core is injected inline
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{portal.url}/")
    assert_accessible(page, axe_script)
    page.goto(link)
    expect(page.get_by_role("heading", name="Timeline of significant events")).to_be_visible()
    assert_accessible(page, axe_script)
    page.get_by_label("what happened 1", exact=True).fill("Tobias missed an appointment.")
    page.get_by_role("button", name="Submit these events").click()
    expect(page.get_by_role("alert")).to_contain_text("entry 1")
    expect(page.get_by_label("what happened 1", exact=True)).to_have_value(
        "Tobias missed an appointment."
    )
    assert_accessible(page, axe_script)
    page.goto(link[:-3] + "AAA")
    assert_accessible(page, axe_script)
    page.close()
