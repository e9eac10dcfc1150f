"""The statutory clock engine: rule packs as data, deadlines as pure date arithmetic.

Nothing here reads the wall clock, a database or the network: every date comes in as an argument,
so the same events always give the same deadlines (safe to call from deterministic flow code).
The only I/O is reading rule-pack YAML in :func:`load_rule_packs`.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, TypeVar

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.criteria import Criteria
from core.limits import AnswerText
from core.names import Stage
from core.paths import Outcome
from core.regime import Recipients

STANDARD_EVENTS: frozenset[str] = frozenset(
    {"notified", "incident_known", "decision", "final_report", "publication"}
)
"""Events every regime knows, whether or not one of its rules counts from them."""

_BUILTIN_PACKS = Path(__file__).with_name("packs")

ENGLISH_PATHS: tuple[Outcome, ...] = (
    "full_review",
    "critical_incident_review",
    "individual_agency_review",
    "professional_forum",
    "no_review",
)
"""The routes a pack offers when it names none (Wirral LSCB framework s.5, s.6)."""

COMMON_REGIME = "*"
"""The regime id of a pack whose rules are merged into every regime."""

RuleKind = Literal["calendar_days", "calendar_months", "working_days"]
Basis = Literal["statute", "statutory guidance", "national panel guidance", "board rule"]
"""What a rule rests on: an Act, statutory guidance, the national panel's guidance, or the
board's own choice (where no text sets a period)."""
Direction = Literal["after", "before"]

_UNIT_NAMES: dict[str, tuple[str, str]] = {
    "calendar_days": ("day", "days"),
    "calendar_months": ("month", "months"),
    "working_days": ("working day", "working days"),
}


class UnknownRegimeError(LookupError):
    """Raised when a regime id has no rule pack."""


class UnknownEventError(LookupError):
    """Raised when an event name is neither standard nor used by the regime's rules."""


class UnknownMilestoneError(LookupError):
    """Raised when a milestone is not in a regime's rule pack."""


class RulePackError(ValueError):
    """Raised when a rule-pack file is malformed or holds an invalid rule."""


class Rule(BaseModel):
    """One statutory or board-local clock: ``amount`` units ``direction`` the ``base`` event."""

    # extra="forbid" so a typo in a board's YAML ("amout") fails loudly instead of being dropped.
    model_config = ConfigDict(frozen=True, extra="forbid")

    milestone: str = Field(min_length=1, description="What is due, e.g. panel_notification.")
    base: str = Field(min_length=1, description="The event the clock counts from.")
    kind: RuleKind
    amount: int = Field(ge=1)
    direction: Direction = "after"
    source: str = Field(min_length=1, description="Where the rule comes from (law, guidance).")
    basis: Basis = Field(
        default="board rule",
        description="What the rule rests on; a rule that names none is the board's own rule.",
    )
    fallback_base: str | None = Field(
        default=None,
        description="The event the clock counts from when ``base`` is not recorded (the "
        "deadline then says so).",
    )
    stoppable: bool = Field(default=False, description="Stop-the-clock periods push it out.")
    recurring: bool = Field(
        default=False, description="Repeats every `amount` units after the base until closed."
    )
    owed_by: Literal["board", "local_authority"] = Field(
        default="board",
        description="Who must meet it: the board, or the local authority named in the board file "
        "(chased through that agency, never the chair).",
    )

    @model_validator(mode="after")
    def _combinations_make_sense(self) -> Rule:
        # Pausing or repeating only has a meaning for a clock that runs forward from its base;
        # rejecting the other combinations keeps a board's pack from saying something undefined.
        if self.direction == "before" and (self.stoppable or self.recurring):
            raise ValueError("a 'before' rule can be neither stoppable nor recurring")
        if self.stoppable and self.recurring:
            raise ValueError("a rule can be stoppable or recurring, not both")
        return self

    @property
    def description(self) -> str:
        """The rule in plain words, e.g. ``"at the latest 7 working days before publication"``;
        with its fallback, e.g. ``"15 working days after la_notified (else incident_known)"``."""
        words = self.description_from(self.base)
        return f"{words} (else {self.fallback_base})" if self.fallback_base else words

    def description_from(self, base: str) -> str:
        """The rule in plain words, counted from ``base`` (its own base or its fallback)."""
        singular, plural = _UNIT_NAMES[self.kind]
        if self.recurring:
            every = singular if self.amount == 1 else f"{self.amount} {plural}"
            return f"every {every} after {base}"
        span = f"{self.amount} {singular if self.amount == 1 else plural}"
        if self.direction == "before":
            return f"at the latest {span} before {base}"
        return f"{span} after {base}"


