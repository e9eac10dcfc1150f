"""The ``reviews`` command line, driven in-process with the runtime injected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from case_reviews.cli import app
from case_reviews.examples import EXAMPLES
from core.clock import ManualClock
from services.runtime import Runtime
from tests.conftest import make_runtime
from tests.helpers import add_example_referral, example_referral, load_example_board, row_counts

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_deadlines_json_for_lcspr_gives_panel_and_rapid_review() -> None:
    code, out, _ = invoke(
        "deadlines", "--regime", "lcspr", "--event", "incident_known=2026-11-16", "--json"
    )
    assert code == 0
    due = {d["milestone"]: d for d in json.loads(out)}
    assert due["panel_notification"]["due"] == "2026-11-23"
    assert due["rapid_review"]["due"] == "2026-12-07"
    assert due["rapid_review"]["rule"] == "15 working days after incident_known"
    assert due["rapid_review"]["source"]


def test_deadlines_json_for_scr_decision() -> None:
    code, out, _ = invoke(
        "deadlines", "--regime", "scr", "--event", "decision=2026-03-31", "--json"
    )
    assert code == 0
    due = {d["milestone"]: d["due"] for d in json.loads(out)}
    assert due == {"panel_notification": "2026-04-14", "review_completion": "2026-09-30"}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--regime", "xyz", "--event", "decision=2026-03-31"], "xyz"),
        (["--regime", "scr", "--event", "funeral=2026-03-31"], "funeral"),
        (["--regime", "scr", "--event", "decision=2026-02-30"], "decision"),
        (["--regime", "scr", "--event", "decision"], "decision"),
    ],
)
def test_deadlines_bad_input_exits_2_naming_it(args: list[str], named: str) -> None:
    code, _, err = invoke("deadlines", *args)
    assert code == 2
    assert named in err


def test_board_load_referral_add_show_and_status(sqlite_rt: Runtime) -> None:
    code, out, err = invoke("board", "load", str(EXAMPLES / "board.yaml"))
    assert code == 0, err
    code, out, _ = invoke("agencies", "list", "--json")
    assert len(json.loads(out)) == 9
    code, out, err = invoke("referral", "add", str(EXAMPLES / "referrals" / "scr-child-t.yaml"))
    assert (code, out.strip()) == (0, "SCR-2026-001"), err
    code, out, _ = invoke("referral", "show", "SCR-2026-001", "--json")
    shown = json.loads(out)
    assert shown["pseudonym"] == "Child T" and "identity" not in shown
    assert "Quennell" not in out
    code, out, _ = invoke("referral", "show", "SCR-2026-001", "--reveal", "--json")
    assert json.loads(out)["identity"]["full_name"] == "Tobias Quennell"
    code, out, _ = invoke("status", "--json")
    (status,) = json.loads(out)
    assert status["next_milestone"] == "chair_decision"
    assert status["next_deadline"] == "2026-12-02"
    assert status["days_left"] == 10


def test_status_json_is_an_empty_list_with_no_reviews(sqlite_rt: Runtime) -> None:
    code, out, _ = invoke("status", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_bad_referral_file_prints_one_line_per_field_and_stores_nothing(
    sqlite_rt: Runtime, tmp_path: Path
) -> None:
    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    before = row_counts(sqlite_rt)
    data = example_referral()
    data["harm"] = "bruised"
    data["referrer"]["email"] = "not-an-email"
    del data["summary"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _, err = invoke("referral", "add", str(path))
    assert code == 2
    assert err.splitlines() == [
        "referrer.email: 'not-an-email' is not an email address",
        "harm: Input should be 'died', 'seriously_harmed' or 'serious_abuse_or_neglect'",
        "summary: is required",
    ]
    assert row_counts(sqlite_rt) == before


def test_duplicate_referral_via_cli_names_existing_reference(sqlite_rt: Runtime) -> None:
    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    referral = str(EXAMPLES / "referrals" / "sar-adult-b.yaml")
    assert invoke("referral", "add", referral)[0] == 0
    code, _, err = invoke("referral", "add", referral)
    assert code == 2
    assert "already recorded as SAR-2026-001" in err


def test_unmigrated_store_is_reported_with_the_fix(tmp_path: Path) -> None:
    env = {**os.environ, "REVIEWS_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "case_reviews", "status"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "run 'reviews db upgrade'" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "case_reviews", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "case_reviews", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert (result.returncode, json.loads(result.stdout)) == (0, [])


def test_sweep_on_a_bank_holiday_says_so_and_sends_nothing(sqlite_rt: Runtime) -> None:
    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    invoke("referral", "add", str(EXAMPLES / "referrals" / "scr-child-t.yaml"))
    code, out, err = invoke("sweep", "--now", "2026-12-25")
    assert code == 0, err
    assert out.startswith("sweep Fri 25 Dec 2026 (weekend or bank holiday: no reminders)")
    assert "0 reminder messages queued" in out


def test_sweep_reports_messages_left_pending_when_smtp_is_unreachable(sqlite_rt: Runtime) -> None:
    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    invoke("referral", "add", str(EXAMPLES / "referrals" / "scr-child-t.yaml"))
    # The chair's decision is due on Wednesday 2 December 2026; nothing listens for mail.
    code, out, err = invoke("sweep", "--now", "2026-12-02")
    assert code == 0, err
    assert "1 reminder messages queued for 1 obligations" in out
    assert "0 sent, 1 failed, 1 still pending" in out


def test_sweep_refuses_a_bad_date_naming_the_option() -> None:
    code, _, err = invoke("sweep", "--now", "next tuesday")
    assert code == 2
    assert "--now: 'next tuesday' is not a date" in err


def test_start_refuses_an_unknown_review_by_name(sqlite_rt: Runtime) -> None:
    code, _, err = invoke("start", "SCR-2026-999")
    assert code == 2
    assert "no review with reference 'SCR-2026-999'" in err


def test_start_refuses_a_review_started_already(sqlite_rt: Runtime) -> None:
    from models import store

    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    invoke("referral", "add", str(EXAMPLES / "referrals" / "scr-child-t.yaml"))
    with sqlite_rt.sessions.begin() as session:
        store.get_review(
            session, "SCR-2026-001"
        ).flow_run_id = "6f1e0c1e-0000-4000-8000-000000000001"
    code, _, err = invoke("start", "SCR-2026-001")
    assert code == 2
    assert "refused: SCR-2026-001 was started already" in err


@pytest.mark.prefect  # talks to a (stopped) Prefect API through the real client: ~10 s
def test_start_with_prefect_down_says_so_and_keeps_the_referral_startable(
    sqlite_url: str, clock: ManualClock
) -> None:
    # The store is set up in this process; the start and the status run as a user runs them.
    rt = make_runtime(sqlite_url, clock)
    load_example_board(rt)
    assert add_example_referral(rt, "sar-adult-b") == "SAR-2026-001"
    env = {
        **os.environ,
        "REVIEWS_DATABASE_URL": sqlite_url,
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }

    def reviews(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "case_reviews", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    started = reviews("start", "SAR-2026-001")
    assert started.returncode == 1
    assert "the Prefect server is not reachable" in started.stderr
    assert "run 'reviews start SAR-2026-001' later" in started.stderr
    status = json.loads(reviews("status", "--json").stdout)
    assert [s["reference"] for s in status] == ["SAR-2026-001"]


def test_a_malformed_mail_url_fails_at_start_up_naming_the_setting(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "REVIEWS_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "REVIEWS_MAIL_URL": "smtp//nowhere",
    }
    result = subprocess.run(
        [sys.executable, "-m", "case_reviews", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "mail_url: expected a mailto:// or mailtos:// URL" in result.stderr
    assert "nowhere" not in result.stderr  # the setting may hold a password: not echoed


def test_timeline_submit_and_show_as_the_business_manager(
    sqlite_rt: Runtime, tmp_path: Path
) -> None:
    from case_reviews.simulation.scenario import example_timeline_csv
    from tasks import stages

    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    invoke("referral", "add", str(EXAMPLES / "referrals" / "scr-child-t.yaml"))
    stages.timeline_requests.fn("SCR-2026-001")
    good = tmp_path / "police.csv"
    good.write_bytes(example_timeline_csv("Northbridge Police", "Child T", sqlite_rt.today(), 1))
    code, out, err = invoke(
        "timeline", "submit", "SCR-2026-001", "--agency", "northbridge police", str(good)
    )
    assert (code, out.strip()) == (0, "SCR-2026-001: Northbridge Police version 1, 3 events"), err
    bad = tmp_path / "bad.csv"
    bad.write_text(good.read_text().replace("duty officer", "").replace("Q3", "Q9"))
    code, _, err = invoke(
        "timeline", "submit", "SCR-2026-001", "--agency", "Northbridge Police", str(bad)
    )
    assert code == 2
    assert "row 4, column practitioner_role" in err and "row 4, column significance" in err
    code, out, _ = invoke("timeline", "show", "SCR-2026-001")
    assert code == 0
    assert out.splitlines()[0].startswith("group,date,agency")
    assert len(out.splitlines()) == 4 and "Northbridge Police" in out
    code, out, _ = invoke("timeline", "show", "SCR-2026-001", "--format", "html")
    assert "<table" in out and "Child T" in out and "Quennell" not in out
    code, out, _ = invoke("timeline", "link", "SCR-2026-001", "--agency", "Northbridge Police")
    assert code == 0 and "/t/" in out


def test_clock_stop_records_a_delay_and_the_six_month_target_stands(sqlite_rt: Runtime) -> None:
    from datetime import date

    from sqlalchemy import select

    from models import store
    from models.orm import AuditEvent

    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    invoke("referral", "add", str(EXAMPLES / "referrals" / "sar-adult-b.yaml"))
    with sqlite_rt.sessions.begin() as session:
        review = store.get_review(session, "SAR-2026-001")
        store.record_event(
            session, review_id=review.id, name="decision", on_date=date(2026, 10, 20)
        )
        store.open_obligations_from_deadlines(
            session, review=review, deadlines=sqlite_rt.deadlines, now=sqlite_rt.now()
        )
    code, out, err = invoke(
        "clock-stop",
        "SAR-2026-001",
        "--start",
        "2026-11-02",
        "--end",
        "2026-11-15",
        "--reason",
        "Criminal trial: practitioners are witnesses.",
    )
    assert code == 0, err
    assert "the statutory dates stand" in out
    with sqlite_rt.sessions() as session:
        review = store.get_review(session, "SAR-2026-001")
        (target,) = store.open_obligations(session, review.id, milestone="review_completion")
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "delay_recorded")
        ).one()
    # Six months from 20 October 2026 is 20 April 2027, delay or not (the pack's default).
    assert target.due_on == date(2027, 4, 20)
    assert audit.detail["reason"] == "Criminal trial: practitioners are witnesses."


def test_delay_and_family_are_recorded_and_shown_on_status(sqlite_rt: Runtime) -> None:
    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    invoke("referral", "add", str(EXAMPLES / "referrals" / "lcspr-child-m.yaml"))
    code, out, err = invoke(
        "delay",
        "record",
        "LCSPR-2026-001",
        "--reason",
        "Police investigation under way.",
        "--from",
        "2026-11-10",
        "--learning",
        "Missing-episode protocol tightened.",
    )
    assert code == 0, err
    assert "delay recorded from 2026-11-10 (open)" in out
    code, out, err = invoke(
        "family",
        "record",
        "LCSPR-2026-001",
        "--step",
        "told",
        "--on",
        "2026-11-12",
        "--by",
        "Business Manager",
        "--how",
        "letter",
        "--member",
        "Grace Okonkwo-Bright",
        "--relationship",
        "mother",
    )
    assert code == 0, err
    code, out, _ = invoke("status", "--no-runs")
    assert "delay from 2026-11-10 ongoing: Police investigation under way." in out
    assert "the statutory dates stand" in out and "family: told 2026-11-12" in out
    assert "Okonkwo" not in out
    code, out, _ = invoke("status", "--no-runs", "--json")
    (view,) = json.loads(out)
    assert view["delays"][0]["learning"] == "Missing-episode protocol tightened."
    assert view["family"] == [
        {
            "step": "told",
            "on_date": "2026-11-12",
            "how": "letter",
            "recorded_by": "Business Manager",
        }
    ]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--step", "phoned", "--on", "2026-11-12", "--by", "BM"], "step"),
        (["--step", "told", "--on", "2026-13-12", "--by", "BM"], "on_date"),
        (["--step", "told", "--on", "2026-11-12", "--by", ""], "recorded_by"),
    ],
)
def test_family_record_refuses_bad_input_naming_the_field(
    sqlite_rt: Runtime, args: list[str], named: str
) -> None:
    code, _, err = invoke("family", "record", "LCSPR-2026-001", *args)
    assert code == 2
    assert err.startswith(named)


def test_clock_stop_refuses_an_end_before_the_start(sqlite_rt: Runtime) -> None:
    code, _, err = invoke(
        "clock-stop",
        "SAR-2026-001",
        "--start",
        "2026-11-15",
        "--end",
        "2026-11-02",
        "--reason",
        "x",
    )
    assert code == 2
    assert "end" in err


def test_deadlines_without_events_list_the_susr_clocks_with_their_sources() -> None:
    code, out, err = invoke("deadlines", "--regime", "susr", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["regime"] == "susr"
    clocks = {c["milestone"]: c for c in listed["clocks"]}
    assert clocks["review_completion"]["rule"] == "6 months after decision"
    assert all(c["source"] for c in clocks.values())
    assert listed["criteria"]["basis"].startswith("Single Unified Safeguarding Review")


def test_a_sar_for_a_living_adult_is_accepted_and_a_child_case_below_threshold_is_routed(
    sqlite_rt: Runtime, tmp_path: Path
) -> None:
    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    living = example_referral("sar-adult-b") | {"harm": "serious_abuse_or_neglect"}
    (tmp_path / "living.yaml").write_text(yaml.safe_dump(living, sort_keys=False))
    code, out, err = invoke("referral", "add", str(tmp_path / "living.yaml"))
    assert code == 0, err
    assert out.strip() == "SAR-2026-001"

    below = example_referral("scr-child-t") | {
        "harm": "seriously_harmed",
        "interagency_concerns": False,
    }
    (tmp_path / "below.yaml").write_text(yaml.safe_dump(below, sort_keys=False))
    code, out, err = invoke("referral", "add", str(tmp_path / "below.yaml"))
    assert code == 0, err
    reference, routed = out.strip().splitlines()
    assert reference == "SCR-2026-001"
    assert "not met (LSCB Regulations 2006 reg 5(2))" in routed
    assert "put to the committee as a critical incident review" in routed

    wrong = example_referral("scr-child-t") | {
        "harm": "serious_abuse_or_neglect",
        "pseudonym": "Child Q",
    }
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump(wrong, sort_keys=False))
    code, out, err = invoke("referral", "add", str(tmp_path / "wrong.yaml"))
    assert code == 2
    assert err.startswith("harm: 'serious_abuse_or_neglect' is not a harm a scr referral reports")
