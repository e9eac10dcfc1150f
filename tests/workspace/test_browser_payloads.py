"""Outside text stays text in a real browser (issue 21, point 2): markup an agency, a referrer
or a gate's answerer might type is pushed through the referral summary, an agency's timeline
(uploaded and typed into the portal's form) and the actor's name, then every page that shows
it (the workspace's register, review and timeline pages; the portal's request page, with the
typed rows shown back after a refusal) and every email queued about the review is opened in
headless Chromium with the page's own Content-Security-Policy in force. Nothing may be fetched
from outside the two apps, no script may run, and no link may leave the board's own
addresses."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from core.clock import ManualClock
from models import store
from models.orm import OutboxMessage
from models.timeline import COLUMNS, parse_rows
from portal.server import PortalServer
from services.links import portal_link, timeline_due
from services.timelines import submit_timeline
from tasks import stages
from tests.helpers import add_example_referral
from tests.workspace.conftest import Workspace, make_workspace
from tests.workspace.test_browser import TIMEOUT_MS, sign_in

pytestmark = pytest.mark.browser

# Each would fetch from, script, or link to somewhere else if it became markup.
PAYLOADS = (
    "![x](http://evil.example/md-image.png)",
    '<img src="http://evil.example/html-image.png" onerror="window.__pwned = 1">',
    "[click here](javascript:window.__pwned=2)",
    "<http://evil.example/autolink>",
    "<script>window.__pwned = 3</script>",
    '<a href="http://evil.example/raw-link">raw link</a>',
)
PAYLOAD = " ".join(PAYLOADS)


@pytest.fixture
def poisoned(sqlite_url: str, clock: ManualClock) -> Iterator[tuple[Workspace, PortalServer, str]]:
    """The workspace and portal, with a second review whose summary, agencies' timeline and
    actor carry every payload, and its timelines requested (so mail about it is queued)."""
    with PortalServer() as portal:
        for ws in make_workspace(sqlite_url, clock, portal_url=portal.url):
            reference = add_example_referral(
                ws.rt, pseudonym="Child P", summary=f"Concerns were raised. {PAYLOAD}"
            )
            stages.timeline_requests.fn(reference)
            row = dict.fromkeys(COLUMNS, "")
            row |= {
                "date": "2026-06-01",
                "what_happened": f"Visit. {PAYLOAD}",
                "risk": PAYLOADS[1],
                "learning": PAYLOADS[0],
                "practitioner_role": PAYLOADS[3],
                "significance": "Q1",
            }
            rows = [row]
            submit_timeline(
                ws.rt,
                reference=reference,
                agency_name="Northbridge Police",
                events=parse_rows(rows, first_row=1),
                submitted_by=PAYLOADS[2],
                source="test",
            )
            yield ws, portal, reference


def _watch(page: Page, allowed: set[str], fetched: list[str]) -> None:
    def record(request: object) -> None:
        url = str(getattr(request, "url", ""))
        if urlsplit(url).netloc not in allowed and not url.startswith(("data:", "about:")):
            fetched.append(url)

    page.on("request", record)


def _inert(page: Page) -> None:
    """No script ran, and nothing live points outside: no image, script, frame or link."""
    assert page.evaluate("() => window.__pwned === undefined")
    live = page.evaluate(
        """() => [...document.querySelectorAll('img, script, iframe, a, [onerror]')]
             .map(e => e.outerHTML)
             .filter(h => /evil\\.example|javascript:|onerror/i.test(h))"""
    )
    assert live == [], f"{page.url}: live markup {live}"


def _agency_link(ws: Workspace, reference: str) -> str:
    with ws.rt.sessions() as session:
        review = store.get_review(session, reference)
        agency = store.find_agency(session, review.board_id, "Riverside GP Practice")
        assert agency is not None
        due = timeline_due(session, review, agency)
        assert due is not None
        return portal_link(ws.rt, reference, agency.id, due)


def test_payloads_stay_text_on_every_page_and_in_every_email(
    poisoned: tuple[Workspace, PortalServer, str], browser: Browser
) -> None:
    ws, portal, reference = poisoned
    allowed = {urlsplit(ws.server.url).netloc, urlsplit(portal.url).netloc}
    fetched: list[str] = []
    context = browser.new_context()  # the apps' own CSP in force
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _watch(page, allowed, fetched)

    sign_in(page, ws.server.url, "bm")
    for path in ("/reviews", f"/reviews/{reference}", f"/reviews/{reference}/timeline"):
        page.goto(f"{ws.server.url}{path}")
        _inert(page)
    # The payload is shown, as text, where the timeline is.
    assert "![x](http://evil.example/md-image.png)" in page.inner_text("body")

    # The portal: the agency types every payload into the form with a date that is refused,
    # so the page shows the typed rows back.
    page.goto(_agency_link(ws, reference))
    _inert(page)
    page.get_by_label("date 1", exact=True).fill("not a date")
    page.get_by_label("what happened 1", exact=True).fill(PAYLOAD)
    page.get_by_role("button", name="Submit these events").click()
    page.wait_for_load_state()
    _inert(page)
    # Kept as typed, as the field's value (not as markup around it).
    assert page.get_by_label("what happened 1", exact=True).input_value() == PAYLOAD

    with ws.rt.sessions() as session:
        bodies = [m.body_html for m in session.scalars(select(OutboxMessage))]
    assert bodies, "no mail was queued about the reviews"
    for html in bodies:
        page.set_content(html)
        _inert(page)
    assert fetched == [], f"fetched from outside the apps: {fetched}"
    context.close()