class RulePack(BaseModel):
    """The rules of one regime (``scr``, ``lcspr``…); of every regime when ``regime`` is ``*``."""

    model_config = ConfigDict(extra="forbid")

    regime: str = Field(min_length=1)
    title: str = Field(min_length=1)
    nation: str = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    criteria: Criteria | None = Field(
        default=None, description="The statutory criteria a referral is assessed against."
    )
    stages: tuple[Stage, ...] = Field(
        default=(),
        description="The stages the regime walks, in order; none: the full flowchart "
        "(without the LCSPR rapid review).",
    )
    recipients: Recipients = Field(
        default_factory=Recipients, description="Who is told at referral, decision, final report."
    )
    delays_move_dates: bool = Field(
        default=False,
        description="Does a recorded delay push the stoppable statutory dates out? By default a "
        "delay is recorded (with the learning captured meanwhile) and the target stands.",
    )
    paths: tuple[Outcome, ...] = Field(
        default=ENGLISH_PATHS, description="The routes the committee and chair may choose."
    )
    board_paths: tuple[Outcome, ...] = Field(
        default=(),
        description="Routes of ``paths`` that are board-local overrides, not the regime's "
        "statutory path (labelled so wherever routes are shown).",
    )
    events: tuple[str, ...] = Field(
        default=(), description="Further events the case store records (accepted as clock events)."
    )
    referrals_before: date | None = Field(
        default=None,
        description="A referral notified on or after this date is refused (the regime was "
        "replaced); reviews started before it run to their end.",
    )
    superseded_by: str | None = Field(
        default=None, description="The regime that replaced this one from ``referrals_before``."
    )
    superseded_note: str = Field(default="", description="The source of the replacement.")

    @model_validator(mode="after")
    def _milestones_are_unique(self) -> RulePack:
        _reject_duplicate_milestones(self.rules)
        return self

    def route_label(self, outcome: str) -> str:
        """The route's name, marked where it is a board-local override of the regime's path."""
        if outcome in self.board_paths:
            return f"{outcome} (board override, not the regime's statutory path)"
        return outcome

    def rule(self, milestone: str) -> Rule:
        """Return the rule for ``milestone``; raise :class:`UnknownMilestoneError` if none."""
        for rule in self.rules:
            if rule.milestone == milestone:
                return rule
        known = ", ".join(sorted(r.milestone for r in self.rules))
        raise UnknownMilestoneError(
            f"regime {self.regime!r} has no milestone {milestone!r}; known milestones: {known}"
        )


class Period(BaseModel):
    """From ``start`` to ``end``, both inclusive; open while ``end`` is empty."""

    what: ClassVar[str] = "period"
    end_field: ClassVar[str] = "end"
    """How the end is named to whoever gave it (a CLI option, a form field)."""

    start: date
    end: date | None = None

    @model_validator(mode="after")
    def _end_not_before_start(self) -> Self:
        if self.end is not None and self.end < self.start:
            ends = f"the {self.what} ends ({self.end}) before it starts ({self.start})"
            raise ValueError(f"{self.end_field}: {ends}")
        return self


