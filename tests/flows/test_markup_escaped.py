"""No markup from outside: payloads an agency, a referrer or a gate's answerer could type reach
the Prefect artifacts and form descriptions, as read back from a real Prefect server, as text
only (no image to fetch, no link, no HTML element, no autolink)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import httpx
import pytest
from markdown_it import MarkdownIt
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.client.schemas.sorting import ArtifactSort

from case_reviews.simulation.scenario import answer, drive, example_timeline_csv
from deployments import driver
from tasks.gates import review_artifact_key

pytestmark = pytest.mark.prefect

PAYLOADS = (
    "![x](http://evil/x.png)",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "<http://evil>",
)
PAYLOAD = " ".join(PAYLOADS)
# CommonMark with raw HTML allowed: the most a markdown renderer could make of the text.
RENDER = MarkdownIt("commonmark", {"html": True}).enable("table")


def assert_inert(stored: str) -> None:
    """``stored`` markdown renders with no element from the payloads, and no bare URL or
    ``javascript:`` a GFM autolinker could turn into a link, yet the words are still there."""
    rendered = RENDER.render(stored)
    for live in ("<img", "<a ", "onerror=alert(1)>", "<http"):
        assert live not in rendered, (live, rendered)
    assert "javascript:" not in stored and "http://evil" not in stored
    for visible in ("![x](http://evil/x.png)", "[click](javascript:alert(1))"):
        assert visible in rendered.replace("&lt;", "<").replace("&gt;", ">")


def _description(run_id: UUID) -> str:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
        assert state is not None and state.state_details.run_input_keyset is not None
        keyset = state.state_details.run_input_keyset
        stored = client.read_flow_run_input(run_id, keyset["description"])
    # The description is stored as JSON text.
    return str(json.loads(stored) if isinstance(stored, str) else stored)


def _artifact_versions(key: str, run_id: UUID) -> list[str]:
    """The artifact's versions made by this run, oldest first (the suite's shared server holds
    other tests' runs of the same reference)."""
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
            ),
            sort=ArtifactSort.CREATED_DESC,
        )
    return [str(a.data) for a in reversed(artifacts)]


def test_summary_rationale_and_actor_stay_text_in_forms_and_artifacts(case_factory) -> None:
    case = case_factory(summary=f"Child T was seen. {PAYLOAD}")
    run_id = case.start()
    assert driver.execute(run_id) == "Suspended"
    first = _description(run_id)
    assert "Child T was seen." in RENDER.render(first)
    assert_inert(first)
    given: dict[str, Any] = answer("committee_recommendation", "full", case.clock.now().date())
    given |= {"rationale": f"Met. {PAYLOAD}", "recommended_by": f"Chair {PAYLOADS[1]}"}
    driver.resume(run_id, given)
    assert driver.execute(run_id) == "Suspended"
    chair_form = _description(run_id)
    assert "### Committee recommendation" in chair_form
    assert_inert(chair_form)
    versions = _artifact_versions(review_artifact_key(case.reference), run_id)
    answered = [v for v in versions if "answered" in v and "Answered by" in v]
    assert answered
    for version in versions:
        rendered = RENDER.render(version)
        assert "<img" not in rendered and "<a " not in rendered
    assert "&lt;img src" in answered[0]


@pytest.fixture
def portal_case(case_factory, portal_url: str):
    return case_factory(settings={"portal_url": portal_url})


def test_agency_timeline_text_stays_text_in_the_combined_timeline_artifact(portal_case) -> None:
    case = portal_case
    run_id = case.start()
    drive(case.rt, case.clock, run_id, case.reference, "full", stop_at="timelines_complete")
    mails = [m for m in case.smtp.received if "Timeline of significant events" in m.subject]
    assert mails
    for seed, mail in enumerate(mails):
        link = next(w for w in mail.part("text/plain").split() if "/t/" in w)
        data = example_timeline_csv("agency", "Child T", case.clock.now().date(), seed)
        data = data.replace(b"A letter was sent to the family.", PAYLOAD.encode())
        response = httpx.post(f"{link}/upload", files={"file": ("t.csv", data)}, timeout=30)
        assert response.status_code == 200, response.text
    assert driver.execute(run_id) == "Suspended"
    (combined,) = _artifact_versions(f"{case.reference.lower()}-combined-timeline", run_id)
    assert "Response" in combined
    assert_inert(combined)
