"""A review's documents, without the database: what a stored document is (its view), the forms
whose answers become documents (terms of reference, learning summary), which files are
accepted, where a file lives under the documents folder, how its text is read place by place,
and what the anonymisation check finds there.

Nothing here touches the database, the clock or the network. A :class:`Hit` says where and what
kind of identity was found ("page 2", "subject's name"), never the identity itself.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core.archives import ArchiveRefused, check_zip
from core.limits import MACRO_SUFFIXES, QUOTE_MAX
from core.names import DocumentKind
from models.documents.reading import DOCX, MARKDOWN, PDF, TEXT, read_document
from models.identity_guard import KnownIdentity, TextIndex, name_parts

EXTENSIONS = {PDF: ".pdf", DOCX: ".docx", MARKDOWN: ".md", TEXT: ".txt"}
ACCEPTED = "PDF, Word (.docx), Markdown (.md) or plain text (.txt)"


class DocumentRefused(ValueError):
    """A document (or an answer about one) is refused; the message names the field and why."""


# --- what is stored ---------------------------------------------------------------------------


class DocumentView(BaseModel):
    """One stored version of a document: metadata only, no content."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    kind: DocumentKind
    version: int
    filename: str
    media_type: str
    size: int
    sha256: str
    added_by: str
    added_at: datetime

    @property
    def safe_filename(self) -> str:
        """The name the file goes out under: the reference, kind and version, never the
        original name (which a person chose and may carry a real name)."""
        return f"{self.reference}-{self.kind.value}-v{self.version}{EXTENSIONS[self.media_type]}"


class ReviewNameView(BaseModel):
    """A name the board lists for a review: identity, shown only to the business manager."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    role: str
    added_by: str
    added_at: datetime


class DraftCommentView(BaseModel):
    """One agency's factual-accuracy comment on one section of a draft report version."""

    model_config = ConfigDict(from_attributes=True)

    agency: str
    draft_version: int
    section: str
    comment: str
    submitted_at: datetime

    def __str__(self) -> str:
        return f"{self.agency} (draft v{self.draft_version}), {self.section}: {self.comment}"


def blob_path(root: Path, sha256: str) -> Path:
    """Where the file with this SHA-256 lives under the documents folder ``root``."""
    return root / sha256[:2] / sha256


# --- which files are accepted -----------------------------------------------------------------


def _named_as(filename: str, suffix: str, expected: str) -> None:
    # Content and name must agree: PDF bytes named .csv are refused, not stored as a PDF.
    if suffix and suffix != expected:
        raise DocumentRefused(
            f"file: {filename[:QUOTE_MAX]} is named {suffix[:QUOTE_MAX]} but holds a "
            f"{expected} file; name it {expected}"
        )


def media_type_of(filename: str, data: bytes, *, max_bytes: int) -> str:
    """The media type of an acceptable document, or :class:`DocumentRefused` naming the reason.

    PDF and Word files are recognised by their content (``%PDF-``; a zip holding
    ``word/document.xml``), Markdown and text by their name (.md, .txt) and must be UTF-8.
    """
    if not data:
        raise DocumentRefused("file: is empty")
    if len(data) > max_bytes:
        raise DocumentRefused(
            f"file: is {len(data):,} bytes, over the limit of {max_bytes:,} bytes"
        )
    suffix = PurePath(filename).suffix.lower()
    if suffix in MACRO_SUFFIXES:
        raise DocumentRefused(
            f"file: {filename[:QUOTE_MAX]} is a macro-enabled Office file; save it as .docx"
        )
    if data.startswith(b"%PDF-"):
        _named_as(filename, suffix, ".pdf")
        return PDF
    if data.startswith(b"PK") and zipfile.is_zipfile(io.BytesIO(data)):
        try:
            archive = check_zip(data, what="file")
        except ArchiveRefused as refused:
            # One line naming the file: "file: report.docx would unpack to …".
            reason = str(refused).removeprefix("file: ")
            raise DocumentRefused(f"file: {filename[:QUOTE_MAX]} {reason}") from None
        with archive:
            if "word/document.xml" in archive.namelist():
                _named_as(filename, suffix, ".docx")
                return DOCX
        raise DocumentRefused(f"file: is a zip archive but not a Word document; send {ACCEPTED}")
    if suffix in {".md", ".markdown", ".txt"}:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentRefused(f"file: {filename} is not valid UTF-8 text") from None
        if "\x00" in text:
            raise DocumentRefused(f"file: {filename} is not text (it holds NUL bytes)")
        return TEXT if suffix == ".txt" else MARKDOWN
    if suffix in {".pdf", ".docx"}:
        raise DocumentRefused(
            f"file: {filename} is named {suffix} but its content is not (damaged or truncated?)"
        )
    raise DocumentRefused(
        f"file: {filename or 'the file'} is not an accepted type; send {ACCEPTED}"
    )


# --- reading the text, place by place --------------------------------------------------------


def text_places(media_type: str, data: bytes) -> list[tuple[str, str]]:
    """The document's text as (place, text) pairs (see :func:`read_document`)."""
    return read_document(media_type, data).places


# --- the anonymisation check ------------------------------------------------------------------


class Hit(BaseModel):
    """Where identity was found and what kind: never the identity text itself. A hit that is
    not ``clearable`` is hidden data (tracked changes, comments, personal properties) that
    must be removed from the file, not cleared as harmless."""

    model_config = ConfigDict(frozen=True)

    place: str
    found: str
    clearable: bool = True
    cleared_by: str | None = None

    def __str__(self) -> str:
        cleared = f" (cleared as not identifying by {self.cleared_by})" if self.cleared_by else ""
        return f"{self.place}: {self.found}{cleared}"


