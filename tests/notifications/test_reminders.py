"""The reminder sweep against a real SMTP server, with the clock moved by hand."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import LONDON, ManualClock
from core.deadlines import WorkingCalendar
from models import store
from models.orm import Agency, OutboxMessage, ReminderRound
from models.schemas import BoardIn, LocalAuthorityNotificationIn, ReferralIn
from notifications.reminders import ReminderPolicyError, load_policy, rounds
from notifications.smtp_catcher import CaughtMessage, SmtpCatcher
from services.runtime import Runtime, use_runtime
from services.sweep import run_sweep
from tests.conftest import make_runtime
from tests.helpers import add_example_referral, example_referral, load_example_board

POLICE = "public.protection@police.northbridge.example"
POLICE_LEAD = "dci.safeguarding@police.northbridge.example"
BM = "business.manager@northbridge-scp.example"
CHAIR = "chair@northbridge-scp.example"


def at(day: date) -> datetime:
    return datetime.combine(day, time(8), tzinfo=LONDON)


@pytest.fixture
def env(sqlite_url: str, smtp: SmtpCatcher):
    clock = ManualClock(at(date(2026, 11, 23)))  # a Monday
    rt = make_runtime(sqlite_url, clock, mail_url=smtp.url())
    with use_runtime(rt):
        load_example_board(rt)
        yield rt, clock, smtp


def add_case(rt: Runtime, name: str = "scr-child-t", **changes: object) -> str:
    """A review whose own board deadlines are met, so only what a test adds is chased."""
    reference = add_example_referral(rt, name, **changes)
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        for obligation in store.open_obligations(session, review.id):
            store.meet_obligation(session, key=obligation.key, on_date=rt.today())
    return reference


def owe(
    rt: Runtime,
    reference: str,
    agency: str,
    due: date,
    what: str = "timeline of significant events",
    key: str | None = None,
) -> None:
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        found = session.scalars(select(Agency).where(Agency.name == agency)).one()
        store.upsert_obligation(
            session,
            key=key or f"{reference}:timeline:{agency}",
            review_id=review.id,
            milestone="timeline_return",
            description=what,
            owed_by=agency,
            agency_id=found.id,
            owed_to="business manager",
            due_on=due,
            now=rt.now(),
        )


def sweep_on(rt: Runtime, clock: ManualClock, day: date):
    clock.set(at(day))
    return run_sweep(rt)


def mail_to(smtp: SmtpCatcher, address: str) -> list[CaughtMessage]:
    return [m for m in smtp.received if address in m.recipients]


def test_rounds_go_before_due_overdue_then_escalate_in_order() -> None:
    policy = load_policy()
    got = [
        (r.name, r.on, r.escalated)
        for r in rounds(date(2026, 12, 4), policy, WorkingCalendar())[:5]
    ]
    assert got == [
        ("before-5", date(2026, 11, 27), False),
        ("before-1", date(2026, 12, 3), False),
        ("due", date(2026, 12, 4), False),
        ("overdue-1", date(2026, 12, 9), True),
        ("overdue-2", date(2026, 12, 14), True),
    ]


def test_due_date_on_a_weekend_is_chased_on_the_friday_before() -> None:
    names = {r.name: r.on for r in rounds(date(2026, 12, 5), load_policy(), WorkingCalendar())}
    assert names["due"] == date(2026, 12, 4)
    assert names["before-5"] == date(2026, 11, 30)
    # One working day before Saturday is the Friday itself: the due-day reminder covers it.
    assert "before-1" not in names
    assert names["overdue-1"] == date(2026, 12, 9)  # three working days after Saturday


def test_agency_is_reminded_then_chased_then_escalated_to_lead_and_business_manager(env) -> None:
    rt, clock, smtp = env
    reference = add_case(rt)
    owe(rt, reference, "Northbridge Police", date(2026, 12, 4))
    for day in (date(2026, 11, 27), date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 9)):
        sweep_on(rt, clock, day)
    police = mail_to(smtp, POLICE)
    assert [m.subject for m in police] == [
        f"[{reference}] Reminder: timeline of significant events due Friday 4 December 2026",
        f"[{reference}] Reminder: timeline of significant events due Friday 4 December 2026",
        f"[{reference}] Due today: timeline of significant events",
        f"[{reference}] Overdue: timeline of significant events was due Friday 4 December 2026",
    ]
    (lead,) = mail_to(smtp, POLICE_LEAD)
    (bm,) = mail_to(smtp, BM)
    expected = f"[{reference}] Escalation: Northbridge Police's timeline of significant events"
    assert lead.subject == bm.subject == f"{expected} is overdue"
    text = lead.part("text/plain")
    assert "OVERDUE by 3 working days" in text
    assert "Child T" in text and "Quennell" not in text
    assert "Friday 4 December 2026" in lead.part("text/html")
    assert mail_to(smtp, CHAIR) == []


def test_nothing_goes_out_on_weekends_or_bank_holidays_and_the_next_working_day_catches_up(
    env,
) -> None:
    rt, clock, smtp = env
    reference = add_case(rt)
    owe(rt, reference, "Northbridge Police", date(2026, 12, 24))
    for quiet in (date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 27), date(2026, 12, 28)):
        report = sweep_on(rt, clock, quiet)
        assert report.quiet_day and report.reminders_queued == 0
    assert smtp.received == []
    report = sweep_on(rt, clock, date(2026, 12, 29))
    assert (report.quiet_day, report.reminders_queued) == (False, 1)
    (message,) = mail_to(smtp, POLICE)
    assert message.subject.startswith(f"[{reference}] Overdue:")  # one catch-up, not a burst


def test_two_sweeps_on_one_day_send_nothing_new(env) -> None:
    rt, clock, smtp = env
    reference = add_case(rt)
    owe(rt, reference, "Northbridge Police", date(2026, 12, 4))
    first = sweep_on(rt, clock, date(2026, 12, 4))
    clock.advance(timedelta(hours=6))
    second = run_sweep(rt)
    assert (first.reminders_queued, second.reminders_queued) == (1, 0)
    assert len(smtp.received) == 1


def test_an_agency_with_several_items_due_gets_one_digest(env) -> None:
    rt, clock, smtp = env
    first = add_case(rt)
    second = add_case(rt, "lcspr-child-m")
    owe(rt, first, "Northbridge Police", date(2026, 12, 4))
    owe(rt, second, "Northbridge Police", date(2026, 12, 4))
    owe(rt, second, "Northbridge Police", date(2026, 12, 4), what="action plan sign-off", key="x")
    report = sweep_on(rt, clock, date(2026, 12, 4))
    (digest,) = mail_to(smtp, POLICE)
    assert report.rounds_recorded == 3
    assert digest.subject == "Reminders: 3 items for Northbridge Police"
    text = digest.part("text/plain")
    assert f"{first} (Child T)" in text and f"{second} (Child M)" in text
    assert text.count("due Friday 4 December 2026") == 3


def test_board_deadlines_go_to_the_business_manager_and_escalate_to_the_chair(env) -> None:
    rt, clock, smtp = env
    reference = add_example_referral(rt)  # chair_decision due Wednesday 2 December 2026
    sweep_on(rt, clock, date(2026, 12, 2))
    sweep_on(rt, clock, date(2026, 12, 8))
    assert [m.subject for m in mail_to(smtp, BM) if "digest" not in m.subject] == [
        f"[{reference}] Due today: 1 month after notified",
        f"[{reference}] Overdue: 1 month after notified was due Wednesday 2 December 2026",
    ]
    (chair,) = mail_to(smtp, CHAIR)
    assert "Escalation" in chair.subject


def test_agency_without_contact_email_is_reported_to_the_business_manager(env) -> None:
    rt, clock, smtp = env
    reference = add_case(rt)
    with rt.sessions.begin() as session:
        police = session.scalars(select(Agency).where(Agency.name == "Northbridge Police")).one()
        police.contact_email = None
        police.safeguarding_lead_email = None
    owe(rt, reference, "Northbridge Police", date(2026, 12, 4))
    sweep_on(rt, clock, date(2026, 12, 4))
    (bm,) = [m for m in mail_to(smtp, BM) if "timeline" in m.subject]
    assert "No contact email is recorded for Northbridge Police" in bm.part("text/plain")


def test_smtp_down_leaves_reminders_pending_and_they_go_once_when_it_is_back(
    sqlite_url: str,
) -> None:
    catcher = SmtpCatcher()
    clock = ManualClock(at(date(2026, 12, 4)))
    rt = make_runtime(sqlite_url, clock, mail_url=catcher.url())
    with use_runtime(rt):
        load_example_board(rt)
        reference = add_case(rt)
        owe(rt, reference, "Northbridge Police", date(2026, 12, 4))
        down = run_sweep(rt)
        assert (down.reminders_queued, down.sent, down.pending) == (1, 0, 1)
        with catcher:
            clock.advance(timedelta(hours=2))
            back = run_sweep(rt)
            again = run_sweep(rt)
            assert (back.reminders_queued, back.sent, back.pending) == (0, 1, 0)
            assert (again.sent, len(catcher.received)) == (0, 1)


def test_restart_mid_batch_sends_the_rest_once_and_repeats_nothing(env) -> None:
    """The sweep queued its batch and died part-way through delivering it; a new process
    (a new runtime) sweeps again the same day."""
    rt, clock, smtp = env
    reference = add_case(rt)
    for agency in ("Northbridge Police", "Northbridge Homes", "Riverside GP Practice"):
        owe(rt, reference, agency, date(2026, 12, 4))
    clock.set(at(date(2026, 12, 4)))
    from notifications.outbox import deliver_pending
    from notifications.sweep import queue_reminders

    with rt.sessions.begin() as session:
        queue_reminders(
            session,
            now=rt.now(),
            today=rt.today(),
            policy=rt.reminder_policy,
            calendar=rt.deadlines.calendar,
        )

    class DiesAfterOne:
        def __init__(self, real):
            self.real, self.sent = real, 0

        def send(self, message):
            if self.sent == 1:
                raise KeyboardInterrupt  # the process is stopped mid-batch
            self.real.send(message)
            self.sent += 1

    with pytest.raises(KeyboardInterrupt):
        deliver_pending(rt.sessions, DiesAfterOne(rt.mailer), rt.now)
    assert len(smtp.received) == 1
    restarted = dataclasses.replace(
        make_runtime(rt.settings.database_url, clock, mail_url=smtp.url())
    )
    clock.advance(timedelta(minutes=20))  # past the dead process's claim
    report = run_sweep(restarted)
    assert report.reminders_queued == 0
    keys = [m.key for m in smtp.received]
    assert len(keys) == len(set(keys)) == 3
    with rt.sessions() as session:
        assert len(session.scalars(select(ReminderRound)).all()) == 3
        assert {r.status for r in session.scalars(select(OutboxMessage))} == {"sent"}


def test_weekly_digest_goes_on_the_first_working_day_of_the_week_with_rag(env) -> None:
    rt, clock, smtp = env
    reference = add_case(rt)
    owe(rt, reference, "Northbridge Police", date(2026, 11, 20), key="red")
    owe(rt, reference, "Northbridge Homes", date(2026, 12, 3), key="amber")
    owe(rt, reference, "Riverside GP Practice", date(2027, 1, 29), key="green")
    sweep_on(rt, clock, date(2026, 11, 30))  # Monday
    sweep_on(rt, clock, date(2026, 12, 1))  # Tuesday: no second digest
    digests = [m for m in mail_to(smtp, BM) if m.subject.startswith("Weekly digest")]
    assert len(digests) == 1
    text = digests[0].part("text/plain")
    assert "[RED] " in text and "[AMBER] " in text and "[GREEN] " in text
    assert digests[0].subject.startswith("Weekly digest: 1 red, 1 amber, 1 green")


def test_bank_holiday_monday_moves_the_digest_to_tuesday(env) -> None:
    rt, clock, smtp = env
    add_case(rt)
    sweep_on(rt, clock, date(2027, 5, 3))  # Early May bank holiday
    assert not [m for m in smtp.received if m.subject.startswith("Weekly digest")]
    sweep_on(rt, clock, date(2027, 5, 4))
    assert [m for m in smtp.received if m.subject.startswith("Weekly digest")]


def test_a_board_overrides_the_policy_from_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("before_working_days: [10]\noverdue_every_working_days: 5\n")
    policy = load_policy(path)
    assert policy.before_working_days == (10,)
    assert policy.overdue_every_working_days == 5
    assert "timeline_return" in policy.chase  # the rest stays as packaged


def test_a_malformed_policy_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("overdue_every_working_days: 0\n")
    with pytest.raises(ReminderPolicyError, match=r"policy\.yaml: overdue_every_working_days"):
        load_policy(path)


NORTHBRIDGE = "Northbridge Safeguarding Children Partnership"  # the example board
SOUTHMERE = "Southmere Safeguarding Adults Board"
SOUTHMERE_POLICE = "public.protection@police.southmere.example"


def test_two_boards_in_one_sweep_each_letter_names_its_own_board(env) -> None:
    """One sweep, one due date, two boards: each agency hears from its own board only."""
    rt, clock, smtp = env  # the example board (Northbridge) is loaded
    with rt.sessions.begin() as session:
        store.load_board(
            session,
            BoardIn.model_validate(
                {
                    "name": SOUTHMERE,
                    "chair_email": "chair@southmere-sab.example",
                    "business_manager_email": "business.manager@southmere-sab.example",
                    "national_panel_email": "notifications@national-panel.example",
                    "agencies": [
                        {
                            "name": "Southmere Police",
                            "sector": "police",
                            "contact_email": SOUTHMERE_POLICE,
                            "safeguarding_lead_email": "dci.safeguarding@police.southmere.example",
                        },
                        {
                            "name": "Southmere Adult Social Care",
                            "sector": "social_care",
                            "contact_email": "asc.reviews@southmere.example",
                        },
                    ],
                }
            ),
        )

    def add_on_board(board: str, data: dict[str, object]) -> str:
        """A referral on ``board`` whose own board deadlines are met (as :func:`add_case`)."""
        with rt.sessions.begin() as session:
            review = store.add_referral(
                session,
                ReferralIn.model_validate(data),
                board_id=store.get_board(session, board).id,
                actor="test",
                now=rt.now(),
                deadlines=rt.deadlines,
            )
            for obligation in store.open_obligations(session, review.id):
                store.meet_obligation(session, key=obligation.key, on_date=rt.today())
            return review.reference

    adult_b = example_referral("sar-adult-b") | {
        "referring_agency": "Southmere Adult Social Care",
        "agencies_involved": ["Southmere Adult Social Care", "Southmere Police"],
    }
    north = add_on_board(NORTHBRIDGE, example_referral("scr-child-t"))
    south = add_on_board(SOUTHMERE, adult_b)
    # Candidates sort by due date, then obligation: Northbridge's item comes first, the one
    # whose board name the old sweep wrote into every letter.
    owe(rt, north, "Northbridge Police", date(2026, 12, 4))
    owe(rt, south, "Southmere Police", date(2026, 12, 4))

    report = sweep_on(rt, clock, date(2026, 12, 4))

    assert (report.reminders_queued, report.sent) == (2, 2)
    (north_letter,) = mail_to(smtp, POLICE)
    (south_letter,) = mail_to(smtp, SOUTHMERE_POLICE)
    assert len(smtp.received) == 2  # nobody else, and neither agency gets the other's item
    for letter, reference, own, other in (
        (north_letter, north, NORTHBRIDGE, SOUTHMERE),
        (south_letter, south, SOUTHMERE, NORTHBRIDGE),
    ):
        assert letter.subject == f"[{reference}] Due today: timeline of significant events"
        text, html = letter.part("text/plain"), letter.part("text/html")
        assert f"This is a reminder from {own}:" in text
        assert text.startswith(f"{own} · {reference}")  # the heading names the board too
        assert f"This is a reminder from {own}:" in html
        assert other not in text and other not in html


CSC = "csc.reviews@northbridge.example"
CSC_LEAD = "head.of.safeguarding@northbridge.example"


def _lcspr_without_la_notice(rt: Runtime) -> str:
    """An LCSPR referral whose local authority has not yet notified the panel."""
    data = example_referral("lcspr-child-m")
    data |= {"notified_on": "2026-11-23", "incident_date": "2026-11-22"}
    with rt.sessions.begin() as session:
        board = store.get_board(session)
        review = store.add_referral(
            session,
            ReferralIn.model_validate(data),
            board_id=board.id,
            actor="test",
            now=rt.now(),
            deadlines=rt.deadlines,
        )
        return review.reference


def test_the_lcspr_panel_notification_is_owed_by_the_local_authority_not_the_chair(env) -> None:
    rt, clock, smtp = env
    reference = _lcspr_without_la_notice(rt)
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        owed = store.open_obligations(session, review.id, milestone="panel_notification")
    assert [(o.owed_by, o.due_on) for o in owed] == [
        ("Northbridge Children's Social Care", date(2026, 11, 30))
    ]
    # Two working days overdue and escalated: the local authority and its safeguarding lead
    # (and the business manager) are chased; the chair never is.
    sweep_on(rt, clock, date(2026, 12, 3))
    told = {m.recipients[0] for m in smtp.received if reference in m.subject}
    assert CSC in told
    assert CSC_LEAD in told
    assert CHAIR not in told


def test_recording_the_local_authority_notification_stops_its_reminders(env) -> None:
    rt, clock, smtp = env
    reference = _lcspr_without_la_notice(rt)
    notification = {"sent_on": "2026-11-25", "to": ["national_panel", "ofsted"]}
    clock.set(at(date(2026, 11, 26)))
    with rt.sessions.begin() as session:
        store.record_local_authority_notification(
            session,
            review=store.get_review(session, reference),
            notification=LocalAuthorityNotificationIn.model_validate(notification),
            actor="business manager",
            now=rt.now(),
        )
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        assert store.open_obligations(session, review.id, milestone="panel_notification") == []
        assert store.review_events(session, review.id)["la_notified"] == date(2026, 11, 25)
    sweep_on(rt, clock, date(2026, 12, 3))
    assert not [m for m in smtp.received if "serious incident" in m.part("text/plain")]
    assert not [m for m in smtp.received if m.recipients[0] in {CSC, CSC_LEAD}]


def test_a_local_authority_notification_dated_in_the_future_is_refused(env) -> None:
    rt, _clock, _smtp = env
    reference = _lcspr_without_la_notice(rt)
    future = LocalAuthorityNotificationIn.model_validate(
        {"sent_on": "2026-12-25", "to": ["national_panel"]}
    )
    with (
        pytest.raises(store.InputRejected, match="sent_on: is in the future"),
        rt.sessions.begin() as session,
    ):
        store.record_local_authority_notification(
            session,
            review=store.get_review(session, reference),
            notification=future,
            actor="business manager",
            now=rt.now(),
        )
