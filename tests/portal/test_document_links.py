"""Document downloads through the portal: a signed link for one version, audited on each
download, refused with the bare 403 page once expired or when tampered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select

from core.clock import ManualClock
from core.names import DocumentKind
from models.orm import AuditEvent
from portal.server import PortalServer
from services import documents
from services.links import make_token
from tests.services.conftest import Case
from tests.services.files import pdf_with_pages

FINAL = DocumentKind.FINAL_REPORT


@pytest.fixture
def portal(case: Case) -> Iterator[httpx.Client]:
    """The portal over real HTTP, serving the case's runtime."""
    with PortalServer() as server, httpx.Client(base_url=server.url) as client:
        yield client


def _path(link: str) -> str:
    """The link's path on the portal (the links name the configured portal URL)."""
    return link.removeprefix("http://127.0.0.1:8800")


def test_the_download_link_serves_the_version_audits_it_and_expires(
    case: Case, portal: httpx.Client, clock: ManualClock
) -> None:
    data = pdf_with_pages("Child T: the final report.")
    documents.add_document(case.rt, case.reference, FINAL, "Final v1.pdf", data, added_by="bm")
    today = case.rt.today()
    link = documents.panel_copy_link(case.rt, case.reference, FINAL, 1, today + timedelta(days=7))
    assert link.startswith("http://127.0.0.1:8800/d/")
    response = portal.get(_path(link))
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="SCR-2026-001-final_report-v1.pdf"' in response.headers["content-disposition"]
    with case.rt.sessions() as session:
        (audit,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "document_read"))
    assert audit.detail["how"] == "link" and audit.detail["version"] == 1
    clock.advance(timedelta(days=7))
    assert portal.get(_path(link)).status_code == 200  # valid through its last day
    clock.advance(timedelta(days=1))
    expired = portal.get(_path(link))
    assert expired.status_code == 403 and "This link is not valid" in expired.text


def test_a_tampered_download_link_gets_the_bare_403_page(case: Case, portal: httpx.Client) -> None:
    documents.add_document(case.rt, case.reference, FINAL, "f.md", b"Child T.\n", added_by="bm")
    link = documents.panel_copy_link(
        case.rt, case.reference, FINAL, 1, case.rt.today() + timedelta(days=7)
    )
    token = _path(link).removeprefix("/d/")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for path in (f"/d/{tampered}", "/d/not-a-token"):
        refused = portal.get(path)
        assert refused.status_code == 403
        assert "This link is not valid" in refused.text and "Child T" not in refused.text
    # A link signed for timelines (another salt) does not open a document.
    timeline_token = make_token(case.rt, case.reference, 1, date(2030, 1, 1))
    assert portal.get(f"/d/{timeline_token}").status_code == 403
