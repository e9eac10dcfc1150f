"""The reminder policy (data) and the rounds it gives an obligation.

Rounds, in order: ``before-5``, ``before-1`` (working days before the due date), ``due`` (the
last working day on or before the due date), then ``overdue-1``, ``overdue-2``… every N working
days after it, escalated from the policy's round on. On any day the sweep sends an obligation
only its latest round that has come and not been sent, and only rounds on or after the day the
obligation was opened, so a sweep that missed days catches up with one message, not a burst.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.deadlines import WorkingCalendar

DEFAULT_POLICY = Path(__file__).with_name("reminder_policy.yaml")


class ReminderPolicyError(ValueError):
    """A policy file is malformed; the message names the file and the field."""


class ReminderPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    before_working_days: tuple[int, ...] = Field(default=(5, 1))
    on_due_date: bool = True
    overdue_every_working_days: int = Field(default=3, ge=1)
    escalate_from_overdue: int = Field(default=1, ge=1)
    max_overdue_rounds: int = Field(default=12, ge=0)
    weekly_digest_weekday: int = Field(default=0, ge=0, le=4)
    amber_within_working_days: int = Field(default=5, ge=0)
    chase: tuple[str, ...] = ()


def load_policy(override: Path | None = None) -> ReminderPolicy:
    """The packaged policy with a board's file (if any) applied key by key over it."""
    data: dict[str, Any] = {}
    for path in [DEFAULT_POLICY, *([override] if override else [])]:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ReminderPolicyError(f"{path}: cannot be read as YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ReminderPolicyError(f"{path}: expected a mapping of policy settings")
        data.update(loaded)
        try:
            ReminderPolicy.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ReminderPolicyError(f"{path}: {field}: {first['msg']}") from None
    return ReminderPolicy.model_validate(data)


@dataclass(frozen=True)
class Round:
    name: str
    on: date
    kind: Literal["reminder", "due", "overdue"]
    escalated: bool = False


def rounds(due: date, policy: ReminderPolicy, calendar: WorkingCalendar) -> list[Round]:
    """Every round the policy gives an obligation due on ``due``, in date order."""
    due_day = due if calendar.is_working_day(due) else calendar.subtract_working_days(due, 1)
    found: dict[date, Round] = {}
    for n in sorted(policy.before_working_days, reverse=True):
        on = calendar.subtract_working_days(due, n)
        if on < due_day:
            found[on] = Round(f"before-{n}", on, "reminder")
    if policy.on_due_date:
        found[due_day] = Round("due", due_day, "due")
    on = due
    for k in range(1, policy.max_overdue_rounds + 1):
        on = calendar.add_working_days(on, policy.overdue_every_working_days)
        found[on] = Round(f"overdue-{k}", on, "overdue", k >= policy.escalate_from_overdue)
    return [found[d] for d in sorted(found)]


def round_due(
    due: date,
    opened: date,
    today: date,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
    known: dict[date, list[Round]] | None = None,
) -> Round | None:
    """The latest round that has come by ``today`` (and not before ``opened``), if any.

    ``known`` caches each due date's rounds across calls: a sweep meets few distinct dates.
    """
    if known is None:
        known = {}
    if due not in known:
        known[due] = rounds(due, policy, calendar)
    latest = None
    for candidate in known[due]:
        if candidate.on > today:
            break
        if candidate.on >= opened:
            latest = candidate
    return latest


def rag(due: date, today: date, policy: ReminderPolicy, calendar: WorkingCalendar) -> str:
    """red (overdue), amber (due within the policy's working days) or green."""
    if due < today:
        return "red"
    if calendar.working_days_between(today, due) <= policy.amber_within_working_days:
        return "amber"
    return "green"
