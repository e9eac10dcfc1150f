"""Sign-off per owner agency and quarterly progress until the plan is done (real store, SQLite
and PostgreSQL; no Prefect)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core.clock import ManualClock
from core.names import progress_key
from models import action_plan_store as plans
from models import store
from models.orm import ActionStatus, AuditEvent, Obligation, ObligationStatus, OutboxMessage
from services.action_plans import (
    ActionRefused,
    ItemUpdate,
    close_item,
    mark_overdue_items,
    open_progress_quarter,
    plan_complete,
    proceed_without_signoff,
    record_progress,
    record_signoff,
    request_signoffs,
    resend_signoff_links,
    signoff_state,
)
from services.runtime import Runtime
from tests.helpers import add_example_referral, load_example_board, row_counts
from tests.plan_helpers import GP, POLICE, record_report, three_item_plan


@pytest.fixture
def reference(rt: Runtime) -> str:
    load_example_board(rt)
    reference = add_example_referral(rt)
    record_report(rt, reference, date(2026, 11, 22))
    three_item_plan(rt, reference)
    return reference


def obligation(rt: Runtime, key: str) -> Obligation | None:
    with rt.sessions() as session:
        return session.scalar(select(Obligation).where(Obligation.key == key))


def status(rt: Runtime, key: str) -> ObligationStatus:
    found = obligation(rt, key)
    assert found is not None, key
    return found.status


def states(rt: Runtime, reference: str) -> dict[str, str]:
    with rt.sessions() as session:
        return dict(signoff_state(session, store.get_review(session, reference)))


def test_signoff_is_asked_of_each_owner_agency_only_with_its_link(
    rt: Runtime, reference: str
) -> None:
    assert request_signoffs(rt, reference) == 2
    assert request_signoffs(rt, reference) == 0  # asked again: nothing twice
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        owed = {
            o.owed_by: o.due_on
            for o in store.obligations(session, review.id, milestone="action_plan_signoff")
        }
        mail = list(
            session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "action_signoff_link")
            )
        )
    # The example referral involves more agencies than own actions: only the owners are asked.
    assert owed == {POLICE: date(2026, 12, 20), GP: date(2026, 12, 20)}
    assert sorted(m.recipient for m in mail) == [
        "practice.manager@riverside-gp.example",
        "public.protection@police.northbridge.example",
    ]
    assert all("/a/" in m.body_text for m in mail)
    assert states(rt, reference) == {POLICE: "awaited", GP: "awaited"}


def test_signoff_links_can_be_resent_each_time_once_to_those_not_signed(
    rt: Runtime, reference: str
) -> None:
    with pytest.raises(ActionRefused, match="no sign-off was requested yet"):
        resend_signoff_links(rt, reference, "business.manager")
    assert request_signoffs(rt, reference) == 2
    assert record_signoff(rt, reference, POLICE, True) == "signed"
    assert resend_signoff_links(rt, reference, "business.manager") == 1  # the GP only
    assert resend_signoff_links(rt, reference, "business.manager") == 1  # a new key each time
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        mail = list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "action_signoff_link")
                .order_by(OutboxMessage.id)
            )
        )
        resent = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.review_id == review.id, AuditEvent.action == "signoff_links_resent")
            .order_by(AuditEvent.id)
        ).all()
    assert [m.recipient for m in mail[2:]] == ["practice.manager@riverside-gp.example"] * 2
    assert len({m.key for m in mail}) == 4 and all("/a/" in m.body_text for m in mail)
    assert [(e.actor, e.detail) for e in resent] == [
        ("business.manager", {"resend": 1, "agencies": [GP]}),
        ("business.manager", {"resend": 2, "agencies": [GP]}),
    ]


def test_signoff_states_signed_change_requested_and_missing(rt: Runtime, reference: str) -> None:
    request_signoffs(rt, reference)
    assert (
        record_signoff(rt, reference, GP, False, "Item 3 needs a later date") == "change_requested"
    )
    assert status(rt, f"{reference}:signoff:{GP}") is ObligationStatus.OPEN
    with pytest.raises(store.InputRejected, match="comment: is empty"):
        record_signoff(rt, reference, POLICE, False, "   ")
    with pytest.raises(store.InputRejected, match="agency: 'Northbridge Homes' owns no action"):
        record_signoff(rt, reference, "Northbridge Homes", True)
    assert record_signoff(rt, reference, POLICE, True) == "signed"
    assert status(rt, f"{reference}:signoff:{POLICE}") is ObligationStatus.MET
    assert states(rt, reference) == {POLICE: "signed", GP: "change_requested"}

    with pytest.raises(store.InputRejected, match="reason: is empty"):
        proceed_without_signoff(rt, reference, GP, "", "chair")
    proceed_without_signoff(rt, reference, GP, "GP practice in special measures", "chair")
    gp = obligation(rt, f"{reference}:signoff:{GP}")
    assert gp is not None and gp.status is ObligationStatus.WAIVED and gp.met_on is None
    assert "special measures" in gp.note
    assert states(rt, reference) == {POLICE: "signed", GP: "missing"}
    with rt.sessions() as session:
        events = store.review_events(session, store.get_review(session, reference).id)
    assert events["action_plan_signed_off"] == date(2026, 11, 22)


def test_progress_opens_the_next_quarter_until_the_agencys_items_are_done(
    rt: Runtime, reference: str, clock: ManualClock
) -> None:
    request_signoffs(rt, reference)
    record_signoff(rt, reference, POLICE, True)
    record_signoff(rt, reference, GP, True)
    q1_due = date(2027, 2, 22)  # three months after sign-off on 22 November
    assert open_progress_quarter(rt, reference, 1, q1_due) == [POLICE, GP]

    clock.advance(timedelta(days=80))  # 10 February 2027: nothing past due yet
    with pytest.raises(store.InputRejected) as refused:
        record_progress(rt, reference, GP, 1, [ItemUpdate(2, "finished", "")])
    assert [str(p) for p in refused.value.problems] == [
        "item 2 status: 'finished' is not one of: not_started, on_track, at_risk, done",
        "item 2 evidence: is empty: say what shows progress",
        "item 3: is missing: report on each of your open items",
    ]
    result = record_progress(
        rt,
        reference,
        GP,
        1,
        [
            ItemUpdate(
                2, "done", "Calls logged for 14 families", "Follow-up within a week: 13 of 14"
            ),
            ItemUpdate(3, "on_track", "Audit tool agreed"),
        ],
    )
    assert result.next_quarter_due == date(2027, 5, 22)
    assert status(rt, progress_key(reference, GP, 1)) is ObligationStatus.MET
    q2 = obligation(rt, progress_key(reference, GP, 2))
    assert q2 is not None and q2.status is ObligationStatus.OPEN and q2.due_on == date(2027, 5, 22)
    with pytest.raises(ActionRefused, match="already reported quarter 1"):
        record_progress(rt, reference, GP, 1, [ItemUpdate(3, "on_track", "again")])

    police = record_progress(
        rt,
        reference,
        POLICE,
        1,
        [ItemUpdate(1, "done", "All officers trained", "Referrals up by a third")],
    )
    assert police.next_quarter_due is None  # nothing left open: no quarter 2 for the police
    assert obligation(rt, progress_key(reference, POLICE, 2)) is None

    with rt.sessions() as session:
        review = store.get_review(session, reference)
        assert not plan_complete(session, review)
        reports = plans.progress_reports(session, [review.id])
    assert [(r.quarter, len(r.updates)) for r in reports] == [(1, 2), (1, 1)]


def test_a_quarter_with_nothing_open_opens_nothing(rt: Runtime, reference: str) -> None:
    for item in (1, 2, 3):
        close_item(
            rt, reference, item, "superseded by the partnership's audit programme", "committee"
        )
    before = row_counts(rt)
    assert open_progress_quarter(rt, reference, 1, date(2027, 2, 22)) == []
    assert row_counts(rt) == before
    with rt.sessions() as session:
        assert plan_complete(session, store.get_review(session, reference))


def test_items_past_due_turn_overdue_once(rt: Runtime, reference: str) -> None:
    with rt.sessions.begin() as session:
        assert len(mark_overdue_items(session, date(2027, 3, 1))) == 1  # the GP's 28 February item
    with rt.sessions.begin() as session:
        assert mark_overdue_items(session, date(2027, 3, 1)) == []
        review = store.get_review(session, reference)
        statuses = [i.status for i in plans.action_items(session, review.id)]
    assert statuses == [ActionStatus.NOT_STARTED, ActionStatus.OVERDUE, ActionStatus.NOT_STARTED]


def test_closing_an_item_needs_a_reason_and_is_audited(rt: Runtime, reference: str) -> None:
    before = row_counts(rt)
    with pytest.raises(store.InputRejected) as refused:
        close_item(rt, reference, 9, " ", "committee")
    assert [str(p) for p in refused.value.problems] == [
        f"item: no item 9 in the plan for {reference}",
        "reason: is empty: say why the committee closes it",
    ]
    assert row_counts(rt) == before
    close_item(rt, reference, 1, "done and evidenced", "committee", "Referrals up from 2 to 9")
    with rt.sessions() as session:
        item = plans.get_item(session, store.get_review(session, reference).id, 1)
        assert item is not None and item.status is ActionStatus.CLOSED
        assert item.impact_evaluation == "Referrals up from 2 to 9"
    assert row_counts(rt)["audit_event"] == before["audit_event"] + 1
