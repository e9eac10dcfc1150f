"""``reviews documents`` and ``reviews names``, driven in-process with the runtime injected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from case_reviews.cli import app
from core.names import DocumentKind
from models import store
from models.orm import AuditEvent, ObligationStatus
from services.documents import record_draft_comments
from services.runtime import Runtime, use_runtime
from tests.helpers import add_example_referral, load_example_board, row_counts
from tests.services.conftest import with_documents_dir

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli_rt(sqlite_rt: Runtime, tmp_path: Path) -> Iterator[Runtime]:
    with use_runtime(with_documents_dir(sqlite_rt, tmp_path / "documents")) as rt:
        load_example_board(rt)
        add_example_referral(rt)
        yield rt


def _audits(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_add_list_get_check_and_override_a_report(cli_rt: Runtime, tmp_path: Path) -> None:
    named = tmp_path / "final.md"
    named.write_text("Summary.\n\nTobias Quennell was seen at school.\n")
    code, out, _ = invoke("documents", "add", "SCR-2026-001", "--kind", "final_report", str(named))
    assert code == 0 and "final_report version 1 stored" in out

    code, out, err = invoke("documents", "check", "SCR-2026-001", "--kind", "final_report")
    assert code == 1
    assert out.splitlines() == ["paragraph 2: subject's name"]
    assert "1 hits stand" in err and "Quennell" not in out + err

    code, _, err = invoke(
        "documents",
        "override",
        "SCR-2026-001",
        "--kind",
        "final_report",
        "--version",
        "1",
        "--reason",
        " ",
    )
    assert code == 2 and err.startswith("--reason: is required")
    code, out, _ = invoke(
        "documents",
        "override",
        "SCR-2026-001",
        "--kind",
        "final_report",
        "--version",
        "1",
        "--reason",
        "Named in the published judgment",
    )
    assert code == 0 and len(_audits(cli_rt, "anonymisation_overridden")) == 1
    code, out, _ = invoke("documents", "check", "SCR-2026-001", "--kind", "final_report")
    assert code == 0 and "overridden by business manager" in out

    code, out, _ = invoke("documents", "list", "SCR-2026-001")
    assert code == 0 and out.startswith("final_report       v1")

    target = tmp_path / "out.md"
    code, out, _ = invoke(
        "documents", "get", "SCR-2026-001", "--kind", "final_report", "-o", str(target)
    )
    assert code == 0 and target.read_bytes() == named.read_bytes()
    assert len(_audits(cli_rt, "document_read")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "memo"], "--kind: unknown kind 'memo'"),
        (["--kind", "final_report"], "file: is empty"),
    ],
)
def test_bad_document_input_exits_2_naming_the_field_and_stores_nothing(
    cli_rt: Runtime, tmp_path: Path, args: list[str], message: str
) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    before = row_counts(cli_rt)
    code, _, err = invoke("documents", "add", "SCR-2026-001", *args, str(empty))
    assert code == 2 and err.strip().startswith(message)
    assert row_counts(cli_rt) == before


def test_get_of_a_missing_version_names_it(cli_rt: Runtime, tmp_path: Path) -> None:
    code, _, err = invoke(
        "documents",
        "get",
        "SCR-2026-001",
        "--kind",
        "final_report",
        "--version",
        "3",
        "-o",
        str(tmp_path / "x"),
    )
    assert code == 2 and "no version 3" in err


def test_names_add_and_list_and_the_listing_is_audited(cli_rt: Runtime) -> None:
    code, out, _ = invoke(
        "names", "add", "SCR-2026-001", "--name", "Kerensa Vaughan", "--role", "mother"
    )
    assert code == 0 and out.strip() == "SCR-2026-001: name listed (mother)"
    assert "Kerensa" not in out
    code, out, _ = invoke("names", "list", "SCR-2026-001")
    assert code == 0 and "Kerensa Vaughan" in out and "mother" in out
    assert len(_audits(cli_rt, "review_names_revealed")) == 1
    code, _, err = invoke("names", "add", "SCR-2026-001", "--name", "", "--role", "mother")
    assert code == 2 and err.startswith("--name: is required")


def test_takedown_is_refused_before_publication_then_recorded_once_and_stops_the_reminders(
    cli_rt: Runtime,
) -> None:
    code, _, err = invoke("documents", "takedown", "SCR-2026-001", "--on", "2026-13-01")
    assert code == 2 and err.startswith("--on: '2026-13-01' is not a date")
    today = cli_rt.today()
    code, _, err = invoke("documents", "takedown", "SCR-2026-001", "--on", today.isoformat())
    assert code == 2 and "the report was not published" in err
    published = today - timedelta(days=400)
    with cli_rt.sessions.begin() as session:
        review = store.get_review(session, "SCR-2026-001")
        store.record_event(session, review_id=review.id, name="publication", on_date=published)
        store.upsert_obligation(
            session,
            key="SCR-2026-001:published_until",
            review_id=review.id,
            milestone="published_until",
            description="published report",
            owed_by="board",
            agency_id=None,
            owed_to="board",
            due_on=published + timedelta(days=365),
            now=cli_rt.now(),
        )
    code, _, err = invoke(
        "documents", "takedown", "SCR-2026-001", "--on", (today + timedelta(days=1)).isoformat()
    )
    assert code == 2 and err.startswith("--on: is in the future")
    code, out, _ = invoke("documents", "takedown", "SCR-2026-001", "--on", today.isoformat())
    assert code == 0 and "available on request" in out
    code, _, err = invoke("documents", "takedown", "SCR-2026-001", "--on", today.isoformat())
    assert code == 2 and "already recorded" in err
    with cli_rt.sessions() as session:
        review = store.get_review(session, "SCR-2026-001")
        (obligation,) = store.obligations(session, review.id, milestone="published_until")
        assert store.review_events(session, review.id)["taken_down"] == today
    assert (obligation.status, obligation.met_on) == (ObligationStatus.MET, today)
    assert len(_audits(cli_rt, "report_taken_down")) == 1


def test_comments_lists_each_agencys_comments_by_section(cli_rt: Runtime, tmp_path: Path) -> None:
    code, out, _ = invoke("documents", "comments", "SCR-2026-001")
    assert (code, out.strip()) == (0, "SCR-2026-001: no comments on the draft")
    draft = tmp_path / "draft.md"
    draft.write_text("# Draft\n\nChild T was not brought to appointments.\n")
    assert invoke("documents", "add", "SCR-2026-001", "--kind", "draft_report", str(draft))[0] == 0
    record_draft_comments(
        cli_rt,
        "SCR-2026-001",
        "Northbridge Police",
        [("2. Findings", "The visit was in March.")],
        submitted_by="Northbridge Police (portal)",
    )
    code, out, _ = invoke("documents", "comments", "SCR-2026-001")
    assert (code, out.strip()) == (
        0,
        "Northbridge Police (draft v1), 2. Findings: The visit was in March.",
    )


def test_a_harmless_hit_is_cleared_per_version_and_place_with_a_reason_audited(
    cli_rt: Runtime, tmp_path: Path
) -> None:
    invoke("names", "add", "SCR-2026-001", "--name", "Dana Hope", "--role", "social worker")
    report = tmp_path / "final.md"
    report.write_text("Summary.\n\nHope was what the family held on to.\n\nsome hope remained.\n")
    assert invoke("documents", "add", "SCR-2026-001", "--kind", "final_report", str(report))[0] == 0
    code, out, _ = invoke("documents", "check", "SCR-2026-001", "--kind", "final_report")
    # "Hope" is an everyday word: it counts only capitalised, so paragraph 3 is not a hit.
    assert code == 1 and out.splitlines() == [
        "paragraph 2: name listed for the review (social worker)"
    ]
    clear = ("documents", "clear", "SCR-2026-001", "--kind", "final_report", "--version", "1")
    code, _, err = invoke(*clear, "--place", "paragraph 2", "--reason", " ")
    assert code == 2 and err.startswith("--reason: is required")
    code, _, err = invoke(*clear, "--place", "paragraph 9", "--reason", "a word")
    assert code == 2 and "has no hit at 'paragraph 9'" in err
    code, out, _ = invoke(*clear, "--place", "paragraph 2", "--reason", "the word hope, not her")
    assert code == 0 and "cleared paragraph 2" in out
    code, out, _ = invoke("documents", "check", "SCR-2026-001", "--kind", "final_report")
    assert code == 0 and "cleared as not identifying by" in out
    (audit,) = _audits(cli_rt, "anonymisation_hit_cleared")
    assert audit.detail["place"] == "paragraph 2" and audit.detail["version"] == 1
    assert audit.detail["reason"] == "the word hope, not her"

    # The same content as a new version starts uncleared.
    assert invoke("documents", "add", "SCR-2026-001", "--kind", "final_report", str(report))[0] == 0
    assert invoke("documents", "check", "SCR-2026-001", "--kind", "final_report")[0] == 1


def test_hidden_data_cannot_be_cleared_and_an_unreadable_stored_file_exits_2(
    cli_rt: Runtime, tmp_path: Path
) -> None:
    from models import documents_store
    from services.documents import store_file
    from tests.anonymisation_corpus import _author

    report = tmp_path / "final.docx"
    report.write_bytes(_author())
    assert invoke("documents", "add", "SCR-2026-001", "--kind", "final_report", str(report))[0] == 0
    code, out, _ = invoke("documents", "check", "SCR-2026-001", "--kind", "final_report")
    assert code == 1
    assert "document property: author: hidden data; remove personal information first" in out
    code, _, err = invoke(
        "documents", "clear", "SCR-2026-001", "--kind", "final_report", "--version", "1",
        "--place", "document property: author", "--reason", "it is mine",
    )  # fmt: skip
    assert code == 2 and "is hidden data" in err

    # A file stored before the reader knew better (here: a truncated PDF) cannot be checked.
    sha256 = store_file(cli_rt, b"%PDF-1.7\n1 0 obj")
    with cli_rt.sessions.begin() as session:
        review = store.get_review(session, "SCR-2026-001")
        documents_store.add_document(
            session, review_id=review.id, kind=DocumentKind.FINAL_REPORT, filename="old.pdf",
            media_type="application/pdf", size=16, sha256=sha256, added_by="bm",
            added_at=cli_rt.now(),
        )  # fmt: skip
    code, out, err = invoke("documents", "check", "SCR-2026-001", "--kind", "final_report")
    assert code == 2 and out == ""
    assert err.strip() == (
        "SCR-2026-001 final_report version 2: could not be checked: "
        "it is truncated (its end-of-file marker is missing)"
    )
