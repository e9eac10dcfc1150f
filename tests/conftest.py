"""Shared fixtures: real SQLite and PostgreSQL case stores, a manual clock, the CLI."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.clock import LONDON, ManualClock
from core.config import Settings
from models.migrate import upgrade
from notifications.smtp_catcher import SmtpCatcher
from services.runtime import Runtime, use_runtime

REPO = Path(__file__).resolve().parent.parent
# The suite signs with keys of its own, drawn per run: nothing signs with the published default
# (services refuse to), and no test reads a demo's var/ secrets by accident.
os.environ.setdefault("REVIEWS_PORTAL_SECRET", secrets.token_urlsafe(32))
os.environ.setdefault("REVIEWS_WORKSPACE_SECRET", secrets.token_urlsafe(32))
POSTGRES_ADMIN_URL = os.environ.get(
    "REVIEWS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
START = datetime(2026, 11, 22, 9, 0, tzinfo=LONDON)


def _postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test session, dropped afterwards."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            name = f"reviews_test_{uuid.uuid4().hex[:10]}"
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}")
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from models.db import get_engine

        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty case store, on SQLite and on PostgreSQL, migrated from empty to head."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'reviews.db'}"
        upgrade(url)
        yield url
        return
    pg_url: str = request.getfixturevalue("postgres_url")
    upgrade(pg_url)
    try:
        yield pg_url
    finally:
        from models.db import get_engine

        with get_engine(pg_url).begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'reviews.db'}"
    upgrade(url)
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def make_runtime(url: str, clock: ManualClock, **overrides: object) -> Runtime:
    """A runtime on ``url``; mail goes to a port nothing listens on unless ``mail_url`` is set."""
    overrides.setdefault("mail_url", "mailto://127.0.0.1:9?from=reviews@board.example")
    settings = Settings(database_url=url, **overrides)  # type: ignore[arg-type]
    return Runtime.from_settings(settings, clock=clock)


@pytest.fixture
def rt(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    """A runtime on a migrated store (SQLite and PostgreSQL) with a manual clock, installed."""
    with use_runtime(make_runtime(database_url, clock)) as runtime:
        yield runtime


@pytest.fixture
def sqlite_rt(sqlite_url: str, clock: ManualClock) -> Iterator[Runtime]:
    """A runtime on a migrated SQLite store only."""
    with use_runtime(make_runtime(sqlite_url, clock)) as runtime:
        yield runtime


@pytest.fixture
def smtp() -> Iterator[SmtpCatcher]:
    """A real SMTP server (aiosmtpd) on a free 127.0.0.1 port."""
    with SmtpCatcher() as catcher:
        yield catcher
