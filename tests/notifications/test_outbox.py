"""The outbox against a real SMTP server: once-only sending, retries, no identity."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from core.clock import ManualClock
from models.identity_guard import KnownIdentity
from models.orm import OutboxMessage
from notifications.mailer import AppriseMailer
from notifications.outbox import IdentityInMessage, deliver_pending, queue_message
from notifications.render import render
from notifications.smtp_catcher import SmtpCatcher
from services.runtime import Runtime

IDENTITY = KnownIdentity("Tobias Quennell", date(2022, 5, 14), "9434765919")


def _request(agency: str = "Northbridge Police") -> object:
    return render(
        "timeline_request",
        board_name="Northbridge SCP",
        board_contact="business.manager@board.example",
        reference="SCR-2026-001",
        pseudonym="Child T",
        agency_name=agency,
        due=date(2026, 11, 27),
        submit_how="Use the link below.",
        submit_url="http://127.0.0.1:8800/portal/abc",
    )


def _queue(rt: Runtime, key: str, recipient: str) -> bool:
    with rt.sessions.begin() as session:
        return queue_message(
            session,
            key=key,
            review_id=None,
            kind="timeline_request",
            recipient=recipient,
            email=_request(),  # type: ignore[arg-type]
            now=rt.now(),
            identity=IDENTITY,
        )


def _deliver(rt: Runtime, smtp: SmtpCatcher):
    return deliver_pending(rt.sessions, AppriseMailer(SecretStr(smtp.url())), rt.now)


def test_message_reaches_smtp_with_both_parts_and_readable_deadline(
    sqlite_rt: Runtime, smtp: SmtpCatcher
) -> None:
    _queue(sqlite_rt, "k1", "police@agency.example")
    report = _deliver(sqlite_rt, smtp)
    assert (report.sent, report.failed, report.pending) == (1, 0, 0)
    (caught,) = smtp.received
    assert caught.recipients == ("police@agency.example",)
    assert caught.subject == (
        "[SCR-2026-001] Timeline of significant events requested by Friday 27 November 2026"
    )
    assert caught.key == "k1"
    for part in (caught.part("text/plain"), caught.part("text/html")):
        assert "Friday 27 November 2026" in part
        assert "http://127.0.0.1:8800/portal/abc" in part
        assert "Child T" in part
        assert "Quennell" not in part


def test_same_key_is_queued_and_sent_once(sqlite_rt: Runtime, smtp: SmtpCatcher) -> None:
    assert _queue(sqlite_rt, "k1", "a@agency.example") is True
    assert _queue(sqlite_rt, "k1", "a@agency.example") is False
    _deliver(sqlite_rt, smtp)
    _deliver(sqlite_rt, smtp)
    assert len(smtp.received) == 1


def test_refused_send_stays_pending_with_error_and_goes_out_later_once(
    sqlite_rt: Runtime, smtp: SmtpCatcher, clock: ManualClock
) -> None:
    _queue(sqlite_rt, "k1", "a@agency.example")
    smtp.refuse("451 Mailbox busy")
    report = _deliver(sqlite_rt, smtp)
    assert (report.sent, report.failed, report.pending) == (0, 1, 1)
    with sqlite_rt.sessions() as session:
        row = session.scalars(select(OutboxMessage)).one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error
    assert row.next_attempt_at > clock.now()
    smtp.refuse(None)
    # Not due yet: back-off holds it.
    assert _deliver(sqlite_rt, smtp).sent == 0
    clock.advance(timedelta(minutes=2))
    assert _deliver(sqlite_rt, smtp).sent == 1
    assert _deliver(sqlite_rt, smtp).sent == 0
    assert len(smtp.received) == 1


def test_server_down_then_back_loses_nothing_and_duplicates_nothing(
    sqlite_rt: Runtime, clock: ManualClock
) -> None:
    catcher = SmtpCatcher()
    for n in range(3):
        _queue(sqlite_rt, f"k{n}", f"agency{n}@agency.example")
    down = _deliver(sqlite_rt, catcher)  # nothing listening yet
    assert (down.sent, down.failed, down.pending) == (0, 3, 3)
    with catcher:
        clock.advance(timedelta(hours=1))
        assert _deliver(sqlite_rt, catcher).sent == 3
        clock.advance(timedelta(days=1))
        assert _deliver(sqlite_rt, catcher).sent == 0
        assert sorted(m.key for m in catcher.received) == ["k0", "k1", "k2"]


def test_a_claimed_row_is_not_sent_by_a_second_deliverer(
    sqlite_rt: Runtime, smtp: SmtpCatcher
) -> None:
    """A second deliverer (say the sweep while the flow delivers) skips a claimed row."""
    from notifications.outbox import _claim

    _queue(sqlite_rt, "k1", "a@agency.example")
    with sqlite_rt.sessions() as session:
        row_id = session.scalars(select(OutboxMessage.id)).one()
    assert _claim(sqlite_rt.sessions, row_id, sqlite_rt.now()) is True
    assert _deliver(sqlite_rt, smtp).sent == 0
    assert smtp.received == []


def test_a_stale_claim_is_resent_after_the_claim_expires(
    sqlite_rt: Runtime, smtp: SmtpCatcher, clock: ManualClock
) -> None:
    """The documented ambiguous case: a deliverer died mid-send; the row is sent again later."""
    from notifications.outbox import STALE_CLAIM, _claim

    _queue(sqlite_rt, "k1", "a@agency.example")
    with sqlite_rt.sessions() as session:
        row_id = session.scalars(select(OutboxMessage.id)).one()
    _claim(sqlite_rt.sessions, row_id, sqlite_rt.now())
    clock.advance(STALE_CLAIM + timedelta(minutes=1))
    assert _deliver(sqlite_rt, smtp).sent == 1
    assert [m.key for m in smtp.received] == ["k1"]


def test_one_failing_recipient_does_not_resend_to_the_others(
    sqlite_rt: Runtime, smtp: SmtpCatcher, clock: ManualClock
) -> None:
    _queue(sqlite_rt, "k-ok", "ok@agency.example")
    _deliver(sqlite_rt, smtp)
    _queue(sqlite_rt, "k-late", "late@agency.example")
    smtp.refuse("451 busy")
    _deliver(sqlite_rt, smtp)
    smtp.refuse(None)
    clock.advance(timedelta(minutes=5))
    _deliver(sqlite_rt, smtp)
    assert [m.recipients for m in smtp.received] == [
        ("ok@agency.example",),
        ("late@agency.example",),
    ]


def test_message_with_the_real_name_is_refused_and_not_queued(sqlite_rt: Runtime) -> None:
    with pytest.raises(IdentityInMessage), sqlite_rt.sessions.begin() as session:
        queue_message(
            session,
            key="k1",
            review_id=None,
            kind="timeline_request",
            recipient="a@agency.example",
            email=render(
                "timeline_request",
                board_name="B",
                board_contact="bm@board.example",
                reference="SCR-2026-001",
                pseudonym="Tobias Q",
                agency_name="Police",
                due=date(2026, 11, 27),
                submit_how="x",
                submit_url=None,
            ),
            now=sqlite_rt.now(),
            identity=IDENTITY,
        )
    with sqlite_rt.sessions() as session:
        assert session.scalars(select(OutboxMessage)).all() == []
