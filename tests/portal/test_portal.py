"""The agency portal over real HTTP: each agency reaches only its own request, by its own
signed link, as it arrived in the request email."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select

from core.clock import ManualClock
from models import store
from models.orm import Agency, AuditEvent, Obligation, TimelineSubmission
from models.timeline import COLUMNS
from notifications.smtp_catcher import SmtpCatcher
from portal.server import PortalServer
from services.links import make_token
from services.runtime import Runtime, use_runtime
from tasks import stages
from tests.conftest import make_runtime
from tests.helpers import add_example_referral, load_example_board, row_counts

POLICE = "public.protection@police.northbridge.example"
GP = "practice.manager@riverside-gp.example"


@dataclass
class Portal:
    rt: Runtime
    clock: ManualClock
    smtp: SmtpCatcher
    server: PortalServer
    reference: str

    def link(self, recipient: str) -> str:
        """The link exactly as it arrived in the agency's timeline request email."""
        (mail,) = [
            m
            for m in self.smtp.received
            if recipient in m.recipients and "Timeline of significant events" in m.subject
        ]
        found = re.search(r"http://127\.0\.0\.1:\d+/t/[A-Za-z0-9._-]+", mail.part("text/plain"))
        assert found is not None
        return found.group(0)


@pytest.fixture
def portal(sqlite_url: str, clock: ManualClock, smtp: SmtpCatcher) -> Iterator[Portal]:
    with PortalServer() as server:
        rt = make_runtime(sqlite_url, clock, mail_url=smtp.url(), portal_url=server.url)
        with use_runtime(rt):
            load_example_board(rt)
            reference = add_example_referral(rt)
            stages.timeline_requests.fn(reference)  # the requests go out, with the links
            yield Portal(rt, clock, smtp, server, reference)


def csv_file(*rows: list[str]) -> bytes:
    lines = [",".join(COLUMNS)] + [",".join(f'"{v}"' for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


GOOD = [
    "2026-08-14",
    "Child T was not brought to a planned appointment.",
    "Missed health contacts were building up.",
    "A letter was sent to the family.",
    "Not shared with social care.",
    "Missed appointments should prompt a call.",
    "police constable",
    "Q1",
]


def upload(link: str, data: bytes, name: str = "timeline.csv") -> httpx.Response:
    return httpx.post(f"{link}/upload", files={"file": (name, data, "text/csv")}, timeout=30)


def versions(portal: Portal, agency: str) -> int:
    with portal.rt.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(TimelineSubmission)
                .join(Agency, Agency.id == TimelineSubmission.agency_id)
                .where(Agency.name == agency)
            )
            or 0
        )


def test_link_in_the_email_opens_the_agencys_own_request(portal: Portal) -> None:
    page = httpx.get(portal.link(POLICE), timeout=30)
    assert page.status_code == 200
    assert "Timeline of significant events: SCR-2026-001 (Child T)" in page.text
    assert "Northbridge Police" in page.text
    assert "Friday 18 December 2026" in page.text  # 20 working days from Sunday 22 November
    assert "Quennell" not in page.text and "Larkspur" not in page.text


def test_upload_is_stored_audited_and_shown_and_meets_the_obligation(portal: Portal) -> None:
    response = upload(portal.link(POLICE), csv_file(GOOD))
    assert response.status_code == 200
    assert "Received: 1 event from Northbridge Police, version 1." in response.text
    assert "Child T was not brought to a planned appointment." in response.text
    with portal.rt.sessions() as session:
        obligation = session.scalars(
            select(Obligation).where(Obligation.key == "SCR-2026-001:timeline:Northbridge Police")
        ).one()
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "timeline_submitted")
        ).one()
    assert obligation.status.value == "met"
    assert audit.detail["agency"] == "Northbridge Police"
    assert audit.actor == "Northbridge Police (portal)"


def test_events_typed_into_the_form_are_stored(portal: Portal) -> None:
    fields = {"rows": "2"} | {f"{c}_0": v for c, v in zip(COLUMNS, GOOD, strict=True)}
    fields |= {f"{c}_1": "" for c in COLUMNS}
    response = httpx.post(f"{portal.link(GP)}/events", data=fields, timeout=30)
    assert response.status_code == 200, response.text
    assert versions(portal, "Riverside GP Practice") == 1