class ClockStop(Period):
    """A stop-the-clock period (e.g. parallel criminal proceedings), both ends inclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    what: ClassVar[str] = "clock stop"

    end: date
    reason: AnswerText


class Deadline(BaseModel):
    """One computed due date, with the rule and source that justify it."""

    model_config = ConfigDict(frozen=True)

    milestone: str
    due: date
    rule: str = Field(description="The rule in plain words.")
    source: str
    base_event: str
    base_date: date
    paused_days: int = Field(default=0, ge=0, description="Calendar days of stop-the-clock.")
    owed_by: str = Field(default="board", description="Who must meet it (see Rule.owed_by).")
    basis: Basis = Field(default="board rule", description="What the rule rests on.")
    note: str = Field(default="", description="Why it counts from a fallback event, if it does.")


class WorkingCalendar:
    """England & Wales working days: Monday to Friday except bank holidays.

    Bank holidays come from the ``holidays`` package (GB, subdivision ENG, which covers England
    and Wales), including substitute days and one-off holidays; years are loaded on first use.
    ``extra_closed_days`` adds board-local closures.
    """

    def __init__(self, extra_closed_days: Iterable[date] = ()) -> None:
        self._extra_closed: frozenset[date] = frozenset(extra_closed_days)
        self._bank_holidays_by_year: dict[int, frozenset[date]] = {}

    def _bank_holidays(self, year: int) -> frozenset[date]:
        loaded = self._bank_holidays_by_year.get(year)
        if loaded is None:
            table = holidays.country_holidays("GB", subdiv="ENG", years=year)
            loaded = frozenset(table.keys())
            self._bank_holidays_by_year[year] = loaded
        return loaded

    def is_working_day(self, d: date) -> bool:
        """True unless ``d`` is a Saturday, Sunday, bank holiday or board closure."""
        d = _as_date(d)
        return (
            d.weekday() < 5 and d not in self._bank_holidays(d.year) and d not in self._extra_closed
        )

    def _walk(self, d: date, step: int) -> Iterator[date]:
        """Yield the working days strictly after (step 1) or before (step -1) ``d``."""
        one_day = timedelta(days=step)
        while True:
            d += one_day
            if self.is_working_day(d):
                yield d

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d``; ``d`` itself is not counted (n=0: ``d``)."""
        return self._nth_working_day(d, n, step=1)

    def subtract_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day before ``d``; ``d`` itself is not counted (n=0: ``d``)."""
        return self._nth_working_day(d, n, step=-1)

    def _nth_working_day(self, d: date, n: int, *, step: int) -> date:
        d = _as_date(d)
        if n < 0:
            raise ValueError(f"number of working days must not be negative, got {n}")
        result = d
        walk = self._walk(d, step)
        for _ in range(n):
            result = next(walk)
        return result

    def working_days_between(self, a: date, b: date) -> int:
        """Count the working days in ``(a, b]``; negative (the count in ``(b, a]``) if ``b < a``.

        So ``working_days_between(d, add_working_days(d, n)) == n`` for any ``d``.
        """
        a, b = _as_date(a), _as_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        return sum(
            1 for offset in range(1, (b - a).days + 1) if self.is_working_day(a + timedelta(offset))
        )


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` calendar months (negative: back), clamped to the month's end.

    So one month after 31 January is 28 February, or 29 February in a leap year.
    """
    month_index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = _calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last_day))


def _as_date(d: date) -> date:
    # datetime is a subclass of date; letting one through would mix times into due dates and
    # make comparisons with plain dates raise later, far from the cause.
    if isinstance(d, datetime):
        raise TypeError(f"expected a date, got a datetime ({d!r})")
    return d


