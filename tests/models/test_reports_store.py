"""The figures of the quarterly and annual reports, checked against a store holding several
reviews (SCR, LCSPR, SAR) built with the store functions."""

from __future__ import annotations

from datetime import date

from models import store
from models.orm import ActionStatus
from models.reports_store import Quarter, annual_report, quarterly_report
from models.schemas import DelayIn
from services.runtime import Runtime
from tests.report_helpers import build_board_year


def test_quarter_parsing_and_bounds() -> None:
    q = Quarter.parse("2027Q1")
    assert (q.start, q.end, str(q.previous()), str(q.next())) == (
        date(2027, 1, 1),
        date(2027, 3, 31),
        "2026Q4",
        "2027Q2",
    )
    assert Quarter.parse("2026-q4").end == date(2026, 12, 31)


def test_quarterly_report_rag_changes_overdue_and_closable(rt: Runtime) -> None:
    refs = build_board_year(rt)
    with rt.sessions() as session:
        report = quarterly_report(session, store.get_board(session), Quarter.parse("2027Q1"))
    rows = {(r.reference, r.item): r for r in report.items}
    scr, sar = refs["scr"], refs["sar"]
    assert {k: (r.status, r.rag, r.changed) for k, r in rows.items()} == {
        (scr, 1): (ActionStatus.AT_RISK, "amber", "on track → at risk"),
        (scr, 2): (ActionStatus.DONE, "green", "no change"),
        (scr, 3): (ActionStatus.NOT_STARTED, "green", "no change"),
        (scr, 4): (ActionStatus.OVERDUE, "red", "no change"),
        (sar, 1): (ActionStatus.NOT_STARTED, "amber", "no change"),
    }
    assert [(p.reference, p.items, p.red, p.amber, p.green) for p in report.plans] == [
        (sar, 1, 0, 1, 0),
        (scr, 4, 1, 1, 2),
    ]
    assert [(r.reference, r.item, r.owner) for r in report.overdue] == [
        (scr, 4, "Northbridge Police")
    ]
    assert [(r.reference, r.item) for r in report.may_close] == [(scr, 2)]


def test_annual_report_figures(rt: Runtime) -> None:
    refs = build_board_year(rt)
    # Two delays: one from the year before ending in January, one still running at year end.
    with rt.sessions.begin() as session:
        for reference, delay in (
            (
                refs["scr"],
                DelayIn(reason="Criminal trial", start=date(2025, 12, 1), end=date(2026, 1, 10)),
            ),
            (
                refs["lcspr"],
                DelayIn(
                    reason="Inquest opened",
                    start=date(2026, 12, 20),
                    learning="Early learning shared with the police",
                ),
            ),
        ):
            store.record_delay(
                session,
                review=store.get_review(session, reference),
                delay=delay,
                actor="Business Manager",
                now=rt.now(),
            )
    with rt.sessions() as session:
        report = annual_report(session, store.get_board(session), 2026, today=date(2027, 3, 1))
    assert [(r.regime, r.count) for r in report.referrals] == [("lcspr", 1), ("sar", 1), ("scr", 1)]
    assert [(r.regime, r.outcome, r.count) for r in report.decisions] == [
        ("lcspr", "full_review", 1),
        ("sar", "full_review", 1),
        ("scr", "full_review", 1),
    ]
    assert [(c.clock, c.met, c.missed, c.pending) for c in report.clocks] == [
        ("chair decision", 1, 0, 0),
        ("panel notification", 1, 1, 0),
        ("rapid review", 0, 1, 0),
    ]
    assert [(m.reference, m.clock, m.days_late, m.reason) for m in report.clock_misses] == [
        (
            refs["lcspr"],
            "panel notification",
            4,
            "the local authority learned of the incident late",
        ),
        (refs["lcspr"], "rapid review", 24, "no reason recorded"),
    ]
    assert [p.reference for p in report.published] == [refs["sar"]]
    assert [(d.reference, d.reason, d.days_in_year, d.end) for d in report.delays] == [
        (refs["scr"], "Criminal trial", 10, date(2026, 1, 10)),
        (refs["lcspr"], "Inquest opened", 12, None),
    ]
    assert report.delays[1].learning_meanwhile == "Early learning shared with the police"
    assert (report.actions_completed, report.actions_overdue, report.actions_open) == (1, 1, 4)
    assert [
        (a.agency, a.items, a.completed_in_year, a.overdue_at_year_end, a.signoffs_missing)
        for a in report.agencies
    ] == [
        ("Northbridge Adult Social Care", 1, 0, 0, 0),
        ("Northbridge Police", 2, 0, 1, 0),
        ("Riverside GP Practice", 2, 1, 0, 1),
    ]
    assert report.themes_this_year == {
        "information sharing": 2,
        "neglect": 1,
        "self-neglect": 1,
        "voice of the child": 1,
    }
    assert [(f.reference, f.number, f.not_implemented_reason) for f in report.sar_concluded] == [
        (refs["sar"], 1, None),
        (refs["sar"], 2, "already met by the national pathway"),
    ]
    assert "not started" in report.sar_concluded[0].actions
    assert [f.number for f in report.sar_not_implemented] == [2]
    assert report.sar_ongoing == []