# Words that name a kind of place, not a place: a listed school "Larkspur Academy" is found by
# "Larkspur", not by "academy trust".
_GENERIC_WORDS = frozenset(
    [
        "academy",
        "school",
        "primary",
        "secondary",
        "junior",
        "infant",
        "infants",
        "nursery",
        "college",
        "high",
        "trust",
        "church",
        "england",
        "saint",
        "st",
        "the",
        "of",
        "and",
        "c",
        "e",
        "ce",
        "rc",
        "catholic",
        "community",
        "centre",
        "center",
        "road",
        "street",
        "lane",
        "avenue",
        "close",
        "house",
        "hospital",
        "surgery",
        "practice",
        "health",
        "centre",
        "clinic",
    ]
)


class ListedName(BaseModel):
    """A name the board listed for the review, with the role that the hit reports."""

    name: str
    role: str

    @property
    def words(self) -> frozenset[str]:
        """Each word of the name of three letters or more, case-folded, as the subject's name
        is checked (a surname on its own gives a person away), less the generic words of an
        institution's name ("academy", "school") when the name has others."""
        parts = name_parts(self.name)
        return parts - _GENERIC_WORDS or parts


_SUBJECT = {
    "name": "subject's name",
    "date of birth": "subject's date of birth",
    "NHS number": "subject's NHS number",
    "address": "subject's address",
}


def find_hits(
    places: Iterable[tuple[str, str]],
    identity: KnownIdentity | None,
    names: Sequence[ListedName] = (),
) -> list[Hit]:
    """Every place whose text holds the subject's name, date of birth, NHS number or address
    (as the identity guard finds them), or a word of a listed name (whole word, case-blind
    except for everyday words, see :meth:`TextIndex.names`)."""
    hits: list[Hit] = []
    for place, text in places:
        index = TextIndex(text)
        if identity is not None:
            hits += [Hit(place=place, found=_SUBJECT[leak]) for leak in index.leaks(identity)]
        for listed in names:
            if index.names(listed.words):
                hits.append(Hit(place=place, found=f"name listed for the review ({listed.role})"))
    return list(dict.fromkeys(hits))


def hidden_data_hits(reasons: Iterable[str]) -> list[Hit]:
    """Hidden data as hits that block release until the file is cleaned ("tracked changes:
    accept or reject all tracked changes first")."""
    hits = []
    for reason in dict.fromkeys(reasons):
        place, _, what = reason.rpartition(": ")
        hits.append(Hit(place=place or "file", found=f"hidden data; {what}", clearable=False))
    return hits


class ReleaseCheck(BaseModel):
    """Whether the newest version of a document may leave the board."""

    reference: str
    kind: DocumentKind
    version: int | None
    sha256: str | None
    may_leave: bool
    why: str
    hits: list[Hit] = Field(default_factory=list)


# --- documents made from forms ----------------------------------------------------------------


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is required")
    return value.strip()


Text = Annotated[str, AfterValidator(_not_blank)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def identity_problems(
        self, identity: KnownIdentity | None, names: Sequence[ListedName] = ()
    ) -> list[str]:
        """One line per field whose text holds identity (the document will leave the board)."""
        problems = []
        for field, value in self.model_dump(mode="json").items():
            hits = find_hits([(field, _flatten(value))], identity, names)
            problems += [f"{field}: holds the {h.found}; use the pseudonym" for h in hits]
        return problems


def _flatten(value: object) -> str:
    if isinstance(value, dict):
        return "\n".join(_flatten(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(_flatten(v) for v in value)
    return str(value)


class Milestone(_Form):
    milestone: Text
    due: date


class TermsOfReference(_Form):
    """The review's terms of reference, set after the reviewers are appointed."""

    period_from: date
    period_to: date
    key_lines_of_enquiry: Annotated[list[Text], Field(min_length=1)]
    agencies_in_scope: Annotated[list[Text], Field(min_length=1)]
    method: Text
    family_involvement: Text
    timetable: Annotated[list[Milestone], Field(min_length=1)]

    @model_validator(mode="after")
    def _period_in_order(self) -> TermsOfReference:
        if self.period_to < self.period_from:
            raise ValueError("period_to: is before period_from")
        return self


class Recommendation(_Form):
    """A recommendation with its intended outcome and timescale (RCSCB note)."""

    recommendation: Text
    intended_outcome: Text
    timescale: Text


# The seeds name Appendix E ("WSCB Learning Summary Template") but carry only a link to the form,
# not its headings. These are the headings the framework's own words ask the summary to cover
# (s.6: "summarise the range and type of learning identified through the review", presented to
# the Performance and the Learning and Development Committees), in one place to change.
LEARNING_SUMMARY_HEADINGS: dict[str, str] = {
    "review": "The review",
    "case_summary": "Summary of the case",
    "key_learning": "Key learning identified",
    "good_practice": "Good practice identified",
    "recommendations": "Recommendations",
    "learning_for_practice": "Learning for practice and training",
    "dissemination": "How the learning will be disseminated",
}


class LearningSummary(_Form):
    """The learning summary's answers, one per heading of :data:`LEARNING_SUMMARY_HEADINGS`."""

    review_type: Text
    methodology: Text
    case_summary: Text
    key_learning: Annotated[list[Text], Field(min_length=1)]
    good_practice: list[Text] = Field(default_factory=list)
    recommendations: Annotated[list[Recommendation], Field(min_length=1)]
    learning_for_practice: Text
    dissemination: Text
