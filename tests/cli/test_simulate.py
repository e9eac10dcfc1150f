"""``reviews simulate`` as a user runs it: a separate process, its own embedded server."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

pytestmark = pytest.mark.prefect


@pytest.mark.slow(reason="whole scr review, 18 gates, as a subprocess with a kept Prefect server")
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
    # Ten gates of the flowchart, each of SILP's two events arranged at a gate of its own, the
    # document gates (terms of reference, draft, learning summary, communications) and the
    # anonymisation gate twice (the first final report names the child and is refused).
    assert (summary["gates"], summary["duplicate_emails"], summary["outcome"]) == (
        18,
        0,
        "full_review",
    )
    assert summary["emails_sent"] > 20
    assert summary["simulated_days"] > 180
    # The action plan: three items across two owner agencies, signed off through the portal,
    # two quarters of progress, every item done before the review closed.
    assert summary["status"] == "closed"
    assert len(summary["actions"]) == 3
    assert {a["owner"] for a in summary["actions"]} == {
        "Riverside GP Practice",
        "Northbridge Police",
    }
    assert {a["status"] for a in summary["actions"]} == {"done"}
    assert summary["quarters_opened"] >= 2
    assert summary["progress_reports"] >= 3
    assert summary["chased_after_met"] == 0  # nobody chased for what they had answered
    assert summary["overdue_notices"] >= 0
    # --keep leaves both stores; the real name is in ours only.
    with sqlite3.connect(keep / "reviews.db") as ours:
        assert ours.execute("SELECT full_name FROM subject_identity").fetchone() == (
            "Xanthippe Sentinelova",
        )
    _reports_on_the_kept_store(keep, tmp_path)
    _audit_of_the_closed_review(keep, tmp_path, summary["reference"])
    prefect_db = keep / "prefect" / "prefect.db"
    with sqlite3.connect(prefect_db) as kept_prefect:
        # A kept server records what a throwaway one does not: the task runs and the logs.
        (task_runs,) = kept_prefect.execute("SELECT count(*) FROM task_run").fetchone()
        (logs,) = kept_prefect.execute("SELECT count(*) FROM log").fetchone()
    assert task_runs > 100 and logs > 100
    for path in prefect_db.parent.glob("prefect.db*"):
        assert b"Sentinelova" not in path.read_bytes()
    _the_name_is_only_in_the_identity_table_and_the_blocked_report(keep, summary)


NAME = "Xanthippe Sentinelova"


def _text_of(data: bytes, media_type: str) -> str:
    """A document's or an attachment's text as the reader sees it (PDF text through pypdf)."""
    if media_type == "application/pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return data.decode("utf-8", errors="replace")


def _the_name_is_only_in_the_identity_table_and_the_blocked_report(
    keep: Path, summary: dict[str, Any]
) -> None:
    """With --subject-name the name is in the store's identity table and in the first version
    of the final report (which the anonymisation gate blocked), and nowhere else: no Prefect
    file, no sent message (attachments decoded), no published or other stored document."""
    kinds = Counter(d["kind"] for d in summary["documents"])
    assert kinds["final_report"] == 2 and kinds["learning_summary"] == 1
    assert kinds["terms_of_reference"] == kinds["published_version"] == 1
    assert summary["anonymisation_hits_blocked"] >= 1
    blocked = next(
        d["sha256"]
        for d in summary["documents"]
        if (d["kind"], d["version"]) == ("final_report", 1)
    )
    # Every file Prefect keeps (its database, logs, results), raw.
    prefect_files = [p for p in (keep / "prefect").rglob("*") if p.is_file()]
    assert prefect_files
    assert [p for p in prefect_files if NAME.split()[1].encode() in p.read_bytes()] == []
    # Every stored document, read as text; only the blocked first report names the child.
    with sqlite3.connect(keep / "reviews.db") as ours:
        media = dict(ours.execute("SELECT sha256, media_type FROM document").fetchall())
        assert ours.execute("SELECT count(*) FROM document").fetchone()[0] == len(
            summary["documents"]
        )
        tables = [r[0] for r in ours.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        holding = set()
        for table in tables:
            for column in [c[1] for c in ours.execute(f"PRAGMA table_info({table})")]:
                query = f"SELECT count(*) FROM {table} WHERE CAST({column} AS TEXT) LIKE ?"
                if ours.execute(query, (f"%{NAME.split()[1]}%",)).fetchone()[0]:
                    holding.add(table)
    assert holding == {"subject_identity"}
    stored = {p.name: p for p in (keep / "documents").rglob("*") if p.is_file()}
    assert set(stored) == set(media)
    naming = {
        sha for sha, path in stored.items() if NAME in _text_of(path.read_bytes(), media[sha])
    }
    assert naming == {blocked}
    published = next(d for d in summary["documents"] if d["kind"] == "published_version")
    assert published["sha256"] != blocked
    # Every message sent, with each part and attachment decoded.
    messages = sorted((keep / "mail").glob("*.eml"))
    assert len(messages) == summary["emails_sent"]
    panel_copy = []
    for path in messages:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        for part in message.walk():
            if part.is_multipart():
                continue
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            assert NAME not in _text_of(data, part.get_content_type()), path.name
            assert NAME.split()[1] not in str(message["Subject"])
        if "Final report ahead of publication" in str(message["Subject"]):
            panel_copy.append(message)
    (copy,) = panel_copy
    (attached,) = [p for p in copy.walk() if p.get_filename()]
    assert attached.get_filename() == f"{summary['reference']}-final_report-v2.md"
    body = copy.get_body(("plain",))
    assert body is not None and "/d/" in body.get_content()  # and the expiring link


def test_simulate_refuses_an_unknown_regime_by_name() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "case_reviews", "simulate", "--regime", "xyz", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "unknown regime 'xyz'" in result.stderr


def _simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "case_reviews", "simulate", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )


# One route of each regime (the scr full review runs above).
ROUTES = [
    ("scr", "cir", "monitoring"),
    ("lcspr", "full", "monitoring"),
    ("sar", "iar", "monitoring"),
    ("cpr", "concise", "monitoring"),
    ("apr", "extended", "monitoring"),
    ("susr", "forum", "professional_forum"),
]


@pytest.mark.slow(reason="six whole reviews, one per regime, each on its own Prefect server")
def test_simulate_completes_every_regime_with_no_overdue_notice() -> None:
    """Every party answers on time, so nobody is chased as overdue; an individual agency review
    asks exactly one agency; an LCSPR holds its rapid review before the partners decide.

    The six simulations run one after another in this process, each on its own embedded
    Prefect server, through the function ``reviews simulate`` calls (the test above runs the
    command itself): six processes at once each imported the whole project and made the
    suite's slowest test (280 s on two cores)."""
    from case_reviews.simulation.run import simulate
    from case_reviews.simulation.server import simulation_home

    summaries: dict[tuple[str, str], dict[str, Any]] = {}
    for regime, scenario, _last in ROUTES:
        with simulation_home(None) as home:
            summaries[(regime, scenario)] = simulate(regime, scenario, home=home)  # type: ignore[arg-type]
    for regime, scenario, last_stage in ROUTES:
        summary = summaries[(regime, scenario)]
        assert (summary["final_state"], summary["status"]) == ("Completed", "closed")
        assert summary["stages"][-1] == last_stage, regime
        assert summary["overdue_notices"] == 0, regime
        assert summary["duplicate_emails"] == 0, regime
        asked = summary["agencies_asked"]  # agency names
        if scenario == "iar":
            assert len(asked) == 1
            assert summary["agencies_submitted"] == 0  # its own report, not a timeline
        else:
            assert len(asked) >= 4, regime
        if regime == "lcspr":
            # Working Together 2023: the rapid review and the panel's response come before
            # the partners' decision, in place of the committee's recommendation.
            stages = summary["stages"]
            assert (
                stages.index("rapid_review")
                < stages.index("panel_response")
                < stages.index("chair_decision")
            )
            assert "committee_recommendation" not in stages
            assert summary["agency_summaries_submitted"] == 4


