"""``reviews backup DIR`` / ``reviews restore DIR``: the case store and its documents, on SQLite
and PostgreSQL, through the CLI (issue 24, point 6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from case_reviews.cli import app
from case_reviews.examples import EXAMPLES
from core.clock import ManualClock
from core.names import DocumentKind
from services.documents import add_document, get_document
from services.runtime import Runtime, use_runtime
from tests.conftest import make_runtime
from tests.helpers import row_counts

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def board_rt(database_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on SQLite and PostgreSQL with its documents in this test's directory."""
    rt = make_runtime(database_url, clock, documents_dir=tmp_path / "documents")
    with use_runtime(rt):
        assert _invoke("board", "load", str(EXAMPLES / "board.yaml"))[0] == 0
        yield rt


def _add_referral(name: str) -> str:
    code, out, err = _invoke("referral", "add", str(EXAMPLES / "referrals" / f"{name}.yaml"))
    assert code == 0, err
    return out.strip()


def test_a_backup_brings_back_the_store_and_its_documents_as_they_were(
    board_rt: Runtime, tmp_path: Path
) -> None:
    first = _add_referral("scr-child-t")
    draft = b"Draft report of the review of Child T: agencies' joint working.\n"
    add_document(board_rt, first, DocumentKind.DRAFT_REPORT, "draft.md", draft, added_by="bm")
    before = row_counts(board_rt)
    code, out, err = _invoke("backup", str(tmp_path / "backup"))
    assert code == 0, err
    assert "1 document files" in out
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["revision"] is not None and len(manifest["files"]) == 2

    # Work after the backup, and the documents directory lost.
    second = _add_referral("sar-adult-b")
    for path in sorted((tmp_path / "documents").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()

    code, _, err = _invoke("restore", str(tmp_path / "backup"))
    assert code == 2 and err.startswith("--replace: the case store holds reviews"), err
    assert _invoke("referral", "show", second)[0] == 0  # refused: nothing was changed

    code, out, err = _invoke("restore", str(tmp_path / "backup"), "--replace")
    assert code == 0, err
    assert row_counts(board_rt) == before
    assert _invoke("referral", "show", first)[0] == 0
    assert _invoke("referral", "show", second)[0] == 2  # recorded after the backup: gone
    assert get_document(board_rt, first, DocumentKind.DRAFT_REPORT, 1, actor="bm")[1] == draft


def test_a_backup_goes_only_into_a_new_or_empty_directory(
    board_rt: Runtime, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "something").write_text("x")
    code, _, err = _invoke("backup", str(taken))
    assert code == 2
    assert err.strip() == f"DIR: {taken} exists and is not an empty directory"


def test_a_damaged_backup_is_refused_before_anything_changes(
    board_rt: Runtime, tmp_path: Path
) -> None:
    reference = _add_referral("scr-child-t")
    assert _invoke("backup", str(tmp_path / "backup"))[0] == 0
    copy = next(p for p in (tmp_path / "backup").iterdir() if p.name.startswith("case-store"))
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte changed in the middle of the copy
    copy.write_bytes(bytes(data))
    code, _, err = _invoke("restore", str(tmp_path / "backup"), "--replace")
    assert code == 2
    assert err.strip() == f"DIR: {copy.name} does not match its SHA-256 in the manifest"
    assert _invoke("referral", "show", reference)[0] == 0
    code, _, err = _invoke("restore", str(tmp_path / "nowhere"))
    assert (code, err.strip()) == (
        2,
        f"DIR: {tmp_path / 'nowhere'} holds no manifest.json: not a backup",
    )
