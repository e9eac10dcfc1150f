"""A store with several reviews (SCR, LCSPR, SAR) and their plans, built with the store
functions (no Prefect), for the committee's and the board's reports."""

from __future__ import annotations

from datetime import date, datetime

from core.clock import LONDON
from core.names import obligation_key
from models import action_plan_store as plans
from models import store
from models.orm import ActionStatus
from services.action_plans import proceed_without_signoff, request_signoffs
from services.runtime import Runtime
from tests.helpers import add_example_referral, load_example_board
from tests.plan_helpers import GP, POLICE, load_rows, plan_row, record_report, three_item_plan

ASC = "Northbridge Adult Social Care"


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=LONDON)


def _status(rt: Runtime, reference: str, number: int, status: ActionStatus, on: date) -> None:
    with rt.sessions.begin() as session:
        item = plans.get_item(session, store.get_review(session, reference).id, number)
        assert item is not None
        plans.set_item_status(session, item, status, on=on, now=rt.now(), source="test")


def build_board_year(rt: Runtime) -> dict[str, str]:
    """Three reviews of 2026: returns their references by regime."""
    load_example_board(rt)
    refs = {
        "scr": add_example_referral(rt, "scr-child-t"),
        "lcspr": add_example_referral(rt, "lcspr-child-m"),
        "sar": add_example_referral(rt, "sar-adult-b"),
    }
    decided = {"scr": date(2026, 11, 25), "lcspr": date(2026, 12, 20), "sar": date(2026, 10, 20)}
    with rt.sessions.begin() as session:
        for regime, reference in refs.items():
            review = store.get_review(session, reference)
            store.record_decision(
                session,
                review_id=review.id,
                kind="chair_decision",
                outcome="full_review",
                rationale="criteria met",
                decided_by="chair",
                decided_at=_at(decided[regime]),
            )
            store.record_event(
                session, review_id=review.id, name="decision", on_date=decided[regime]
            )
            store.open_obligations_from_deadlines(
                session, review=review, deadlines=rt.deadlines, now=rt.now()
            )
        scr, lcspr = refs["scr"], refs["lcspr"]
        # SCR: chair decision (due 2 Dec) met on 25 Nov; panel notification (due 9 Dec) on 1 Dec.
        store.meet_obligation(
            session, key=obligation_key(scr, "chair_decision"), on_date=date(2026, 11, 25)
        )
        store.meet_obligation(
            session, key=obligation_key(scr, "panel_notification"), on_date=date(2026, 12, 1)
        )
        # LCSPR: panel notification (due 23 Nov) four days late, with a reason; rapid review
        # (due 7 Dec) never met, no reason recorded.
        store.meet_obligation(
            session, key=obligation_key(lcspr, "panel_notification"), on_date=date(2026, 11, 27)
        )
        plans.record_clock_miss(
            session,
            review=store.get_review(session, lcspr),
            milestone="panel_notification",
            reason="the local authority learned of the incident late",
            known_milestones=["panel_notification", "rapid_review"],
            actor="test",
            now=rt.now(),
        )
        sar = store.get_review(session, refs["sar"])
        store.record_event(
            session, review_id=sar.id, name="publication", on_date=date(2026, 12, 15)
        )

    record_report(rt, refs["scr"], date(2026, 11, 22))
    three_item_plan(rt, refs["scr"])
    load_rows(rt, refs["scr"], [plan_row(2, "Share the learning briefing", POLICE, "2026-12-15")])
    request_signoffs(rt, refs["scr"])
    proceed_without_signoff(rt, refs["scr"], GP, "practice closed for a merger", "chair")
    _status(rt, refs["scr"], 1, ActionStatus.ON_TRACK, date(2026, 12, 1))
    _status(rt, refs["scr"], 2, ActionStatus.DONE, date(2026, 12, 10))
    _status(rt, refs["scr"], 1, ActionStatus.AT_RISK, date(2027, 2, 1))

    record_report(rt, refs["sar"], date(2026, 11, 30))
    load_rows(
        rt,
        refs["sar"],
        [plan_row(1, "Self-neglect pathway for adults who decline care", ASC, "2027-03-31")],
    )
    with rt.sessions.begin() as session:
        sar = store.get_review(session, refs["sar"])
        plans.decline_recommendation(
            session,
            review=sar,
            number=2,
            reason="already met by the national pathway",
            actor="board",
            now=rt.now(),
        )
        themes = ["information sharing", "neglect", "self-neglect", "voice of the child"]
        for regime, tags in (
            ("scr", ["neglect", "information sharing"]),
            ("sar", ["Information Sharing", "self-neglect"]),
            ("lcspr", ["voice of the child"]),
        ):
            plans.tag_review(
                session,
                review=store.get_review(session, refs[regime]),
                themes=tags,
                known=themes,
                actor="committee",
                now=rt.now(),
            )
    return refs
