"""The injectable clock: domain code asks it for the time instead of the wall clock.

Tests and simulations swap in a :class:`ManualClock` and move time by hand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class Clock(Protocol):
    """Anything that can tell the current time (timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in the board's time zone."""

    def __init__(self, tz: ZoneInfo = LONDON) -> None:
        self._tz = tz

    def now(self) -> datetime:
        return datetime.now(self._tz)


class ManualClock:
    """A clock that only moves when told to (tests, simulations, a frozen demo)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware time")
        self._now = when

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def today(clock: Clock) -> date:
    """The clock's current date in its own time zone."""
    return clock.now().date()


def parse_fixed_clock(value: str, tz: ZoneInfo = LONDON) -> datetime:
    """Parse the ``clock`` setting's ISO date or date-time; naive values are taken as London."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"clock: expected 'system' or an ISO date/time such as 2026-11-22T09:00, got {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def clock_from_setting(value: str) -> Clock:
    """Build the clock the ``clock`` setting asks for."""
    if value == "system":
        return SystemClock()
    return ManualClock(parse_fixed_clock(value))