def _reject_duplicate_milestones(rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.milestone in seen:
            raise ValueError(f"milestone {rule.milestone!r} is defined twice")
        seen.add(rule.milestone)


class _PackFile(BaseModel):
    """One YAML file as written: a board's file for an existing regime may omit title/nation."""

    model_config = ConfigDict(extra="forbid")

    regime: str = Field(min_length=1)
    title: str | None = Field(default=None, min_length=1)
    nation: str | None = Field(default=None, min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    criteria: Criteria | None = None
    stages: tuple[Stage, ...] | None = None
    recipients: Recipients | None = None
    delays_move_dates: bool | None = None
    paths: tuple[Outcome, ...] | None = None
    board_paths: tuple[Outcome, ...] | None = None
    events: tuple[str, ...] = ()
    referrals_before: date | None = None
    superseded_by: str | None = None
    superseded_note: str | None = None

    @model_validator(mode="after")
    def _milestones_are_unique(self) -> _PackFile:
        _reject_duplicate_milestones(self.rules)
        return self


def _read_pack_file(file: Traversable) -> _PackFile:
    name = str(file)
    try:
        raw: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulePackError(f"{name}: malformed YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise RulePackError(f"{name}: expected a mapping with 'regime' and 'rules' at the top")
    try:
        return _PackFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(file)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise RulePackError(f"{name}: {problems}") from exc


def _yaml_files(directory: Traversable) -> list[Traversable]:
    # Sorted so that, when two files touch the same milestone, the outcome does not depend on
    # the file system's listing order.
    return sorted(
        (f for f in directory.iterdir() if f.is_file() and f.name.endswith(".yaml")),
        key=lambda f: f.name,
    )


@dataclass
class _Layer:
    """What one origin (built-in or board) says about one regime, rules keyed by milestone."""

    origin: str = ""
    title: str | None = None
    nation: str | None = None
    criteria: Criteria | None = None
    stages: tuple[Stage, ...] | None = None
    recipients: Recipients | None = None
    delays_move_dates: bool | None = None
    paths: tuple[Outcome, ...] | None = None
    board_paths: tuple[Outcome, ...] | None = None
    events: tuple[str, ...] = ()
    referrals_before: date | None = None
    superseded_by: str | None = None
    superseded_note: str | None = None
    rules: dict[str, Rule] = field(default_factory=dict)


def _read_layers(files: Iterable[Traversable]) -> dict[str, _Layer]:
    layers: dict[str, _Layer] = {}
    for file in files:
        pack = _read_pack_file(file)
        layer = layers.setdefault(pack.regime, _Layer(origin=str(file)))
        layer.title = pack.title or layer.title
        layer.nation = pack.nation or layer.nation
        layer.criteria = pack.criteria or layer.criteria
        layer.stages = pack.stages if pack.stages is not None else layer.stages
        layer.recipients = pack.recipients or layer.recipients
        if pack.delays_move_dates is not None:
            layer.delays_move_dates = pack.delays_move_dates
        layer.paths = pack.paths or layer.paths
        layer.board_paths = pack.board_paths if pack.board_paths is not None else layer.board_paths
        layer.events = (*layer.events, *pack.events)
        layer.referrals_before = pack.referrals_before or layer.referrals_before
        layer.superseded_by = pack.superseded_by or layer.superseded_by
        layer.superseded_note = pack.superseded_note or layer.superseded_note
        layer.rules.update((rule.milestone, rule) for rule in pack.rules)
    return layers


def load_rule_packs(extra_dir: Path | None = None) -> dict[str, RulePack]:
    """Load the built-in rule packs, then a board's own packs from ``extra_dir`` on top.

    Rules of the common pack (regime ``*``) are merged into every regime. Later layers win, by
    milestone, in this order: built-in common, built-in regime, board common, board regime; so
    a board's file can override a national rule, add a rule, or add a whole new regime (which
    then needs a ``title`` and ``nation``). Board files are the ``*.yaml`` files of
    ``extra_dir``, applied in file-name order. Returns the packs keyed by regime id, without
    ``*``.

    Raises :class:`RulePackError`, naming the file and the field, for malformed YAML or an
    invalid rule, and if ``extra_dir`` is not a directory.
    """
    builtin = _read_layers(_yaml_files(_BUILTIN_PACKS))
    board: dict[str, _Layer] = {}
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise RulePackError(f"{extra_dir}: board rule-pack directory not found")
        board = _read_layers(_yaml_files(extra_dir))

    nothing = _Layer()
    packs: dict[str, RulePack] = {}
    for regime in sorted((builtin.keys() | board.keys()) - {COMMON_REGIME}):
        own_builtin, own_board = builtin.get(regime, nothing), board.get(regime, nothing)
        title = own_board.title or own_builtin.title
        nation = own_board.nation or own_builtin.nation
        if title is None or nation is None:
            missing = "title" if title is None else "nation"
            origin = own_board.origin or own_builtin.origin
            raise RulePackError(f"{origin}: {missing}: required for the new regime {regime!r}")
        merged = {
            **builtin.get(COMMON_REGIME, nothing).rules,
            **own_builtin.rules,
            **board.get(COMMON_REGIME, nothing).rules,
            **own_board.rules,
        }
        packs[regime] = RulePack(
            regime=regime,
            title=title,
            nation=nation,
            rules=list(merged.values()),
            # A board's criteria replace the built-in ones whole: a test is read as one text.
            criteria=own_board.criteria or own_builtin.criteria,
            # Like the criteria, a board's stages and recipients replace the built-in ones whole.
            stages=_first(own_board.stages, own_builtin.stages, ()),
            recipients=own_board.recipients or own_builtin.recipients or Recipients(),
            delays_move_dates=_first(
                own_board.delays_move_dates,
                board.get(COMMON_REGIME, nothing).delays_move_dates,
                own_builtin.delays_move_dates,
                False,
            ),
            paths=own_board.paths or own_builtin.paths or ENGLISH_PATHS,
            board_paths=_first(own_board.board_paths, own_builtin.board_paths, ()),
            events=tuple(
                dict.fromkeys(
                    (
                        *builtin.get(COMMON_REGIME, nothing).events,
                        *own_builtin.events,
                        *board.get(COMMON_REGIME, nothing).events,
                        *own_board.events,
                    )
                )
            ),
            referrals_before=own_board.referrals_before or own_builtin.referrals_before,
            superseded_by=own_board.superseded_by or own_builtin.superseded_by,
            superseded_note=own_board.superseded_note or own_builtin.superseded_note or "",
        )
    return packs


_T = TypeVar("_T")


def _first(*values: _T | None) -> _T:
    """The first value given (not None): a board's layer before the built-in one."""
    return next(v for v in values if v is not None)


class DeadlineEngine:
    """Computes due dates from a regime's rule pack, the case's events and any clock stops.

    Pure: no wall clock, no I/O; the working-day calendar is injected (default England & Wales).
    """

    def __init__(
        self, packs: Mapping[str, RulePack], calendar: WorkingCalendar | None = None
    ) -> None:
        self._packs: dict[str, RulePack] = dict(packs)
        self._calendar = calendar if calendar is not None else WorkingCalendar()

    @property
    def calendar(self) -> WorkingCalendar:
        """The working-day calendar the engine counts with (shared by the reminder sweep)."""
        return self._calendar

    def regimes(self) -> list[str]:
        """The regime ids this engine knows, sorted."""
        return sorted(self._packs)

    def pack(self, regime: str) -> RulePack:
        """The rule pack of ``regime``; :class:`UnknownRegimeError` (listing known ones) if none."""
        try:
            return self._packs[regime]
        except KeyError:
            known = ", ".join(self.regimes())
            raise UnknownRegimeError(f"unknown regime {regime!r}; known regimes: {known}") from None

    def known_events(self, regime: str) -> set[str]:
        """:data:`STANDARD_EVENTS`, every event the case store records (the packs' ``events``)
        and every event the regime's rules count from."""
        pack = self.pack(regime)
        bases = {rule.base for rule in pack.rules}
        fallbacks = {rule.fallback_base for rule in pack.rules if rule.fallback_base}
        return set(STANDARD_EVENTS) | set(pack.events) | bases | fallbacks

    def compute(
        self,
        regime: str,
        events: Mapping[str, date],
        stops: Sequence[ClockStop] = (),
    ) -> list[Deadline]:
        """One :class:`Deadline` per rule whose base event is given, sorted by (due, milestone).

        Stoppable rules are pushed out by ``stops``; other rules ignore them. A recurring rule
        gives its first occurrence (see :meth:`occurrences` for the rest).

        Raises :class:`UnknownRegimeError` or :class:`UnknownEventError`; both messages list the
        names that would have been accepted.
        """
        pack = self.pack(regime)
        known = self.known_events(regime)
        unknown = sorted(set(events) - known)
        if unknown:
            raise UnknownEventError(
                f"unknown event {', '.join(map(repr, unknown))} for regime {regime!r}; "
                f"known events: {', '.join(sorted(known))}"
            )
        deadlines = []
        for rule in pack.rules:
            if rule.base in events:
                deadlines.append(
                    self._deadline(rule, rule.base, _as_date(events[rule.base]), stops)
                )
            elif rule.fallback_base is not None and rule.fallback_base in events:
                base_date = _as_date(events[rule.fallback_base])
                deadlines.append(self._deadline(rule, rule.fallback_base, base_date, stops))
        return sorted(deadlines, key=lambda d: (d.due, d.milestone))

    def occurrences(self, regime: str, milestone: str, base_date: date, until: date) -> list[date]:
        """Due dates of a recurring rule from ``base_date`` up to and including ``until``.

        Each occurrence is counted from the base date (base+3m, base+6m…), so a month-end
        clamp in February does not drag later occurrences to the 28th. Raises ValueError if
        the milestone's rule is not recurring.
        """
        rule = self.pack(regime).rule(milestone)
        if not rule.recurring:
            raise ValueError(
                f"milestone {milestone!r} of regime {regime!r} is not recurring; use compute()"
            )
        base_date, until = _as_date(base_date), _as_date(until)
        found: list[date] = []
        multiple = 1
        while (due := self._shift(rule, base_date, rule.amount * multiple)) <= until:
            found.append(due)
            multiple += 1
        return found

    def _shift(self, rule: Rule, base_date: date, amount: int) -> date:
        if rule.direction == "before":
            amount = -amount
        if rule.kind == "calendar_days":
            return base_date + timedelta(days=amount)
        if rule.kind == "calendar_months":
            return add_months(base_date, amount)
        if amount >= 0:
            return self._calendar.add_working_days(base_date, amount)
        return self._calendar.subtract_working_days(base_date, -amount)

    def _deadline(
        self, rule: Rule, base_event: str, base_date: date, stops: Sequence[ClockStop]
    ) -> Deadline:
        due = self._shift(rule, base_date, rule.amount)
        paused_days = 0
        if rule.stoppable:
            due, paused_days = self._apply_stops(rule, base_date, due, stops)
        return Deadline(
            milestone=rule.milestone,
            due=due,
            rule=rule.description_from(base_event),
            source=rule.source,
            base_event=base_event,
            base_date=base_date,
            paused_days=paused_days,
            owed_by=rule.owed_by,
            basis=rule.basis,
            note=""
            if base_event == rule.base
            else f"counted from {base_event}: no {rule.base} is recorded",
        )

    def _apply_stops(
        self, rule: Rule, base_date: date, due: date, stops: Sequence[ClockStop]
    ) -> tuple[date, int]:
        """Push ``due`` out by each stop's days inside [base_date, running due].

        The running due date moves as each stop day is counted, so a stop that begins before
        the due date is counted to its end (the clock does not restart while a stop lasts, and
        the due date never lands inside a stop), and a later stop that begins before the pushed
        date counts too. Overlapping stops are merged so no day is paused twice. Working-day
        rules move by the working days among the paused days; ``paused_days`` counts calendar days.
        """
        paused_days = 0
        for start, end in _merged_periods(stops):
            first = max(start, base_date)
            if first > due:
                break  # stops are sorted by start and due only moves later: none can count now
            if end < first:
                continue  # over before the clock started
            paused_days += (end - first).days + 1
            if rule.kind == "working_days":
                lost = self._calendar.working_days_between(first - timedelta(days=1), end)
                due = self._calendar.add_working_days(due, lost)
            else:
                due += timedelta(days=(end - first).days + 1)
        return due, paused_days


def _merged_periods(stops: Sequence[ClockStop]) -> list[tuple[date, date]]:
    """Stops sorted by start, with overlapping or touching periods joined into one."""
    merged: list[tuple[date, date]] = []
    for stop in sorted(stops, key=lambda s: (s.start, s.end)):
        if merged and stop.start <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop.end))
        else:
            merged.append((stop.start, stop.end))
    return merged
