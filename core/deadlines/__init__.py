"""Statutory deadline clocks for case reviews: rule packs as data, pure date arithmetic.

Usage::

    engine = DeadlineEngine(load_rule_packs())
    engine.compute("lcspr", {"incident_known": date(2026, 11, 16)})
"""

from core.deadlines.engine import (
    COMMON_REGIME,
    STANDARD_EVENTS,
    ClockStop,
    Deadline,
    DeadlineEngine,
    Rule,
    RulePack,
    RulePackError,
    UnknownEventError,
    UnknownMilestoneError,
    UnknownRegimeError,
    WorkingCalendar,
    add_months,
    load_rule_packs,
)

__all__ = [
    "COMMON_REGIME",
    "STANDARD_EVENTS",
    "ClockStop",
    "Deadline",
    "DeadlineEngine",
    "Rule",
    "RulePack",
    "RulePackError",
    "UnknownEventError",
    "UnknownMilestoneError",
    "UnknownRegimeError",
    "WorkingCalendar",
    "add_months",
    "load_rule_packs",
]
