"""The case store, the documents folder and var/ are owner-only; 'reviews db upgrade' tightens
a store made before that."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from case_reviews.cli import app
from core.config import get_settings
from core.secrets import read_or_create_secret
from models.migrate import upgrade
from services.documents import _write_blob
from services.runtime import set_runtime


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_and_its_folder_are_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "var" / "reviews.db"
    upgrade(f"sqlite:///{database}")
    assert mode(database) == 0o600
    assert mode(database.parent) == 0o700


def test_db_upgrade_tightens_a_world_readable_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "reviews.db"
    sqlite3.connect(database).close()
    os.chmod(database, 0o644)
    monkeypatch.setenv("REVIEWS_DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    set_runtime(None)
    try:
        result = CliRunner().invoke(app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
        set_runtime(None)
    assert result.exit_code == 0, result.output
    assert mode(database) == 0o600


def test_documents_and_secrets_folders_are_owner_only(tmp_path: Path) -> None:
    root = tmp_path / "var" / "documents"
    sha = _write_blob(root, b"a report")
    blob = root / sha[:2] / sha
    assert mode(blob) == 0o600
    assert mode(blob.parent) == mode(root) == mode(root.parent) == 0o700
    read_or_create_secret(tmp_path / "other-var" / "portal-secret")
    assert mode(tmp_path / "other-var") == 0o700
