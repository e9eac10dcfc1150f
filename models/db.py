"""The database engine and sessions, created once per URL."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from core.files import private_file


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the sweep, the flow and the CLI read while another writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def driver_url(url: str) -> URL:
    """``url`` with the driver this project uses: psycopg (3) for a plain ``postgresql://``."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_files(url: str) -> list[Path]:
    """The files of a SQLite store at ``url`` (the database, its journal, WAL and shared
    memory), or none for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return []
    database = Path(parsed.database)
    return [
        database,
        *(database.with_name(database.name + s) for s in ("-journal", "-wal", "-shm")),
    ]


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """The engine for ``url`` (one per process and URL). SQLite parent folders are created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # The store holds identities: created owner-only (0600; SQLite gives its -wal and
            # -shm files the same mode), in an owner-only folder if it makes one.
            private_file(Path(parsed.database))
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(driver_url(url), pool_pre_ping=True)


def session_factory(url: str) -> sessionmaker[Session]:
    """A session factory bound to the engine for ``url``; objects stay usable after commit."""
    return sessionmaker(get_engine(url), expire_on_commit=False)