def test_simulate_refuses_a_scenario_the_regime_does_not_offer_in_one_line() -> None:
    result = _simulate("--regime", "cpr", "--scenario", "cir")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "--scenario: 'cir' is not a route of cpr (choose: concise, extended, forum, no-review)"
    )


def _reports(keep: Path, tmp_path: Path, *args: str) -> list[Path]:
    env = os.environ | {
        "REVIEWS_DATABASE_URL": f"sqlite:///{keep / 'reviews.db'}",
        "REVIEWS_DOCUMENTS_DIR": str(tmp_path / "documents"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "case_reviews", "report", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [Path(line) for line in result.stdout.split()]


def _audit_of_the_closed_review(keep: Path, tmp_path: Path, reference: str) -> None:
    """``reviews audit REF --json`` on the closed review: every gate answered is there in
    words, and the replays after publication recorded no read of the report nobody made."""
    env = os.environ | {
        "REVIEWS_DATABASE_URL": f"sqlite:///{keep / 'reviews.db'}",
        "REVIEWS_DOCUMENTS_DIR": str(tmp_path / "documents"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "case_reviews", "audit", reference, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trail = json.loads(result.stdout)
    assert trail["status"] == "closed"
    answered = [e for e in trail["entries"] if e["action"] == "gate_answered"]
    assert any(e["what"].startswith("Answered chair decision (ask 1): ") for e in answered)
    assert all("{'" not in e["what"] for e in trail["entries"])
    reads = [e for e in trail["entries"] if e["action"] == "document_read"]
    assert [e["who"] for e in reads].count("publication") == 1
    assert trail["entries"][-1]["action"] == "review_closed"
    assert NAME not in result.stdout


def _reports_on_the_kept_store(keep: Path, tmp_path: Path) -> None:
    """``reviews report quarterly`` and ``annual`` on the store the simulation left: the
    quarter in which the plan was signed off (the plan was open at its end) and that year."""
    with sqlite3.connect(keep / "reviews.db") as ours:
        (signed,) = ours.execute(
            "SELECT on_date FROM review_event WHERE name = 'action_plan_signed_off'"
        ).fetchone()
    year, month = int(signed[:4]), int(signed[5:7])
    quarter = f"{year}Q{(month - 1) // 3 + 1}"
    board = "Northbridge Safeguarding Children Partnership"
    out = tmp_path / "quarterly"
    written = _reports(
        keep, tmp_path, "quarterly", "--board", board, "--quarter", quarter, "--output", str(out)
    )
    names = {p.name for p in written}
    assert {f"quarterly-{quarter}.html", f"quarterly-{quarter}.pdf"} <= names
    assert f"quarterly-{quarter}-items.csv" in names
    with (out / f"quarterly-{quarter}-items.csv").open(encoding="utf-8-sig") as handle:
        items = list(csv.DictReader(handle))
    assert len(items) == 3 and {i["owner"] for i in items} == {
        "Riverside GP Practice",
        "Northbridge Police",
    }
    text = "".join(p.extract_text() for p in PdfReader(out / f"quarterly-{quarter}.pdf").pages)
    # (A table cell wraps after a hyphen: "missed-" / "contact".)
    flowing = re.sub(r"-\s+", "-", " ".join(text.split()))
    assert "Train officers to share missed-contact concerns" in flowing
    with sqlite3.connect(keep / "reviews.db") as ours:
        sent = ours.execute(
            "SELECT recipient FROM outbox_message WHERE kind = 'committee_report'"
        ).fetchall()
    assert sent == [("performance.committee@northbridge-scp.example",)]

    annual = tmp_path / "annual"
    written = _reports(
        keep, tmp_path, "annual", "--board", board, "--year", str(year), "--output", str(annual)
    )
    names = {p.name for p in written}
    assert {f"annual-{year}.html", f"annual-{year}.pdf"} <= names
    assert sum(1 for n in names if n.endswith(".csv")) >= 5
