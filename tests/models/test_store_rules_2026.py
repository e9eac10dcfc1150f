"""Issue 25 in the case store: each test names the numbered point it follows.

The packs' side is in ``tests/cli/test_rules_2026.py``.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command

from models import store
from models.migrate import alembic_config, upgrade
from models.schemas import LocalAuthorityNotificationIn
from services.runtime import Runtime
from tests.helpers import add_example_referral, load_example_board, row_counts


def _obligations(rt: Runtime, reference: str) -> dict[str, date]:
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        return {o.milestone: o.due_on for o in store.open_obligations(session, review.id)}


def _events(rt: Runtime, reference: str) -> dict[str, date]:
    with rt.sessions() as session:
        return store.review_events(session, store.get_review(session, reference).id)


# --- 2. The referral records the incident/awareness date and the board's notification date


def test_point_2_awareness_and_board_notification_are_both_recorded(rt: Runtime) -> None:
    load_example_board(rt)
    # The local authority knew on Sat 14 Nov; the board was told on Mon 16 Nov.
    reference = add_example_referral(rt, "lcspr-child-m", incident_known_on="2026-11-14")
    events = _events(rt, reference)
    assert (events["incident_known"], events["notified"]) == (
        date(2026, 11, 14),
        date(2026, 11, 16),
    )
    # The local authority's five working days run from when it became aware: Fri 20 Nov.
    assert _obligations(rt, reference)["panel_notification"] == date(2026, 11, 20)
    with rt.sessions() as session:
        view = store.referral_view(session, reference)
    assert (view.incident_known_on, view.notified_on, view.incident_date) == (
        date(2026, 11, 14),
        date(2026, 11, 16),
        date(2026, 11, 14),
    )


def test_point_2_without_an_awareness_date_it_is_the_board_notification(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt, "lcspr-child-m")
    events = _events(rt, reference)
    assert events["incident_known"] == events["notified"] == date(2026, 11, 16)


def test_point_2_an_awareness_date_in_the_future_is_refused_naming_it(rt: Runtime) -> None:
    load_example_board(rt)
    before = row_counts(rt)
    with pytest.raises(store.InputRejected) as refused:
        add_example_referral(rt, "lcspr-child-m", incident_known_on="2026-12-25")
    assert [p.field for p in refused.value.problems] == ["incident_known_on"]
    assert row_counts(rt) == before


# --- 1. The rapid review counts from the notification once it is recorded


def test_point_1_rapid_review_is_re_dated_from_the_la_notification(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt, "lcspr-child-m")  # known and notified Mon 16 Nov
    assert _obligations(rt, reference)["rapid_review"] == date(2026, 12, 7)
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_local_authority_notification(
            session,
            review=review,
            notification=LocalAuthorityNotificationIn(
                sent_on=date(2026, 11, 19), to=["national_panel", "ofsted"]
            ),
            actor="test",
            now=rt.now(),
            deadlines=rt.deadlines,
        )
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        (rapid,) = store.open_obligations(session, review.id, milestone="rapid_review")
    assert rapid.due_on == date(2026, 12, 10)  # Thu 19 Nov + 15 working days
    assert rapid.description == "15 working days after la_notified"


def test_point_1_a_notification_given_with_the_referral_dates_the_rapid_review(
    rt: Runtime,
) -> None:
    load_example_board(rt)
    reference = add_example_referral(
        rt,
        "lcspr-child-m",
        local_authority_notification={"sent_on": "2026-11-18", "to": ["national_panel"]},
    )
    assert _obligations(rt, reference)["rapid_review"] == date(2026, 12, 9)


# --- 6. cpr/apr: no new referral from 1 October 2024


@pytest.mark.parametrize(("example", "regime"), [("cpr-child-w", "cpr"), ("apr-adult-w", "apr")])
def test_point_6_a_practice_review_from_1_october_2024_is_refused(
    rt: Runtime, example: str, regime: str
) -> None:
    load_example_board(rt)
    before = row_counts(rt)
    with pytest.raises(store.InputRejected) as refused:
        add_example_referral(rt, example, notified_on="2024-10-01", incident_date="2024-09-30")
    (problem,) = refused.value.problems
    assert problem.field == "notified_on" and "susr" in problem.problem
    assert row_counts(rt) == before
    # Referred the day before, it is a practice review and runs to its end.
    reference = add_example_referral(rt, example, notified_on="2024-09-30")
    assert reference.startswith(regime.upper())


def test_point_6_the_same_case_is_taken_as_a_susr(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(
        rt, "cpr-child-w", regime="susr", notified_on="2024-10-01", incident_date="2024-09-30"
    )
    assert reference.startswith("SUSR-")


# --- 7. A SUSR domestic homicide: no inter-agency test; the Home Office milestone


def test_point_7_a_dhr_susr_meets_the_criteria_without_inter_agency_concerns(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(
        rt,
        "susr-adult-d",
        harm="died",
        abuse_or_neglect="not_suspected",
        interagency_concerns=False,
        domestic_homicide=True,
    )
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        assessment = store.criteria_assessment(session, review, rt.deadlines)
        assert store.get_referral(session, review.id).domestic_homicide is True
    assert assessment is not None and assessment.met
    assert assessment.test is not None and "s.9" in assessment.test


# --- migration 0015: existing referrals keep their board notification as the awareness date


def test_migration_0015_fills_the_awareness_date_from_the_notification(
    sqlite_rt: Runtime, sqlite_url: str
) -> None:
    load_example_board(sqlite_rt)
    add_example_referral(sqlite_rt, "lcspr-child-m", incident_known_on="2026-11-14")
    # Back to 0011 (the columns go), then up again: a referral stored before 0015 takes the
    # board's notification date as the awareness date, as the store did until then.
    command.downgrade(alembic_config(sqlite_url), "0011")
    upgrade(sqlite_url)
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT incident_known_on, notified_on, domestic_homicide FROM referral")
        ).one()
    engine.dispose()
    assert (str(row[0]), str(row[1]), bool(row[2])) == ("2026-11-16", "2026-11-16", False)
