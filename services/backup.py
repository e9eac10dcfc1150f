"""Backup and restore of the case store and its documents (``reviews backup`` / ``restore``).

The case store is the source of truth (Prefect's database can be rebuilt from it), so a backup
is the store and the documents' files, taken consistently:

* SQLite: the online backup API (``sqlite3.Connection.backup``) copies pages under a read
  transaction, so a copy taken while the sweep or a run writes is still one moment's store.
* PostgreSQL: ``pg_dump --format=custom`` (one snapshot, a consistent copy while others write),
  restored with ``pg_restore --clean --if-exists``.

The documents are copied *after* the store: each file is written before the row that names
it, so every file the copied store names is already there (a file added in between is one
extra, harmless: files are stored under their SHA-256). ``manifest.json`` lists every file with
its SHA-256 and the store's migration revision; a restore checks them all before it changes
anything, and brings an older backup up to this release's schema afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, make_url, select, text

from core.config import Settings
from models.db import get_engine
from models.migrate import upgrade
from models.orm import Review

MANIFEST = "manifest.json"
SQLITE_COPY = "case-store.sqlite"
POSTGRES_DUMP = "case-store.pgdump"
DOCUMENTS = "documents"
FORMAT = 1


class BackupRefused(ValueError):
    """A backup or restore that cannot be done as asked; the message names what and why."""


@dataclass(frozen=True)
class BackupSummary:
    directory: Path
    database: str  # "sqlite" or "postgresql"
    revision: str | None
    documents: int
    bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _revision(database_url: str) -> str | None:
    engine = get_engine(database_url)
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.scalar(text("SELECT version_num FROM alembic_version"))
        return None if found is None else str(found)


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupRefused("database_url: an in-memory SQLite store cannot be backed up")
    return Path(database)


def _pg_arguments(database_url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection options for the SQLAlchemy URL (password by env)."""
    url = make_url(database_url)
    args = ["--dbname", str(url.database or "")]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {"PGPASSWORD": url.password} if url.password else {}
    return args, env


def _run(tool: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(
            tool, env=os.environ | env, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise BackupRefused(f"{tool[0]} is not installed (PostgreSQL's client tools)") from None
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())[:300] or f"exit code {done.returncode}"
        raise BackupRefused(f"{tool[0]} failed: {reason}")


def _copy_store(database_url: str, target: Path) -> tuple[str, Path]:
    backend = make_url(database_url).get_backend_name()
    if backend == "sqlite":
        source = _sqlite_path(database_url)
        if not source.is_file():
            raise BackupRefused(f"database_url: there is no case store at {source}")
        copy = target / SQLITE_COPY
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(copy)) as out:
            live.backup(out)
        return "sqlite", copy
    if backend == "postgresql":
        copy = target / POSTGRES_DUMP
        args, env = _pg_arguments(database_url)
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(copy), *args], env)
        return "postgresql", copy
    raise BackupRefused(f"database_url: cannot back up a {backend} store")


def _empty_directory(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BackupRefused(f"DIR: {directory} exists and is not an empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)


def backup(settings: Settings, directory: Path, *, now: datetime) -> BackupSummary:
    """Copy the case store, then the documents, into the empty ``directory`` with a manifest."""
    _empty_directory(directory)
    revision = _revision(settings.database_url)
    database, copy = _copy_store(settings.database_url, directory)
    files: dict[str, str] = {copy.name: _sha256(copy)}
    documents = 0
    source = settings.documents_dir
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            relative = Path(DOCUMENTS) / path.relative_to(source)
            (directory / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, directory / relative)
            files[relative.as_posix()] = _sha256(directory / relative)
            documents += 1
    manifest = {
        "format": FORMAT,
        "taken_at": now.isoformat(),
        "database": database,
        "revision": revision,
        "files": files,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    size = sum((directory / name).stat().st_size for name in files)
    return BackupSummary(directory, database, revision, documents, size)


def read_manifest(directory: Path) -> dict[str, Any]:
    """The backup's manifest, every file in it checked against its SHA-256."""
    path = directory / MANIFEST
    if not path.is_file():
        raise BackupRefused(f"DIR: {directory} holds no {MANIFEST}: not a backup")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise BackupRefused(f"DIR: {MANIFEST} is not readable JSON") from None
    if manifest.get("format") != FORMAT:
        raise BackupRefused(f"DIR: {MANIFEST} has format {manifest.get('format')!r}, not 1")
    for name, digest in manifest.get("files", {}).items():
        file = directory / name
        if not file.is_file():
            raise BackupRefused(f"DIR: {name} is listed in the manifest but missing")
        if _sha256(file) != digest:
            raise BackupRefused(f"DIR: {name} does not match its SHA-256 in the manifest")
    return manifest


def _has_reviews(database_url: str) -> bool:
    engine = get_engine(database_url)
    with engine.connect() as connection:
        if not inspect(connection).has_table(Review.__tablename__):
            return False
        return bool(connection.scalar(select(func.count()).select_from(Review)))


def _restore_store(database_url: str, directory: Path, database: str) -> None:
    backend = make_url(database_url).get_backend_name()
    if backend != database:
        raise BackupRefused(
            f"database_url: the backup is of a {database} store, this one is {backend}"
        )
    if database == "sqlite":
        target = _sqlite_path(database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        get_engine(database_url).dispose()
        with (
            closing(sqlite3.connect(directory / SQLITE_COPY)) as copy,
            closing(sqlite3.connect(target)) as live,
        ):
            copy.backup(live)  # page by page into the live file, under its lock
        target.chmod(0o600)
        return
    get_engine(database_url).dispose()
    args, env = _pg_arguments(database_url)
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            *args,
            str(directory / POSTGRES_DUMP),
        ],
        env,
    )


def restore(settings: Settings, directory: Path, *, replace: bool = False) -> BackupSummary:
    """Bring the backup in ``directory`` back as the case store and its documents, then
    migrate it to this release's schema. A store that holds reviews is only replaced with
    ``replace`` (``--replace``): a restore onto live data loses what came after the backup."""
    manifest = read_manifest(directory)
    if not replace and _has_reviews(settings.database_url):
        raise BackupRefused(
            "--replace: the case store holds reviews; restoring loses everything recorded "
            "after the backup was taken (pass --replace to go on)"
        )
    _restore_store(settings.database_url, directory, manifest["database"])
    target = settings.documents_dir
    documents = 0
    for name in manifest["files"]:
        if not name.startswith(f"{DOCUMENTS}/"):
            continue
        destination = target / name.removeprefix(f"{DOCUMENTS}/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(directory / name, destination)
        documents += 1
    upgrade(settings.database_url)
    size = sum((directory / name).stat().st_size for name in manifest["files"])
    return BackupSummary(
        directory, manifest["database"], _revision(settings.database_url), documents, size
    )


__all__ = ["BackupRefused", "BackupSummary", "backup", "read_manifest", "restore"]
