"""The owner agencies' action pages over real HTTP (the portal server): each agency
reaches its own items by its own action link, signs off or asks for a change, and reports its
quarter's progress."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy import select

from core.clock import ManualClock
from models import store
from models.orm import OutboxMessage
from portal.server import PortalServer
from services.action_plans import open_progress_quarter, request_signoffs
from services.links import make_token
from services.runtime import Runtime, use_runtime
from tests.conftest import make_runtime
from tests.helpers import add_example_referral, load_example_board, row_counts
from tests.plan_helpers import GP, POLICE, record_report, three_item_plan

GP_MAIL = "practice.manager@riverside-gp.example"


@pytest.fixture
def portal(sqlite_url: str, clock: ManualClock) -> Iterator[tuple[Runtime, str]]:
    with (
        PortalServer() as server,
        use_runtime(make_runtime(sqlite_url, clock, portal_url=server.url)) as rt,
    ):
        load_example_board(rt)
        reference = add_example_referral(rt)
        record_report(rt, reference, date(2026, 11, 22))
        three_item_plan(rt, reference)
        request_signoffs(rt, reference)
        yield rt, reference


def link(rt: Runtime, recipient: str, kind: str) -> str:
    """The path of the link as it stands in the agency's email."""
    with rt.sessions() as session:
        (body,) = session.scalars(
            select(OutboxMessage.body_text).where(
                OutboxMessage.recipient == recipient, OutboxMessage.kind == kind
            )
        )
    found = re.search(r"http://127\.0\.0\.1:\d+/a/[A-Za-z0-9._-]+", body)
    assert found is not None
    return found.group(0)


def test_the_link_opens_the_agencys_own_items_only(portal: tuple[Runtime, str]) -> None:
    rt, reference = portal
    page = httpx.get(link(rt, GP_MAIL, "action_signoff_link"))
    assert page.status_code == 200
    assert f"Action plan: {reference} (Child T)" in page.text
    assert "Call the family after a second missed appointment" in page.text
    assert "Train officers on missed-appointment referrals" not in page.text  # the police's
    assert "Quennell" not in page.text


def test_a_timeline_link_or_a_tampered_one_does_not_open_the_action_pages(
    portal: tuple[Runtime, str],
) -> None:
    rt, reference = portal
    with rt.sessions() as session:
        gp = store.find_agency(session, 1, GP)
        assert gp is not None
        timeline_token = make_token(rt, reference, gp.id, date(2027, 12, 31))
    client = httpx.Client(timeout=30)
    good = link(rt, GP_MAIL, "action_signoff_link")
    base = good.split("/a/")[0]
    assert client.get(f"{base}/a/{timeline_token}").status_code == 403
    refused = client.get(good[:-2] + "xx")
    assert refused.status_code == 403 and "This link is not valid" in refused.text


def test_asking_for_a_change_needs_a_comment_and_keeps_what_was_typed(
    portal: tuple[Runtime, str],
) -> None:
    rt, _ = portal
    path = link(rt, GP_MAIL, "action_signoff_link")
    client = httpx.Client(timeout=30)
    before = row_counts(rt)
    refused = client.post(f"{path}/signoff", data={"decision": "change", "comment": "  "})
    assert refused.status_code == 400
    assert "comment: is empty: say what should change" in refused.text
    assert row_counts(rt) == before
    refused = client.post(f"{path}/signoff", data={"decision": "", "comment": "Item 3 is too soon"})
    assert refused.status_code == 400 and "decision: choose" in refused.text
    assert "Item 3 is too soon</textarea>" in refused.text
    asked = client.post(
        f"{path}/signoff", data={"decision": "change", "comment": "Item 3 is too soon"}
    )
    assert asked.status_code == 200
    assert '<strong id="signoff-state">change requested</strong>' in asked.text
    signed = client.post(f"{path}/signoff", data={"decision": "sign"})
    assert '<strong id="signoff-state">signed</strong>' in signed.text
    assert "Sign off these actions" not in signed.text  # nothing more to sign


def test_the_quarterly_progress_form_refuses_then_takes_the_report(
    portal: tuple[Runtime, str],
) -> None:
    rt, reference = portal
    assert open_progress_quarter(rt, reference, 1, date(2027, 2, 22)) == [POLICE, GP]
    path = link(rt, GP_MAIL, "progress_request")
    client = httpx.Client(timeout=30)
    page = client.get(path)
    assert "Progress report, quarter 1" in page.text
    typed = {
        "status_2": "done",
        "evidence_2": "Calls logged for 14 families",
        "impact_2": "Follow-up within a week: 13 of 14",
        "status_3": "on_track",
    }
    refused = client.post(f"{path}/progress", data=typed | {"evidence_3": ""})
    assert refused.status_code == 400
    assert "item 3 evidence: is empty" in refused.text
    assert "Calls logged for 14 families</textarea>" in refused.text
    taken = client.post(f"{path}/progress", data=typed | {"evidence_3": "Audit tool agreed"})
    assert taken.status_code == 200, taken.text
    assert "quarter 1 report on 2 items was received" in taken.text
    assert "The next one is due by 22 May 2027" in taken.text
    assert "Progress report, quarter 2" in taken.text
