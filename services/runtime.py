"""The injection point: settings, clock, deadline engine and sessions in one object.

Tasks, the CLI and the portal ask :func:`runtime` for them; tests and simulations install their
own with :func:`use_runtime` instead of patching.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock, clock_from_setting, today
from core.config import Settings, get_settings
from core.deadlines import DeadlineEngine, load_rule_packs
from models.db import get_engine, session_factory
from models.migrate import alembic_config
from notifications.mailer import AppriseMailer, Mailer
from notifications.reminders import ReminderPolicy, load_policy


class SchemaNotReady(RuntimeError):
    """The case store has not been migrated to the current schema."""


@dataclass
class Runtime:
    """Everything domain code needs from the outside world."""

    settings: Settings
    clock: Clock
    deadlines: DeadlineEngine
    sessions: sessionmaker[Session] = field(repr=False)
    mailer: Mailer = field(repr=False)
    reminder_policy: ReminderPolicy = field(repr=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, clock: Clock | None = None, mailer: Mailer | None = None
    ) -> Runtime:
        return cls(
            settings=settings,
            clock=clock or clock_from_setting(settings.clock),
            deadlines=DeadlineEngine(load_rule_packs(settings.rules_dir)),
            sessions=session_factory(settings.database_url),
            mailer=mailer or AppriseMailer(settings.mail_url),
            reminder_policy=load_policy(settings.reminder_policy),
        )

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return today(self.clock)

    def check_schema(self) -> None:
        """Raise :class:`SchemaNotReady` unless the database is at the newest migration."""
        url = self.settings.database_url
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        with get_engine(url).connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        if current != head:
            raise SchemaNotReady(
                f"the case store at {url} is at schema {current or 'empty'}, not {head}: "
                "run 'reviews db upgrade'"
            )


_current: Runtime | None = None


def runtime() -> Runtime:
    """The installed runtime, or one built from the environment's settings."""
    global _current
    if _current is None:
        _current = Runtime.from_settings(get_settings())
    return _current


def set_runtime(new: Runtime | None) -> None:
    """Install ``new`` for this process (``None`` goes back to the settings' default)."""
    global _current
    _current = new


@contextmanager
def use_runtime(new: Runtime) -> Iterator[Runtime]:
    """Install ``new`` for the duration of the block."""
    previous = _current
    set_runtime(new)
    try:
        yield new
    finally:
        set_runtime(previous)
