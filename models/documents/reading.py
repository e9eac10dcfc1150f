"""A document's text place by place, whatever its format, and what it hides.

:func:`read_document` gives a :class:`Reading`: every (place, text) the file holds, and the
reasons it may not be published as it is (tracked changes, comments, hidden text, personal
properties, earlier revisions). A file that cannot be read completely raises
:class:`Unreadable` with one line saying what is wrong: a check that cannot read every place
must not pass the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MARKDOWN = "text/markdown"
TEXT = "text/plain"

Places = list[tuple[str, str]]
_BLANK_LINES = re.compile(r"\n\s*\n")


class Unreadable(ValueError):
    """The file cannot be read completely; the message (one line) says why, without the file's
    name (the caller names it)."""


@dataclass
class Reading:
    """What a document holds: its text by place, and why it may not leave as it is."""

    places: Places = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)

    def extend(self, other: Reading, prefix: str = "") -> None:
        """Add another reading's places and reasons, each under ``prefix`` ("attachment x →")."""
        lead = f"{prefix} → " if prefix else ""
        self.places += [(f"{lead}{place}", text) for place, text in other.places]
        self.hidden += [f"{lead}{reason}" for reason in other.hidden]


def paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines."""
    return [p.strip() for p in _BLANK_LINES.split(text.replace("\r\n", "\n")) if p.strip()]


def read_text(data: bytes) -> Reading:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("is not valid UTF-8 text") from None
    if "\x00" in text:
        raise Unreadable("is not text (it holds NUL bytes)")
    return Reading(places=[(f"paragraph {n}", p) for n, p in enumerate(paragraphs(text), 1)])


def read_document(media_type: str, data: bytes, *, depth: int = 0) -> Reading:
    """Every place ``data`` (of ``media_type``) holds text; :class:`Unreadable` if it cannot be
    read completely (encrypted, damaged, truncated, a scan with no text layer, a zip bomb)."""
    if media_type == PDF:
        from models.documents.pdf import read_pdf

        return read_pdf(data, depth=depth)
    if media_type == DOCX:
        from models.documents.word import read_docx

        return read_docx(data, depth=depth)
    if media_type in {MARKDOWN, TEXT}:
        return read_text(data)
    raise Unreadable(f"is of a type the check cannot read ({media_type})")


def sniff(name: str, data: bytes) -> str | None:
    """The media type of an embedded or attached file, by content (by name for text)."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK") and b"word/document.xml" in data[:65536] + data[-65536:]:
        return DOCX
    if name.lower().endswith((".txt", ".md", ".markdown", ".csv")):
        return TEXT
    return None


def read_embedded(label: str, name: str, data: bytes, depth: int) -> Reading:
    """The reading of a document inside a document, its places under ``label``; a file that
    cannot be read there blocks publication (it may hold anything) rather than failing."""
    from models.documents.word import MAX_DEPTH

    reading = Reading()
    media_type = sniff(name, data)
    if depth > MAX_DEPTH:
        raise Unreadable(f"nests documents more than {MAX_DEPTH} deep")
    if media_type is None:
        reading.hidden.append(f"{label}: cannot be read; remove it first")
        return reading
    try:
        reading.extend(read_document(media_type, data, depth=depth), prefix=label)
    except Unreadable as why:
        reading.hidden.append(f"{label}: {why}; remove it first")
    return reading
