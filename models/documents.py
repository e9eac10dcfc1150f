"""A review's documents, without the database: what a stored document is (its view), the forms
whose answers become documents (terms of reference, learning summary), which files are
accepted, where a file lives under the documents folder, how its text is read place by place,
and what the anonymisation check finds there.

Nothing here touches the database, the clock or the network. A :class:`Hit` says where and what
kind of identity was found ("page 2", "subject's name"), never the identity itself.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core.archives import ArchiveRefused, check_zip
from core.limits import MACRO_SUFFIXES, QUOTE_MAX
from core.names import DocumentKind
from models.identity_guard import KnownIdentity, TextIndex

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
EXTENSIONS = {PDF: ".pdf", DOCX: ".docx", MARKDOWN: ".md", TEXT: ".txt"}
ACCEPTED = "PDF, Word (.docx), Markdown (.md) or plain text (.txt)"

_WORD = re.compile(r"\w+")
_BLANK_LINES = re.compile(r"\n\s*\n")


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
            raise DocumentRefused(str(refused)) from None
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
        raise DocumentRefused(f"file: {filename} is named {suffix} but its content is not")
    raise DocumentRefused(
        f"file: {filename or 'the file'} is not an accepted type; send {ACCEPTED}"
    )


# --- reading the text, place by place --------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _BLANK_LINES.split(text.replace("\r\n", "\n")) if p.strip()]


def text_places(media_type: str, data: bytes) -> list[tuple[str, str]]:
    """The document's text as (place, text) pairs: a PDF page by page ("page 2"), a Word
    document paragraph by paragraph ("paragraph 7", counting the paragraphs that hold text),
    then its tables ("table 1, row 3") and its headers and footers; Markdown and text paragraph
    by paragraph, paragraphs being separated by blank lines."""
    if media_type == PDF:
        # pypdf takes a fifth of a second to import; only the commands that read PDFs load it.
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        return [(f"page {n}", page.extract_text() or "") for n, page in enumerate(reader.pages, 1)]
    if media_type == DOCX:
        return _docx_places(data)
    return [(f"paragraph {n}", p) for n, p in enumerate(_paragraphs(data.decode("utf-8")), 1)]


def _docx_places(data: bytes) -> list[tuple[str, str]]:
    import docx  # python-docx pulls in lxml; loaded only when a Word file is read

    document = docx.Document(io.BytesIO(data))
    body = [p.text for p in document.paragraphs if p.text.strip()]
    places = [(f"paragraph {n}", text) for n, text in enumerate(body, 1)]
    for t, table in enumerate(document.tables, 1):
        for r, row in enumerate(table.rows, 1):
            cells = " | ".join(cell.text for cell in row.cells)
            places.append((f"table {t}, row {r}", cells))
    for s, section in enumerate(document.sections, 1):
        for part, label in ((section.header, "header"), (section.footer, "footer")):
            text = "\n".join(p.text for p in part.paragraphs if p.text.strip())
            if text:
                places.append((f"{label} of section {s}", text))
    return places


# --- the anonymisation check ------------------------------------------------------------------


class Hit(BaseModel):
    """Where identity was found and what kind: never the identity text itself."""

    model_config = ConfigDict(frozen=True)

    place: str
    found: str

    def __str__(self) -> str:
        return f"{self.place}: {self.found}"


class ListedName(BaseModel):
    """A name the board listed for the review, with the role that the hit reports."""

    name: str
    role: str

    @property
    def words(self) -> frozenset[str]:
        """Each word of the name of three letters or more, case-folded, as the subject's name
        is checked: a surname on its own gives a person away."""
        return frozenset(w.casefold() for w in _WORD.findall(self.name) if len(w) >= 3)


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
    (as the identity guard finds them), or a word of a listed name (whole word, case-blind)."""
    hits: list[Hit] = []
    for place, text in places:
        index = TextIndex(text)
        if identity is not None:
            hits += [Hit(place=place, found=_SUBJECT[leak]) for leak in index.leaks(identity)]
        for listed in names:
            if listed.words & index.words:
                hits.append(Hit(place=place, found=f"name listed for the review ({listed.role})"))
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
