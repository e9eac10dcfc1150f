"""``reviews recommendations|plan|themes|clock-miss|report``: the business manager's commands,
and the report files (HTML, PDF read back through pypdf, one CSV per table)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

from pypdf import PdfReader
from typer.testing import CliRunner

from case_reviews.cli import app
from core.clock import ManualClock
from models import store
from services.runtime import Runtime
from tests.helpers import add_example_referral, load_example_board, row_counts
from tests.plan_helpers import record_report, three_item_plan
from tests.report_helpers import build_board_year

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def pdf_text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


def test_recommendations_and_a_plan_through_the_cli(sqlite_rt: Runtime, tmp_path: Path) -> None:
    load_example_board(sqlite_rt)
    reference = add_example_referral(sqlite_rt)
    code, _, err = invoke(
        "recommendations",
        "add",
        reference,
        "--number",
        "1",
        "--text",
        "Follow up",
        "--outcome",
        "No missed appointment unnoticed",
        "--timescale",
        "six months",
    )
    assert code == 0, err
    template = tmp_path / "plan.csv"
    assert invoke("plan", "template", "-o", str(template))[0] == 0
    before = row_counts(sqlite_rt)
    code, _, err = invoke("plan", "load", reference, str(template))
    assert code == 2 and "the final report is not recorded yet" in err
    assert row_counts(sqlite_rt) == before

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "recommendation,action,owner_agency,intended_outcome,due_date,impact_measure\n"
        "3,Train staff,Northbridge Fire Service,Better,2027-01-01,Audit\n"
    )
    with sqlite_rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_event(
            session, review_id=review.id, name="final_report", on_date=sqlite_rt.today()
        )
    code, _, err = invoke("plan", "load", reference, str(bad))
    assert code == 2
    assert "row 2, column owner_agency: unknown agency 'Northbridge Fire Service'" in err
    assert "row 2, column recommendation: no recommendation 3 is recorded" in err

    code, out, err = invoke("plan", "load", reference, str(template))
    assert code == 0, err
    code, out, _ = invoke("plan", "show", reference)
    assert "[R1] Audit how missed health appointments" in out
    assert "Riverside GP Practice" in out and "not started" in out

    code, _, err = invoke("themes", "tag", reference, "neglect", "astrology")
    assert code == 2 and "theme[1]: 'astrology' is not on the board's theme list" in err
    code, _, err = invoke("clock-miss", reference, "--milestone", "rapid_review", "--reason", "x")
    assert code == 2 and "milestone:" in err


def test_report_commands_write_html_pdf_and_csvs_with_the_same_figures(
    sqlite_rt: Runtime, clock: ManualClock, tmp_path: Path
) -> None:
    refs = build_board_year(sqlite_rt)
    clock.advance(timedelta(days=120))  # into March 2027: the year 2026 is over
    code, _, err = invoke(
        "delay",
        "record",
        refs["lcspr"],
        "--reason",
        "Inquest opened",
        "--from",
        "2026-12-20",
        "--learning",
        "Early learning shared with the police",
    )
    assert code == 0, err
    code, _, err = invoke("report", "annual", "--year", "2026", "--output", str(tmp_path / "a"))
    assert code == 0, err
    annual = tmp_path / "a"
    with (annual / "annual-2026-delays.csv").open(encoding="utf-8-sig") as f:
        delays = list(csv.DictReader(f))
    assert [(d["reference"], d["reason"], d["end"], d["days_in_year"]) for d in delays] == [
        (refs["lcspr"], "Inquest opened", "", "12")
    ]
    assert (annual / "annual-2026.html").exists()
    with (annual / "annual-2026-clocks.csv").open(encoding="utf-8-sig") as f:
        clocks = list(csv.DictReader(f))
    assert [(c["clock"], c["met"], c["missed"]) for c in clocks] == [
        ("chair decision", "1", "0"),
        ("panel notification", "1", "1"),
        ("rapid review", "0", "1"),
    ]
    text = pdf_text(annual / "annual-2026.pdf")
    assert "Referrals received 3" in text
    assert "Statutory clocks missed 2" in text
    assert "Actions completed in the year 1" in text
    assert "Actions overdue at year end 1" in text
    assert "the local authority learned of the incident late" in text
    assert "already met by the national pathway" in text
    assert refs["lcspr"] in text
    assert "Inquest opened" in text and "Early learning shared with the police" in text

    code, _, err = invoke(
        "report", "quarterly", "--quarter", "2027Q1", "--output", str(tmp_path / "q")
    )
    assert code == 0, err
    quarterly = tmp_path / "q"
    names = sorted(p.name for p in quarterly.iterdir())
    assert names == [
        "quarterly-2027Q1-items.csv",
        "quarterly-2027Q1-may-close.csv",
        "quarterly-2027Q1-overdue.csv",
        "quarterly-2027Q1-plans.csv",
        "quarterly-2027Q1.html",
        "quarterly-2027Q1.pdf",
    ]
    with (quarterly / "quarterly-2027Q1-overdue.csv").open(encoding="utf-8-sig") as f:
        overdue = list(csv.DictReader(f))
    assert [(r["reference"], r["item"], r["owner"], r["rag"]) for r in overdue] == [
        (refs["scr"], "4", "Northbridge Police", "red")
    ]
    text = pdf_text(quarterly / "quarterly-2027Q1.pdf")
    assert f"{refs['scr']} scr Child T 4 1 1 2 1" in text  # items, red, amber, green, done
    assert "on track → at risk" in text
    assert "Quennell" not in text

    code, _, err = invoke("report", "quarterly", "--quarter", "2027Q5", "--output", str(tmp_path))
    assert code == 2 and "--quarter: '2027Q5' is not a quarter" in err


def test_plan_resend_links_queues_fresh_links_each_time_audited(sqlite_rt: Runtime) -> None:
    load_example_board(sqlite_rt)
    reference = add_example_referral(sqlite_rt)
    code, _, err = invoke("plan", "resend-links", reference)
    assert code == 2 and "no sign-off was requested yet" in err
    record_report(sqlite_rt, reference, date(2026, 11, 22))
    three_item_plan(sqlite_rt, reference)
    assert (
        invoke("plan", "request-signoff", reference)[1]
        .strip()
        .endswith("2 sign-off requests queued")
    )
    for _ in range(2):
        code, out, err = invoke("plan", "resend-links", reference)
        assert code == 0, err
        assert out.strip() == f"{reference}: 2 sign-off links resent"
