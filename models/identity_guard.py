"""Finds a subject's real identity in free text that must carry only the pseudonym.

The text is indexed once (its words, the dates it mentions, its runs of digits), so checking
one message against many subjects (a digest across reviews) costs one pass over the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Protocol

_MONTHS = {
    name.casefold(): number
    for number, full in enumerate(
        [
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
        ],
        start=1,
    )
    for name in (full, full[:3])
}
_NAME_SPLIT = re.compile(r"[\s\-']+")
_WORD = re.compile(r"\w+")
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DMY = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_D_MONTH_Y = re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3,9})\s+(\d{4})\b")
_DIGIT_RUN = re.compile(r"\d[\d\s-]*\d")


_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


@dataclass(frozen=True)
class KnownIdentity:
    full_name: str
    date_of_birth: date
    nhs_number: str | None = None
    address: str | None = None

    @cached_property
    def address_marks(self) -> tuple[str, ...]:
        """What would give the address away: its first line and its postcode, folded."""
        if not self.address:
            return ()
        marks = [_fold(self.address.split(",")[0])]
        marks += [_fold(p) for p in _POSTCODE.findall(self.address)]
        return tuple(m for m in marks if len(m) >= 5)

    @cached_property
    def address_words(self) -> tuple[frozenset[str], ...]:
        """The words of each address mark: a text lacking one cannot contain the mark."""
        return tuple(frozenset(_WORD.findall(mark)) for mark in self.address_marks)

    @cached_property
    def name_parts(self) -> frozenset[str]:
        """Each part of the real name of three letters or more, case-folded."""
        return frozenset(p.casefold() for p in _NAME_SPLIT.split(self.full_name) if len(p) >= 3)


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


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


class TextIndex:
    """What identity could show through in a text: its words, dates and digit runs.

    The words are read at once; dates, digit runs and the folded text only when a check
    needs them (a long digest is checked against many identities, most of which share no
    word with it)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = frozenset(_WORD.findall(text.casefold()))

    @cached_property
    def dates(self) -> frozenset[date]:
        text = self.text
        found: set[date | None] = set()
        found.update(_safe_date(int(y), int(m), int(d)) for y, m, d in _ISO.findall(text))
        found.update(_safe_date(int(y), int(m), int(d)) for d, m, y in _DMY.findall(text))
        found.update(
            _safe_date(int(y), _MONTHS[m.casefold()], int(d))
            for d, m, y in _D_MONTH_Y.findall(text)
            if m.casefold() in _MONTHS
        )
        return frozenset(d for d in found if d is not None)

    @cached_property
    def digits(self) -> tuple[str, ...]:
        return tuple(re.sub(r"[\s-]", "", run) for run in _DIGIT_RUN.findall(self.text))

    @cached_property
    def folded(self) -> str:
        return f" {_fold(self.text)} "

    def leaks(self, identity: KnownIdentity) -> list[str]:
        """What of ``identity`` appears: 'name', 'date of birth', 'NHS number', 'address'.

        Each part of the real name counts as a whole word, case-blind, so a surname on its own
        is caught; a date of birth in any usual spelling (2022-05-14, 14/05/2022, 14 May 2022);
        the address by its first line ("12 Larkspur Row") or its postcode.
        """
        found: list[str] = []
        if identity.name_parts & self.words:
            found.append("name")
        # Every spelling of a date carries its four-digit year as a word.
        if str(identity.date_of_birth.year) in self.words and identity.date_of_birth in self.dates:
            found.append("date of birth")
        if identity.nhs_number and any(identity.nhs_number in run for run in self.digits):
            found.append("NHS number")
        if any(
            words <= self.words and f" {mark} " in self.folded
            for mark, words in zip(identity.address_marks, identity.address_words, strict=True)
        ):
            found.append("address")
        return found


def identity_leaks(text: str, identity: KnownIdentity) -> list[str]:
    """What of ``identity`` appears in ``text`` (see :meth:`TextIndex.leaks`)."""
    return TextIndex(text).leaks(identity)
