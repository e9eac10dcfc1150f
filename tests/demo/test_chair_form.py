"""The chair's form in the Prefect UI as a chair meets it (headless Debian Chromium against the
demo's Prefect server with its UI): no "(Optional)" on a required field, choices by their
plain labels, no type toggle; an answer the flow refuses is on the run page at once."""

from __future__ import annotations

import re
import time
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright
from prefect import get_client
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

from case_reviews.simulation.scenario import waiting_at
from core.config import Settings
from core.deadlines import load_rule_packs
from models.answers import CHOICE_LABELS
from services.runtime import Runtime
from tasks.gates import review_artifact_key
from tests.demo.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    UI_TIMEOUT_MS,
    RunningDemo,
    auth_string,
    form_field,
)

pytestmark = [pytest.mark.browser, pytest.mark.prefect]

REQUIRED = ("Decision", "Lead reviewers", "Rationale", "Decided by", "Decided on")


def _open_the_form(page: Page, run_url: str) -> Locator:
    page.goto(run_url)
    expect(page.get_by_text("Suspended", exact=True).first).to_be_visible()
    page.get_by_role("button", name="Resume", exact=True).click()
    form = page.get_by_role("dialog")
    expect(form).to_contain_text("Resume Flow Run")
    return form


def _latest_review_artifact(demo: RunningDemo) -> UUID:
    """The newest version of the review's artifact once it shows the refusal (within 60 s)."""
    key = review_artifact_key(demo.info.reference)
    settings = {
        PREFECT_API_URL: f"{demo.info.ui_url}/api",
        PREFECT_API_AUTH_STRING: auth_string(demo),
    }
    deadline = time.monotonic() + 60
    with temporary_settings(updates=settings), get_client(sync_client=True) as client:
        while True:
            found = client.read_latest_artifacts(
                artifact_filter=ArtifactCollectionFilter(
                    key=ArtifactCollectionFilterKey(any_=[key])
                )
            )
            if found and "not accepted" in str(found[0].data):
                return found[0].latest_id
            assert time.monotonic() < deadline, f"no refusal in {key}: {found!r}"
            time.sleep(1)


def _labels(form: Locator) -> list[str]:
    return [t.strip() for t in form.locator(".schema-form-property__label").all_inner_texts()]


def test_the_chairs_form_speaks_plainly_and_a_refusal_shows_at_once(
    demo: RunningDemo, tmp_path: Path
) -> None:
    info = demo.info
    rt = Runtime.from_settings(Settings())
    assert waiting_at(rt, info.reference) == "chair_decision"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(f"{info.ui_url}/login")
            page.get_by_placeholder("admin:pass").fill(auth_string(demo))
            page.get_by_role("button", name="Login").click()
            expect(page).not_to_have_url(re.compile(r"/login"))

            form = _open_the_form(page, info.run_url)
            expect(form.locator(".schema-form-property__label").first).to_be_visible()
            labels = _labels(form)
            page.screenshot(path=str(tmp_path / "form.png"), full_page=True)
            for required in REQUIRED:
                assert required in labels, labels  # exactly: no " (Optional)" after it
            assert "Methodology (Optional)" in labels  # optional for anything but a review
            expect(form).not_to_contain_text('Property is type "None"')
            # Issue 25 point 4: the SCR framework's local routes are labelled board overrides.
            expect(form).to_contain_text("Board overrides (local routes, not the regime's")
            expect(form.locator(".p-button-group")).to_have_count(0)  # no type toggles
            # The committee recommended a full review: the choice is pre-filled by its label.
            decision = form_field(form, "Decision")
            expect(decision.locator(".p-select-button__value")).to_have_text(
                CHOICE_LABELS["full_review"]
            )
            decision.locator(".p-select-button__icon").click()
            options = page.get_by_role("listbox").get_by_role("option").all_inner_texts()
            # Only the routes of the regime (no Welsh practice review on an English board): the
            # example is an LCSPR (issue 25 points 4 and 8), so the rapid review's outcomes
            # come first, then the board's own overrides (named so in the form's text).
            lcspr = load_rule_packs()["lcspr"]
            assert [o.strip() for o in options] == [CHOICE_LABELS[v] for v in lcspr.paths]
            page.keyboard.press("Escape")

            # A full review without a lead reviewer: the form takes it, the flow refuses it.
            form_field(form, "Rationale").get_by_role("textbox").fill(
                "s.16C is met: the child was seriously harmed and abuse is known."
            )
            form_field(form, "Decided by").get_by_role("textbox").fill("Independent Chair")
            form.get_by_role("button", name="Submit").click()
            expect(form).to_have_count(0)

            # The served runner runs the flow again; the refusal leads the run page's review
            # artifact and the form, within seconds.
            page.goto(f"{info.ui_url}/artifacts/artifact/{_latest_review_artifact(demo)}")
            expect(page.locator("body")).to_contain_text("not accepted")
            page.screenshot(path=str(tmp_path / "artifact.png"), full_page=True)
            body = page.locator("body").inner_text()
            assert body.index("not accepted") < body.index("Deciding")
            assert "a full review needs at least one lead reviewer" in body
            assert "waits at: Chair's decision" in body

            form = _open_the_form(page, info.run_url)
            expect(form).to_contain_text("Your last answer was not accepted")
            expect(form).to_contain_text("a full review needs at least one lead reviewer")
            page.screenshot(path=str(tmp_path / "form-again.png"), full_page=True)
        finally:
            browser.close()
    assert waiting_at(rt, info.reference) == "chair_decision"