def test_form_problems_name_the_entry_and_column_and_store_nothing(portal: Portal) -> None:
    bad = dict(zip(COLUMNS, GOOD, strict=True)) | {"date": "14/13/2026"}
    fields = {"rows": "2"} | {f"{c}_1": v for c, v in bad.items()}
    fields |= {f"{c}_0": "" for c in COLUMNS}
    before = row_counts(portal.rt)
    response = httpx.post(f"{portal.link(GP)}/events", data=fields, timeout=30)
    assert response.status_code == 400
    assert "entry 2, column date" in response.text
    assert row_counts(portal.rt) == before


def test_replacing_keeps_earlier_versions_and_shows_the_newest(portal: Portal) -> None:
    link = portal.link(POLICE)
    upload(link, csv_file(GOOD))
    second = [*GOOD]
    second[1] = "Child T was seen at home by a police constable."
    response = upload(link, csv_file(GOOD, second))
    assert "Received: 2 events from Northbridge Police, version 2." in response.text
    assert versions(portal, "Northbridge Police") == 2
    assert "version 1 on" in response.text and "version 2 on" in response.text


def test_replacement_after_the_deadline_is_refused_but_a_late_first_one_is_taken(
    portal: Portal,
) -> None:
    upload(portal.link(POLICE), csv_file(GOOD))
    portal.clock.advance(timedelta(days=30))  # past the 18 December deadline
    refused = upload(portal.link(POLICE), csv_file(GOOD))
    assert refused.status_code == 409
    assert "can no longer be replaced" in refused.text
    assert versions(portal, "Northbridge Police") == 1
    late = upload(portal.link(GP), csv_file(GOOD))
    assert late.status_code == 200


def test_a_bad_file_is_refused_whole_with_row_and_column_named(portal: Portal) -> None:
    bad_date = [*GOOD]
    bad_date[0] = "sometime"
    no_what = [*GOOD]
    no_what[1] = ""
    before = row_counts(portal.rt)
    response = upload(portal.link(POLICE), csv_file(GOOD, bad_date, no_what))
    assert response.status_code == 400
    assert "row 3, column date" in response.text
    assert "row 4, column what_happened" in response.text
    assert "Nothing was saved" in response.text
    assert row_counts(portal.rt) == before


def test_the_subjects_real_name_or_birth_date_is_refused(portal: Portal) -> None:
    named = [*GOOD]
    named[1] = "Tobias was not brought to a planned appointment."
    born = [*GOOD]
    born[3] = "Checked records: born 14/05/2022."
    before = row_counts(portal.rt)
    response = upload(portal.link(POLICE), csv_file(named, born))
    assert response.status_code == 400
    assert "real name" in response.text and "Child T" in response.text
    assert "date of birth" in response.text
    assert row_counts(portal.rt) == before


def test_an_excel_upload_from_the_template_filled_in_is_taken(portal: Portal) -> None:
    link = portal.link(POLICE)
    template = httpx.get(f"{link}/template.xlsx", timeout=30)
    assert template.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]][: len(COLUMNS)] == list(COLUMNS)
    sheet.cell(row=2, column=2).value = "Child T was seen at home by a police constable."
    out = io.BytesIO()
    book.save(out)
    response = upload(link, out.getvalue(), "timeline.xlsx")
    assert response.status_code == 200, response.text
    assert versions(portal, "Northbridge Police") == 1


def test_tampered_expired_and_foreign_links_get_403_and_reveal_nothing(portal: Portal) -> None:
    link = portal.link(POLICE)
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    later = portal.clock.now().date() + timedelta(days=30)
    with portal.rt.sessions() as session:
        adults = session.scalars(
            select(Agency).where(Agency.name == "Northbridge Adult Social Care")
        ).one()
    not_on_review = (
        f"{portal.server.url}/t/{make_token(portal.rt, portal.reference, adults.id, later)}"
    )
    other_review = f"{portal.server.url}/t/{make_token(portal.rt, 'SAR-2026-009', 1, later)}"
    for bad in (tampered, not_on_review, other_review, f"{portal.server.url}/t/nonsense"):
        for response in (httpx.get(bad, timeout=30), upload(bad, csv_file(GOOD))):
            assert response.status_code == 403
            assert "SCR-2026-001" not in response.text and "Child T" not in response.text
    portal.clock.advance(timedelta(days=60))  # the link's grace after the deadline is over
    assert httpx.get(link, timeout=30).status_code == 403


