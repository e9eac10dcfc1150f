"""The workspace's queries on SQLite and PostgreSQL: the register's next deadline and days."""

from __future__ import annotations

from datetime import date, timedelta

from models import store
from models import workspace_store as ws
from models.orm import ObligationStatus, ReviewStatus
from services.runtime import Runtime
from tests.helpers import add_example_referral, load_example_board


def test_days_text_says_overdue_in_words() -> None:
    assert [ws.days_text(d) for d in (-3, -1, 0, 1, 12)] == [
        "3 days overdue",
        "1 day overdue",
        "due today",
        "1 day left",
        "12 days left",
    ]


def _obligation(rt: Runtime, review_id: int, milestone: str, due: date) -> None:
    with rt.sessions.begin() as session:
        store.upsert_obligation(
            session,
            key=f"test/{milestone}",
            review_id=review_id,
            milestone=milestone,
            description=milestone,
            owed_by="board",
            owed_to="board",
            due_on=due,
            now=rt.now(),
        )


def test_the_six_month_target_is_the_next_deadline_only_when_nothing_else_is_open(
    rt: Runtime,
) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt)
    today = rt.today()
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        review_id = review.id
        for o in store.open_obligations(session, review_id):
            o.status = ObligationStatus.MET  # the chair's decision is in
    _obligation(rt, review_id, "review_completion", today + timedelta(days=150))
    _obligation(rt, review_id, "learning_event", today + timedelta(days=200))

    def next_of() -> tuple[str | None, str | None]:
        with rt.sessions() as session:
            (row,) = ws.register(session, today=today, amber_by=today + timedelta(days=7))
        return row.next_milestone, row.due_text

    assert next_of() == ("learning_event", "200 days left")
    with rt.sessions.begin() as session:
        for o in store.open_obligations(session, review_id, milestone="learning_event"):
            o.status = ObligationStatus.MET
    assert next_of() == ("review_completion", "150 days left")


def test_the_register_lists_closed_reviews_without_a_deadline(rt: Runtime) -> None:
    load_example_board(rt)
    open_ref = add_example_referral(rt)
    closed_ref = add_example_referral(rt, "sar-adult-b")
    with rt.sessions.begin() as session:
        store.get_review(session, closed_ref).status = ReviewStatus.CLOSED
    today = rt.today()
    with rt.sessions() as session:
        rows = ws.register(session, today=today, amber_by=today)
    assert [(r.reference, r.status, r.next_due is None) for r in rows] == [
        (open_ref, "open", False),
        (closed_ref, "closed", True),
    ]
