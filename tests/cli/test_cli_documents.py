"""``reviews documents`` and ``reviews names``, driven in-process with the runtime injected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from case_reviews.cli import app
from models.orm import AuditEvent
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
