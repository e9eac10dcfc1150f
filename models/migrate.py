"""Alembic migrations, run programmatically (``reviews db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from core.files import tighten
from models.db import sqlite_files

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; URLs may carry %-escapes.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (creating it from empty if need be)."""
    command.upgrade(alembic_config(url), revision)
    # A store made before files were created owner-only is tightened here (0600).
    for path in sqlite_files(url):
        tighten(path)
