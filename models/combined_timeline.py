"""One significant events timeline from every agency's return (the flowchart's timeline stage).

The agencies' events are merged in date order, each attributed to its agency. Events that the
agencies place on the same day are grouped, so the learning event can read them side by side, and
two kinds of possible conflict are flagged for the reviewers to reconcile (never resolved here):
same-day entries that look like one event described twice, and events dated only roughly whose
place among other agencies' exactly dated events is therefore not known.

Pure: no database, no clock. Its exports (CSV, HTML, markdown) are in :mod:`notifications.exports`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict

from models.timeline import FREE_TEXT, EventDate, TimelineEvent

# Two same-day accounts sharing this share of their significant words probably describe one event.
SIMILAR_ACCOUNTS = 0.4

DUPLICATE_FLAG = "possible duplicate or differing accounts"
ORDER_FLAG = "order uncertain"

# Words of four letters or more that say nothing about what happened; without them two unrelated
# entries written in the same register ("was seen with mother at home") look alike.
_COMMON_WORDS = frozenset(
    {
        "about",
        "after",
        "also",
        "been",
        "before",
        "from",
        "have",
        "into",
        "that",
        "their",
        "them",
        "then",
        "there",
        "they",
        "this",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "with",
        "would",
    }
)
_WORD = re.compile(r"[^\W\d_]{4,}")

CSV_COLUMNS: tuple[str, ...] = ("group", "date", "agency", *FREE_TEXT, "significance", "flags")


class AgencyTimeline(BaseModel):
    """One agency's return: its events as submitted, and which submission this is."""

    model_config = ConfigDict(frozen=True)

    agency: str
    version: int
    submitted_on: date
    events: list[TimelineEvent]


class CombinedEntry(BaseModel):
    """An event in the combined timeline: whose it is, its same-day group, and any flags."""

    model_config = ConfigDict(frozen=True)

    agency: str
    event: TimelineEvent
    group: int
    flags: list[str]


class CombinedTimeline(BaseModel):
    """The significant events timeline for a review, pseudonymised as the agencies wrote it."""

    model_config = ConfigDict(frozen=True)

    reference: str
    pseudonym: str
    entries: list[CombinedEntry]
    groups: int
    conflicts: list[str]
    agencies: list[str]


def _latest_returns(timelines: Sequence[AgencyTimeline]) -> list[AgencyTimeline]:
    """Each agency's highest version; a resubmission replaces the earlier return entirely."""
    latest: dict[str, AgencyTimeline] = {}
    for timeline in timelines:
        key = timeline.agency.strip().casefold()
        held = latest.get(key)
        if held is not None and held.version == timeline.version:
            raise ValueError(f"{timeline.agency}: version {timeline.version} is given twice")
        if held is None or timeline.version > held.version:
            latest[key] = timeline
    return sorted(latest.values(), key=lambda t: t.agency.casefold())


def _significant_words(text: str, pseudonym_words: frozenset[str]) -> frozenset[str]:
    words = {w.casefold() for w in _WORD.findall(text)}
    return frozenset(words - _COMMON_WORDS - pseudonym_words)


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _how_dated(when: EventDate) -> str:
    if when.precision == "day":
        return "approximately"
    period = "to the month" if when.precision == "month" else "to the year"
    return f"approximately, {period}" if when.approximate else f"only {period}"


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def combine(
    reference: str, pseudonym: str, timelines: Sequence[AgencyTimeline]
) -> CombinedTimeline:
    """Merge the agencies' returns into one attributed timeline in date order.

    Order: by date range (earliest, then latest), exact dates before approximate ones on the same
    range, then agency name, then the agency's own order. Exact-day events of one day from two or
    more agencies share a group number; every other event has a group of its own. Where an agency
    sent several versions, only the highest counts (two returns with one version: ValueError).

    Flags, for the reviewers to reconcile, each with a summary line in ``conflicts``:
    "possible duplicate or differing accounts" when two agencies' same-day accounts share at least
    40% of their significant words; "order uncertain" on an approximate, month- or year-dated event
    whose range contains another agency's exact-day events.
    """
    returns = _latest_returns(timelines)
    placed = sorted(
        (
            (timeline.agency, index, event)
            for timeline in returns
            for index, event in enumerate(timeline.events)
        ),
        key=lambda p: (p[2].date.sort_key, p[2].date.approximate, p[0].casefold(), p[1]),
    )

    # Group: runs of exact-day events on one day; shared only if two agencies are in the run.
    groups: list[int] = []
    group = 0
    position = 0
    while position < len(placed):
        end = position + 1
        first = placed[position][2].date
        if first.is_exact_day:
            while (
                end < len(placed)
                and placed[end][2].date.is_exact_day
                and placed[end][2].date.earliest == first.earliest
            ):
                end += 1
        run = placed[position:end]
        if len({agency.casefold() for agency, _, _ in run}) > 1:
            group += 1
            groups.extend([group] * len(run))
        else:
            for _ in run:
                group += 1
                groups.append(group)
        position = end

    flags: list[list[str]] = [[] for _ in placed]
    conflicts: list[str] = []
    pseudonym_words = frozenset(w.casefold() for w in _WORD.findall(pseudonym))
    words = [_significant_words(event.what_happened, pseudonym_words) for _, _, event in placed]

    for i, (agency_i, _, event_i) in enumerate(placed):
        for j in range(i + 1, len(placed)):
            agency_j = placed[j][0]
            if groups[j] != groups[i]:
                break  # same-day entries are adjacent and share a group
            if agency_i.casefold() == agency_j.casefold():
                continue
            if _similarity(words[i], words[j]) >= SIMILAR_ACCOUNTS:
                day = event_i.date.earliest.isoformat()
                flags[i].append(f"{DUPLICATE_FLAG}: compare with the {agency_j} entry on {day}")
                flags[j].append(f"{DUPLICATE_FLAG}: compare with the {agency_i} entry on {day}")
                line = f"{day}: {agency_i} and {agency_j} may describe the same event differently"
                if line not in conflicts:
                    conflicts.append(line)

    for i, (agency, _, event) in enumerate(placed):
        when = event.date
        if when.is_exact_day:
            continue
        inside = [
            other_agency
            for other_agency, _, other in placed
            if other_agency.casefold() != agency.casefold()
            and other.date.is_exact_day
            and when.earliest <= other.date.earliest <= when.latest
        ]
        if not inside:
            continue
        others = _join(sorted(set(inside), key=str.casefold))
        flags[i].append(
            f"{ORDER_FLAG}: dated {_how_dated(when)} ({when.label}), and {others} "
            "recorded events on exact days in that time"
        )
        conflicts.append(
            f"{when.label}: {agency}'s event is dated {_how_dated(when)}, so its order against "
            f"{len(inside)} exact-dated event{'s' if len(inside) != 1 else ''} from {others} "
            f"between {when.earliest.isoformat()} and {when.latest.isoformat()} is uncertain"
        )

    entries = [
        CombinedEntry(agency=agency, event=event, group=groups[i], flags=flags[i])
        for i, (agency, _, event) in enumerate(placed)
    ]
    return CombinedTimeline(
        reference=reference,
        pseudonym=pseudonym,
        entries=entries,
        groups=group,
        conflicts=conflicts,
        agencies=[t.agency for t in returns],
    )
