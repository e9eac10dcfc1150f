"""The case group's check of the draft through the portal: each agency's own link shows the
draft (its download audited) and takes comments section by section; sending meets the agency's
obligation; comments naming the child are refused whole; other links get the bare 403 page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from core.names import AgencyDuty, DocumentKind
from models import store
from models.orm import AuditEvent, ObligationStatus
from portal.server import PortalServer
from services import documents
from services.links import portal_link
from tests.services.conftest import Case

POLICE = "Northbridge Police"


@pytest.fixture
def portal(case: Case) -> Iterator[httpx.Client]:
    with PortalServer() as server, httpx.Client(base_url=server.url) as client:
        yield client


def _asked(case: Case) -> tuple[str, int]:
    """The draft stored and the police asked to check it (as the flow's stage does)."""
    draft = b"# Draft overview report\n\nChild T was not brought to appointments.\n"
    documents.add_document(
        case.rt, case.reference, DocumentKind.DRAFT_REPORT, "draft.md", draft, added_by="lead"
    )
    due = case.rt.today() + timedelta(days=21)
    with case.rt.sessions.begin() as session:
        review = store.get_review(session, case.reference)
        store.owe_per_agency(
            session,
            review=review,
            duty=AgencyDuty.DRAFT_CHECK,
            milestone="draft_check",
            description="factual-accuracy check of the draft report",
            owed_to="business manager",
            due_on=due,
            now=case.rt.now(),
        )
        police = store.find_agency(session, review.board_id, POLICE)
        assert police is not None
        agency_id = police.id
    link = documents.draft_check_link(case.rt, case.reference, agency_id, due)
    return link.removeprefix("http://127.0.0.1:8800"), agency_id


def _police_obligation(case: Case) -> ObligationStatus:
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        police = store.find_agency(session, review.board_id, POLICE)
        assert police is not None
        obligation = store.agency_obligation(session, review, AgencyDuty.DRAFT_CHECK, police)
        assert obligation is not None
        return obligation.status


def test_an_agency_reads_the_draft_and_sends_comments_that_stop_its_reminders(
    case: Case, portal: httpx.Client
) -> None:
    path, _ = _asked(case)
    page = portal.get(path)
    assert page.status_code == 200 and "Download the draft (version 1)" in page.text
    draft = portal.get(f"{path}/draft")
    assert draft.status_code == 200 and draft.content.startswith(b"# Draft overview report")
    with case.rt.sessions() as session:
        (read,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "document_read"))
    assert read.actor == f"{POLICE} (portal)" and read.detail["kind"] == "draft_report"
    sent = portal.post(
        path,
        data={
            "section_1": "2. Findings",
            "comment_1": "The second missed appointment was in March.",
            "section_2": "",
            "comment_2": "",
            "section_3": "3.1 Police contact",
            "comment_3": "Child T was seen by officers on 4 May, not 5 May.",
        },
    )
    assert sent.status_code == 200 and "2 comments from Northbridge Police" in sent.text
    assert "4 May, not 5 May" in sent.text  # shown back under "What you sent"
    assert _police_obligation(case) is ObligationStatus.MET
    assert [str(c) for c in documents.draft_comments(case.rt, case.reference)] == [
        "Northbridge Police (draft v1), 2. Findings: The second missed appointment was in March.",
        "Northbridge Police (draft v1), 3.1 Police contact: Child T was seen by officers on "
        "4 May, not 5 May.",
    ]


def test_comments_naming_the_child_or_missing_a_section_are_refused_whole(
    case: Case, portal: httpx.Client
) -> None:
    path, _ = _asked(case)
    refused = portal.post(
        path,
        data={
            "section_1": "2. Findings",
            "comment_1": "Tobias was seen at school.",
            "section_2": "",
            "comment_2": "A comment without its section.",
        },
    )
    assert refused.status_code == 400
    assert "entry 1: holds the subject&#39;s name; use the pseudonym" in refused.text
    assert "Tobias was seen at school." in refused.text  # what was typed is kept
    assert documents.draft_comments(case.rt, case.reference) == []
    assert _police_obligation(case) is ObligationStatus.OPEN
    missing = portal.post(path, data={"section_1": "", "comment_1": "No section given."})
    assert missing.status_code == 400 and "entry 1: section is required" in missing.text


def test_a_timeline_link_or_a_tampered_link_does_not_open_the_draft(
    case: Case, portal: httpx.Client
) -> None:
    path, agency_id = _asked(case)
    timeline = portal_link(case.rt, case.reference, agency_id, case.rt.today())
    token = timeline.rsplit("/", 1)[1]
    for bad in (f"/c/{token}", f"/c/{token}/draft", path[:-3] + "abc", f"{path[:-3]}abc/draft"):
        response = portal.get(bad)
        assert response.status_code == 403 and "This link is not valid" in response.text
