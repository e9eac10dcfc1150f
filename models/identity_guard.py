"""Finds a subject's real identity in free text that must carry only the pseudonym.

The text is indexed once (its words, the dates it mentions, its runs of digits, its
postcodes), so checking one message against many subjects (a digest across reviews) costs one
pass over the text. Every index is built over the folded text (:mod:`models.text_fold`), so a
name hidden by a look-alike letter, a zero-width space, markup or a line-end hyphen is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Protocol

from models.surname_words import EVERYDAY_SURNAMES
from models.text_fold import cased_words, fold

_MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_MONTHS = {
    name.casefold(): number
    for number, full in enumerate(_MONTH_NAMES, start=1)
    for name in (full, full[:3], full[:4])
}
_NAME_SPLIT = re.compile(r"[\s\-'._]+")
_WORD = re.compile(r"\w+")
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_MONTH = r"([A-Za-z]{3,9})\.?"
_YEAR = r"(?:,?\s*(\d{4}))?"
_DAY_MONTH = re.compile(rf"\b{_DAY}\s*(?:of\s+)?[\s/.-]*{_MONTH}[\s/.-]*{_YEAR}", re.IGNORECASE)
_MONTH_DAY = re.compile(rf"\b{_MONTH}[\s/.-]*{_DAY}\b{_YEAR}", re.IGNORECASE)
_NUMERIC = re.compile(r"\b(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})\b")
_ISO = re.compile(r"\b(\d{4})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{1,2})\b")
_DIGIT_RUN = re.compile(r"\d[\d\s-]*\d")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)


_STREET_LINE = re.compile(r"^\d+[a-z]?\s+\w{2,}", re.IGNORECASE)
_FLAT_PREFIX = re.compile(
    r"^(?:flat|apartment|apt|unit|room|suite)\s*\w{0,4}\s*[,/]?\s*", re.IGNORECASE
)


def _fold_words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _postcode_key(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


@dataclass(frozen=True)
class KnownIdentity:
    full_name: str
    date_of_birth: date
    nhs_number: str | None = None
    address: str | None = None

    @cached_property
    def address_marks(self) -> tuple[str, ...]:
        """What would give the address away besides its postcode: each of its lines that is a
        house number and a street ("112 Wexcombe Road"), also after a "Flat 9" line or prefix."""
        if not self.address:
            return ()
        marks = []
        for line in re.split(r"[,\n]", self.address):
            line = _FLAT_PREFIX.sub("", line.strip()) if not _STREET_LINE.match(line) else line
            line = _POSTCODE.sub("", line).strip()
            if _STREET_LINE.match(line):
                marks.append(_fold_words(line))
        return tuple(m for m in marks if len(m) >= 5)

    @cached_property
    def postcodes(self) -> frozenset[str]:
        """The address's postcodes, spaces removed, case-folded."""
        return frozenset(_postcode_key(p) for p in _POSTCODE.findall(self.address or ""))

    @cached_property
    def address_words(self) -> tuple[frozenset[str], ...]:
        """The words of each address mark: a text lacking one cannot contain the mark."""
        return tuple(frozenset(_WORD.findall(mark)) for mark in self.address_marks)

    @cached_property
    def name_parts(self) -> frozenset[str]:
        """Each part of the real name of three letters or more, case-folded."""
        return name_parts(self.full_name)


def name_parts(name: str) -> frozenset[str]:
    """Each part of a name of three letters or more, case-folded."""
    return frozenset(p.casefold() for p in _NAME_SPLIT.split(name) if len(p) >= 3)


class _HasIdentity(Protocol):
    full_name: str
    date_of_birth: date
    nhs_number: str | None
    address: str


def identity_of(subject: _HasIdentity) -> KnownIdentity:
    """What the guard looks for, from anything that records a subject (the stored identity,
    or a referral's subject as it comes in)."""
    return KnownIdentity(
        subject.full_name, subject.date_of_birth, subject.nhs_number, subject.address
    )


DayMonthYear = tuple[int, int, int | None]
"""A date as a text gives it: day, month and the year when it is written (None when not)."""


