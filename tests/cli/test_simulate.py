"""``reviews simulate`` as a user runs it: a separate process, its own embedded server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.prefect


def test_simulate_scr_passes_every_stage_once_and_keeps_no_identity_in_prefect(
    tmp_path: Path,
) -> None:
    keep = tmp_path / "kept"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "case_reviews",
            "simulate",
            "--regime",
            "scr",
            "--keep",
            str(keep),
            "--subject-name",
            "Xanthippe Sentinelova",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["stages"] == [
        "referral_intake",
        "committee_recommendation",
        "chair_decision",
        "panel_notification",
        "reviewer_appointment",
        "timeline_requests",
        "timelines_merged",
        "learning_event",
        "recall_session",
        "final_report",
        "action_plan_signoff",
        "panel_copy",
        "publication",
        "monitoring",
    ]
    assert (summary["gates"], summary["duplicate_emails"], summary["outcome"]) == (
        10,
        0,
        "full_review",
    )
    assert summary["emails_sent"] > 20
    assert summary["simulated_days"] > 180
    # --keep leaves both stores; the real name is in ours only.
    with sqlite3.connect(keep / "reviews.db") as ours:
        assert ours.execute("SELECT full_name FROM subject_identity").fetchone() == (
            "Xanthippe Sentinelova",
        )
    prefect_db = keep / "prefect" / "prefect.db"
    assert prefect_db.exists()
    for path in prefect_db.parent.glob("prefect.db*"):
        assert b"Sentinelova" not in path.read_bytes()


def test_simulate_refuses_an_unknown_regime_by_name() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "case_reviews", "simulate", "--regime", "xyz", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "unknown regime 'xyz'" in result.stderr


def test_simulate_lcspr_chases_agencies_without_duplicates() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "case_reviews", "simulate", "--regime", "lcspr", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["reminders_sent"] > 0
    assert summary["duplicate_emails"] == 0
    assert len(summary["stages"]) == 14
