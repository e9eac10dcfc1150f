"""Finds a subject's real identity in free text that must carry only the pseudonym."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_MONTHS = [
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


@dataclass(frozen=True)
class KnownIdentity:
    full_name: str
    date_of_birth: date
    nhs_number: str | None = None


def _date_spellings(day: date) -> list[str]:
    month = _MONTHS[day.month - 1]
    return [
        day.isoformat(),
        f"{day.day:02d}/{day.month:02d}/{day.year}",
        f"{day.day}/{day.month}/{day.year}",
        f"{day.day:02d}.{day.month:02d}.{day.year}",
        f"{day.day} {month} {day.year}",
        f"{day.day} {month[:3]} {day.year}",
    ]


def identity_leaks(text: str, identity: KnownIdentity) -> list[str]:
    """What of ``identity`` appears in ``text``: 'name', 'date of birth', 'NHS number'.

    Each part of the real name of three letters or more counts as a whole word, case-blind, so
    a surname on its own is caught.
    """
    found: list[str] = []
    parts = [p for p in re.split(r"[\s\-']+", identity.full_name) if len(p) >= 3]
    if any(re.search(rf"\b{re.escape(p)}\b", text, re.IGNORECASE) for p in parts):
        found.append("name")
    lowered = text.casefold()
    if any(s.casefold() in lowered for s in _date_spellings(identity.date_of_birth)):
        found.append("date of birth")
    if identity.nhs_number and identity.nhs_number in re.sub(r"[\s-]", "", text):
        found.append("NHS number")
    return found