def _year(text: str | None) -> int | None:
    if not text:
        return None
    value = int(text)
    return value if value >= 100 else -value  # a two-digit year is kept negative: 11 -> -11


def _dates_in(text: str) -> set[DayMonthYear]:
    found: set[DayMonthYear] = set()
    for day, month, year in _DAY_MONTH.findall(text):
        if month.casefold() in _MONTHS:
            found.add((int(day), _MONTHS[month.casefold()], _year(year)))
    for month, day, year in _MONTH_DAY.findall(text):
        if month.casefold() in _MONTHS:
            found.add((int(day), _MONTHS[month.casefold()], _year(year)))
    for first, _sep, second, year in _NUMERIC.findall(text):
        # UK day-first and US month-first: the known date of birth matches either reading.
        found.add((int(first), int(second), _year(year)))
        found.add((int(second), int(first), _year(year)))
    for year, _sep, month, day in _ISO.findall(text):
        found.add((int(day), int(month), int(year)))
    return found


def _is_birthday(found: DayMonthYear, born: date) -> bool:
    day, month, year = found
    if (day, month) != (born.day, born.month):
        return False
    return year is None or year == born.year or year == -(born.year % 100)


class TextIndex:
    """What identity could show through in a text: its words, dates, digit runs, postcodes.

    The words are read at once; dates, digit runs and the folded text only when a check
    needs them (a long digest is checked against many identities, most of which share no
    word with it)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.cased_words = cased_words(text)
        self.words = frozenset(w.casefold() for w in self.cased_words)

    @cached_property
    def variants(self) -> tuple[str, ...]:
        return fold(self.text)

    @cached_property
    def dates(self) -> frozenset[DayMonthYear]:
        return frozenset(d for variant in self.variants[::2] for d in _dates_in(variant))

    @cached_property
    def digits(self) -> tuple[str, ...]:
        return tuple(
            re.sub(r"[\s-]", "", run)
            for variant in self.variants[::2]
            for run in _DIGIT_RUN.findall(variant)
        )

    @cached_property
    def postcodes(self) -> frozenset[str]:
        return frozenset(
            _postcode_key(p) for variant in self.variants for p in _POSTCODE.findall(variant)
        )

    @cached_property
    def folded(self) -> str:
        return " ".join(f" {_fold_words(v)} " for v in self.variants)

    def names(self, parts: frozenset[str]) -> bool:
        """Whether a part of a name is a word of the text: case-blind, except that a part
        which is also an everyday word ("Green", "Hope") counts only when capitalised."""
        for part in parts & self.words:
            if part not in EVERYDAY_SURNAMES:
                return True
            if any(w[:1].isupper() and w.casefold() == part for w in self.cased_words):
                return True
        return False

    def leaks(self, identity: KnownIdentity) -> list[str]:
        """What of ``identity`` appears: 'name', 'date of birth', 'NHS number', 'address'.

        Each part of the real name counts as a whole word (see :meth:`names`), so a surname on
        its own is caught; a date of birth in any usual UK, ISO or US spelling (2011-08-05,
        05/08/2011, 05-08-11, 5th August 2011, Aug 5th, 2011, 5 Aug); the address by a house
        number and street line ("112 Wexcombe Road") or its postcode, with or without its space.
        """
        found: list[str] = []
        if self.names(identity.name_parts):
            found.append("name")
        if any(_is_birthday(d, identity.date_of_birth) for d in self.dates):
            found.append("date of birth")
        if identity.nhs_number and any(identity.nhs_number in run for run in self.digits):
            found.append("NHS number")
        if identity.postcodes & self.postcodes or any(
            words <= self.words and f" {mark} " in self.folded
            for mark, words in zip(identity.address_marks, identity.address_words, strict=True)
        ):
            found.append("address")
        return found


def identity_leaks(text: str, identity: KnownIdentity) -> list[str]:
    """What of ``identity`` appears in ``text`` (see :meth:`TextIndex.leaks`)."""
    return TextIndex(text).leaks(identity)