def test_one_agency_cannot_see_anothers_timeline(portal: Portal) -> None:
    secret = [*GOOD]
    secret[1] = "Child T attended the surgery with bruising noted."
    upload(portal.link(GP), csv_file(secret))
    police_page = httpx.get(portal.link(POLICE), timeout=30).text
    assert "bruising" not in police_page
    assert "Riverside" not in police_page
    with portal.rt.sessions() as session:
        gp = session.scalars(select(Agency).where(Agency.name == "Riverside GP Practice")).one()
        assert store.get_review(session, portal.reference).id
    assert gp.name not in police_page


def _typed_fields(*entries: list[str]) -> dict[str, str]:
    fields = {"rows": str(len(entries))}
    for i, values in enumerate(entries):
        fields |= {f"{c}_{i}": v for c, v in zip(COLUMNS, values, strict=True)}
    return fields


def test_a_refusal_for_the_subjects_name_keeps_every_typed_entry_numbered_as_the_page(
    portal: Portal,
) -> None:
    named = [*GOOD]
    named[1] = "Tobias was not brought to a planned appointment."
    blank = [""] * len(COLUMNS)
    before = row_counts(portal.rt)
    response = httpx.post(
        f"{portal.link(GP)}/events", data=_typed_fields(GOOD, blank, named), timeout=30
    )
    assert response.status_code == 400
    assert "entry 3, column what_happened: contains the subject&#39;s real name" in response.text
    assert "row " not in response.text.split("Nothing was saved")[1].split("</ul>")[0]
    # What the agency typed is still in the form, in its places.
    assert f'name="what_happened_0" aria-label="what happened 1" value="{GOOD[1]}"' in (
        response.text
    )
    assert 'name="what_happened_2" aria-label="what happened 3" value="Tobias was' in (
        response.text
    )
    assert row_counts(portal.rt) == before


def test_an_event_dated_after_today_is_refused(portal: Portal) -> None:
    future = [*GOOD]
    future[0] = (portal.rt.today() + timedelta(days=1)).isoformat()
    response = upload(portal.link(POLICE), csv_file(GOOD, future))
    assert response.status_code == 400
    assert f"row 3, column date: is after today ({portal.rt.today().isoformat()})" in (
        response.text
    )
    assert versions(portal, "Northbridge Police") == 0


def test_the_untouched_template_is_refused(portal: Portal) -> None:
    link = portal.link(POLICE)
    template = httpx.get(f"{link}/template.csv", timeout=30).content
    response = upload(link, template)
    assert response.status_code == 400
    assert "row 2: is the template&#39;s example" in response.text
    assert versions(portal, "Northbridge Police") == 0


def test_the_portal_root_is_a_plain_page_not_json(portal: Portal) -> None:
    response = httpx.get(f"{portal.server.url}/", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "link in the request email" in response.text


def test_the_request_email_lists_the_columns_the_contact_and_when_the_link_ends(
    portal: Portal,
) -> None:
    (mail,) = [
        m
        for m in portal.smtp.received
        if POLICE in m.recipients and "Timeline of significant events" in m.subject
    ]
    text = mail.part("text/plain")
    for column in COLUMNS:
        assert f"- {column}" in text
    # Due Friday 18 December 2026; the link works four weeks longer.
    assert "The link works until Friday 15 January 2027" in text
    assert "Contact the business manager: " in text
    with portal.rt.sessions() as session:
        contact = store.get_board(session).business_manager_email
    assert contact in text


def test_the_portal_answers_others_while_a_large_upload_is_refused(portal: Portal) -> None:
    """Issue 21, point 6: a refused upload is parsed off the event loop, so other agencies'
    pages (here the health check) are served while it is read. The sheet has too many rows:
    it is streamed to the limit and refused in one line."""
    import threading
    import time

    from core.limits import SHEET_MAX_ROWS

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(COLUMNS))
    for _ in range(SHEET_MAX_ROWS + 10):
        sheet.append(GOOD)
    out = io.BytesIO()
    workbook.save(out)
    link = portal.link(POLICE)
    answers: list[httpx.Response] = []
    sending = threading.Thread(
        target=lambda: answers.append(upload(link, out.getvalue(), "timeline.xlsx"))
    )
    slowest = 0.0
    sending.start()
    with httpx.Client() as client:
        while sending.is_alive():
            started = time.perf_counter()
            assert client.get(f"{portal.server.url}/health").status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.05)
    sending.join()
    (refused,) = answers
    assert refused.status_code == 400
    assert "rows" in refused.text
    assert slowest < 1.0, f"the health check waited {slowest:.2f} s behind the upload"
    assert versions(portal, "Northbridge Police") == 0
