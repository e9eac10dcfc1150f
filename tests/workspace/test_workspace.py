"""The board's workspace over real HTTP: sign-in, sessions, CSRF, lock-out, roles, reveal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core.clock import ManualClock
from core.names import DocumentKind
from models.orm import AuditEvent
from services.action_plans import request_signoffs
from services.documents import add_document
from tests.plan_helpers import record_report, three_item_plan
from tests.workspace.conftest import (
    PASSWORD,
    REAL_NAME,
    Workspace,
    csrf_of,
    make_workspace,
)


def _audit_actions(ws: Workspace) -> list[str]:
    with ws.rt.sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_pages_need_a_sign_in(workspace: Workspace) -> None:
    with workspace.client() as client:
        response = client.get(f"/reviews/{workspace.reference}")
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next=/reviews/{workspace.reference}"


def test_the_business_manager_signs_in_and_sees_the_register_and_the_review(
    workspace: Workspace,
) -> None:
    with workspace.signed_in("bm") as client:
        register = client.get("/reviews")
        assert register.status_code == 200
        assert "SCR-2026-001" in register.text and "Child T" in register.text
        # The chair's decision is due on Wednesday 2 December 2026, ten days on.
        assert "Chair decision: Wednesday 2 December 2026" in register.text
        assert "10 days left" in register.text
        review = client.get(f"/reviews/{workspace.reference}")
        assert review.status_code == 200
        for text in ("Deadlines", "Agencies' obligations", "Northbridge Police", "Audit trail"):
            assert text in review.text
        assert "Referral recorded as Serious Case Review" in review.text
        assert REAL_NAME not in register.text + review.text


def test_overdue_reads_days_overdue_never_a_negative_number(workspace: Workspace) -> None:
    workspace.clock.set(workspace.clock.now() + timedelta(days=13))  # due 2 Dec, now 5 Dec
    with workspace.signed_in("reader") as client:
        page = client.get("/reviews").text
    assert "3 days overdue" in page
    assert "-3" not in page and "(-" not in page
    assert 'tag--red">Red' in page


def test_register_filters_by_regime_stage_and_rag(workspace: Workspace) -> None:
    with workspace.signed_in("member") as client:
        assert "SCR-2026-001" in client.get("/reviews", params={"regime": "scr"}).text
        assert "No reviews match" in client.get("/reviews", params={"regime": "sar"}).text
        assert "No reviews match" in client.get("/reviews", params={"rag": "red"}).text
        assert "SCR-2026-001" in client.get("/reviews", params={"rag": "green"}).text
        assert "No reviews match" in client.get("/reviews", params={"stage": "monitoring"}).text


def test_a_form_posted_without_the_csrf_token_is_refused(workspace: Workspace) -> None:
    with workspace.client() as client:
        client.get("/login")
        refused = client.post("/login", data={"username": "bm", "password": PASSWORD})
        assert refused.status_code == 403
        assert client.get("/reviews").status_code == 303  # not signed in
    with workspace.signed_in("bm") as client:
        before = _audit_actions(workspace)
        refused = client.post(f"/reviews/{workspace.reference}/reveal")
        assert refused.status_code == 403
        wrong = client.post(f"/reviews/{workspace.reference}/reveal", data={"csrf_token": "x"})
        assert wrong.status_code == 403
        assert REAL_NAME not in refused.text + wrong.text
        assert _audit_actions(workspace) == before


def test_a_token_from_before_sign_in_does_not_work_after_it(workspace: Workspace) -> None:
    with workspace.client() as client:
        old = csrf_of(client.get("/login").text)
        client.post("/login", data={"username": "bm", "password": PASSWORD, "csrf_token": old})
        refused = client.post(f"/reviews/{workspace.reference}/reveal", data={"csrf_token": old})
        assert refused.status_code == 403


def test_five_wrong_passwords_lock_the_account_for_a_while_audited(workspace: Workspace) -> None:
    with workspace.client() as client:
        statuses = []
        for _ in range(5):
            token = csrf_of(client.get("/login").text)
            statuses.append(
                client.post(
                    "/login", data={"username": "chair", "password": "wrong", "csrf_token": token}
                ).status_code
            )
        assert statuses == [401, 401, 401, 401, 423]
        token = csrf_of(client.get("/login").text)
        locked = client.post(
            "/login", data={"username": "chair", "password": PASSWORD, "csrf_token": token}
        )
        assert locked.status_code == 423 and "locked" in locked.text
    assert _audit_actions(workspace).count("workspace_account_locked") == 1
    workspace.clock.set(workspace.clock.now() + timedelta(minutes=16))
    with workspace.signed_in("chair") as client:
        assert client.get("/reviews").status_code == 200


def test_read_only_and_committee_member_cannot_reveal_the_identity(workspace: Workspace) -> None:
    for username in ("reader", "member"):
        with workspace.signed_in(username) as client:
            page = client.get(f"/reviews/{workspace.reference}").text
            assert "Reveal the identity" not in page
            refused = client.post(
                f"/reviews/{workspace.reference}/reveal", data={"csrf_token": csrf_of(page)}
            )
            assert refused.status_code == 403
            assert REAL_NAME not in refused.text
    assert "identity_revealed" not in _audit_actions(workspace)


def test_the_chair_reveals_the_identity_and_the_look_is_audited(workspace: Workspace) -> None:
    with workspace.signed_in("chair") as client:
        page = client.get(f"/reviews/{workspace.reference}").text
        assert REAL_NAME not in page
        revealed = client.post(
            f"/reviews/{workspace.reference}/reveal", data={"csrf_token": csrf_of(page)}
        )
        assert revealed.status_code == 200 and REAL_NAME in revealed.text
        assert revealed.headers["cache-control"] == "no-store"
        assert REAL_NAME not in client.get(f"/reviews/{workspace.reference}").text
    with workspace.rt.sessions() as session:
        look = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "identity_revealed")
        ).one()
        assert look.actor == "chair"


def test_the_session_cookie_is_signed_httponly_samesite_lax(workspace: Workspace) -> None:
    with workspace.client() as client:
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login", data={"username": "bm", "password": PASSWORD, "csrf_token": token}
        )
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        assert "Secure" not in cookie  # plain http here; Secure over https
        value = client.cookies["reviews_workspace"]
    payload, signature = value.rsplit(".", 1)
    forged = f"{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    for cookie_value, status in ((value, 200), (forged, 303)):
        with workspace.client() as client:
            client.cookies.set("reviews_workspace", cookie_value)
            assert client.get("/reviews").status_code == status


def test_a_disabled_user_loses_the_session(workspace: Workspace) -> None:
    from services.accounts import disable_user

    with workspace.signed_in("member") as client:
        assert client.get("/reviews").status_code == 200
        disable_user(workspace.rt, "member")
        assert client.get("/reviews").status_code == 303


@pytest.fixture
def proxied(sqlite_url: str, clock: ManualClock) -> Iterator[Workspace]:
    yield from make_workspace(sqlite_url, clock, workspace_trusted_user_header="X-Forwarded-User")


def test_trusted_proxy_mode_takes_the_user_from_the_header(proxied: Workspace) -> None:
    with proxied.client() as client:
        assert client.get("/reviews", headers={"X-Forwarded-User": "chair"}).status_code == 200
        assert client.get("/reviews", headers={"X-Forwarded-User": "nobody"}).status_code == 403
        assert client.get("/reviews").status_code == 303


def test_the_review_page_lists_documents_and_the_action_plan(workspace: Workspace) -> None:
    rt, reference = workspace.rt, workspace.reference
    add_document(rt, reference, DocumentKind.TERMS_OF_REFERENCE, "tor.md", b"# ToR", added_by="bm")
    add_document(rt, reference, DocumentKind.FINAL_REPORT, "report.md", b"# Report", added_by="bm")
    record_report(rt, reference, rt.today())
    three_item_plan(rt, reference)
    with workspace.signed_in("reader") as client:
        page = client.get(f"/reviews/{reference}").text
        assert "Terms of reference" in page and "Final report" in page
        assert f"/reviews/{reference}/documents/terms_of_reference/1" in page
        assert f"/reviews/{reference}/documents/final_report/1" not in page
        assert "Train officers on missed-appointment referrals" in page
        assert "Riverside GP Practice: awaited" in page
        assert 'tag--grey">Not started' in page
        tor = client.get(f"/reviews/{reference}/documents/terms_of_reference/1")
        assert tor.status_code == 200 and tor.content == b"# ToR"
        refused = client.get(f"/reviews/{reference}/documents/final_report/1")
        assert refused.status_code == 403
        assert b"# Report" not in refused.content
    assert "document_read" not in _audit_actions(workspace)
    with workspace.signed_in("chair") as client:
        report = client.get(f"/reviews/{reference}/documents/final_report/1")
        assert report.status_code == 200 and report.content == b"# Report"
        assert "attachment" in report.headers["content-disposition"]
        assert client.get(f"/reviews/{reference}/documents/final_report/9").status_code == 404
        assert client.get(f"/reviews/{reference}/documents/poem/1").status_code == 404
    with workspace.rt.sessions() as session:
        read = session.scalars(select(AuditEvent).where(AuditEvent.action == "document_read")).one()
        assert read.actor == "chair" and read.detail["kind"] == "final_report"


def test_the_business_manager_resends_sign_off_links_from_the_review_page(
    workspace: Workspace,
) -> None:
    rt, reference = workspace.rt, workspace.reference
    record_report(rt, reference, date(2026, 11, 22))
    three_item_plan(rt, reference)
    request_signoffs(rt, reference)
    with workspace.signed_in("member") as client:
        page = client.get(f"/reviews/{reference}").text
        assert "Resend the sign-off links" not in page
        refused = client.post(
            f"/reviews/{reference}/plan/resend-links", data={"csrf_token": csrf_of(page)}
        )
        assert refused.status_code == 403
    with workspace.signed_in("bm") as client:
        page = client.get(f"/reviews/{reference}").text
        assert "Resend the sign-off links" in page
        sent = client.post(
            f"/reviews/{reference}/plan/resend-links", data={"csrf_token": csrf_of(page)}
        )
        assert sent.status_code == 303
    assert "signoff_links_resent" in _audit_actions(workspace)


def test_the_business_manager_clears_a_harmless_hit_from_the_documents_section(
    workspace: Workspace,
) -> None:
    from services.documents import add_review_name, release_check

    rt, reference = workspace.rt, workspace.reference
    add_review_name(rt, reference, "Dana Hope", "social worker", actor="bm")
    add_document(
        rt, reference, DocumentKind.FINAL_REPORT, "r.md", b"x\n\nHope held.\n", added_by="bm"
    )
    assert not release_check(rt, reference, DocumentKind.FINAL_REPORT).may_leave
    form = {"kind": "final_report", "version": "1", "place": "paragraph 2"}
    with workspace.signed_in("reader") as client:
        token = csrf_of(client.get(f"/reviews/{reference}").text)
        refused = client.post(
            f"/reviews/{reference}/documents/clear",
            data={**form, "reason": "a word", "csrf_token": token},
        )
        assert refused.status_code == 403
    with workspace.signed_in("bm") as client:
        page = client.get(f"/reviews/{reference}").text
        assert "Clear a hit as not identifying" in page
        data = {**form, "csrf_token": csrf_of(page)}
        blank = client.post(f"/reviews/{reference}/documents/clear", data={**data, "reason": ""})
        assert "--reason: is required" in blank.text
        done = client.post(
            f"/reviews/{reference}/documents/clear", data={**data, "reason": "the word hope"}
        )
        assert "cleared paragraph 2: name listed for the review (social worker)" in done.text
    assert release_check(rt, reference, DocumentKind.FINAL_REPORT).may_leave
    assert "anonymisation_hit_cleared" in _audit_actions(workspace)
