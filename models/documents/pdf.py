"""Every place a PDF holds text, read with pypdf: pages, the Info dictionary and XMP,
annotations, form fields, outline titles, attached files and the text of earlier revisions
left by incremental saves.

An encrypted, damaged or truncated file, or a page that is only an image (a scan with no text
layer), is :class:`~models.documents.reading.Unreadable`: its text cannot all be checked.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from lxml import etree

from models.documents.reading import Places, Reading, Unreadable, read_embedded

MAX_REVISIONS = 20
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_PERSONAL = ("/Author",)


def _reader(data: bytes) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if b"%%EOF" not in data[-2048:]:
        raise Unreadable("is truncated (its end-of-file marker is missing)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Unreadable("is encrypted (password-protected); send it unprotected")
        _ = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as error:
        if isinstance(error, Unreadable):
            raise
        raise Unreadable("is damaged (it cannot be read as a PDF)") from None
    return reader


def _page_texts(reader: Any) -> list[str]:
    texts = []
    for n, page in enumerate(reader.pages, 1):
        try:
            text = page.extract_text() or ""
        except Exception:  # pypdf raises many kinds on a damaged content stream
            raise Unreadable(f"is damaged (page {n} cannot be read)") from None
        if not text.strip() and _has_image(page):
            raise Unreadable(f"page {n} is an image with no text layer (a scan?); send its text")
        texts.append(text)
    return texts


def _has_image(page: Any) -> bool:
    resources = page.get("/Resources") or {}
    xobjects = resources.get("/XObject") or {}
    return any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.values())


def _metadata(reader: Any) -> Places:
    places: Places = []
    for key, value in (reader.metadata or {}).items():
        if str(value).strip():
            places.append((f"document property: {key.lstrip('/').casefold()}", str(value)))
    xmp = reader.trailer["/Root"].get("/Metadata")
    if xmp is not None:
        try:
            root = etree.fromstring(xmp.get_object().get_data(), _PARSER)
            text = "\n".join(t.strip() for t in root.itertext() if t.strip())
        except etree.XMLSyntaxError:
            raise Unreadable("is damaged (its XMP metadata is not well-formed XML)") from None
        if text:
            places.append(("XMP metadata", text))
    return places


def _annotations(reader: Any) -> Iterator[tuple[str, str, bool]]:
    """(place, text, is_comment) of each annotation and its author and link target."""
    for n, page in enumerate(reader.pages, 1):
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            subtype = str(annot.get("/Subtype", ""))
            texts = [str(annot.get(k, "")) for k in ("/Contents", "/T", "/RC", "/Subj")]
            action = annot.get("/A")
            if action is not None:
                texts.append(str(action.get_object().get("/URI", "")))
            text = "\n".join(t for t in texts if t.strip())
            if text and subtype != "/Widget":
                comment = subtype not in {"/Link"}
                yield f"PDF annotation on page {n}", text, comment


def _fields_and_outline(reader: Any) -> Places:
    places: Places = []
    for name, field in (reader.get_fields() or {}).items():
        value = field.get("/V")
        if value is not None and str(value).strip():
            places.append((f"form field {name}", str(value)))
    titles: list[str] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(str(item.get("/Title", "")))

    walk(reader.outline)
    places += [(f"bookmark {n}", title) for n, title in enumerate(titles, 1) if title.strip()]
    return places


def _earlier_revisions(data: bytes, final: list[str]) -> Places:
    """The page text of each earlier revision of an incrementally saved file, where it differs
    from what the file now shows (an incremental save keeps what was deleted)."""
    from pypdf import PdfReader

    ends: list[int] = []
    start = 0
    while (at := data.find(b"%%EOF", start)) != -1 and len(ends) < MAX_REVISIONS:
        ends.append(at + 5)
        start = at + 5
    places: Places = []
    for r, end in enumerate(ends[:-1], 1):
        try:
            pages = [p.extract_text() or "" for p in PdfReader(io.BytesIO(data[:end])).pages]
        except Exception:  # a linearised file's first part is not a whole PDF
            continue
        places += [
            (f"earlier revision {r}, page {n}", text)
            for n, text in enumerate(pages, 1)
            if text.strip() and text not in final
        ]
    return places


def read_pdf(data: bytes, *, depth: int = 0) -> Reading:
    """Every place the PDF holds text, and why it may not be published as it is."""
    reader = _reader(data)
    pages = _page_texts(reader)
    reading = Reading(places=[(f"page {n}", text) for n, text in enumerate(pages, 1)])
    try:
        reading.places += _metadata(reader)
        annotations = list(_annotations(reader))
        reading.places += [(place, text) for place, text, _ in annotations]
        reading.places += _fields_and_outline(reader)
        attachments = dict(reader.attachments)
    except Unreadable:
        raise
    except Exception:  # a damaged dictionary anywhere but the pages
        raise Unreadable(
            "is damaged (its annotations, fields or metadata cannot be read)"
        ) from None
    for name, contents in attachments.items():
        for content in contents:
            reading.extend(read_embedded(f"attachment {name}", name, content, depth + 1))
    earlier = _earlier_revisions(data, pages)
    reading.places += earlier
    reading.hidden += _hidden(reader, annotations, attachments, earlier)
    return reading


def _hidden(
    reader: Any,
    annotations: list[tuple[str, str, bool]],
    attachments: dict[str, Any],
    earlier: Places,
) -> list[str]:
    reasons = []
    if any(comment for _, _, comment in annotations):
        reasons.append("comments (PDF annotations): delete all comments first")
    metadata = reader.metadata or {}
    if any(str(metadata.get(key, "")).strip() for key in _PERSONAL):
        reasons.append("document property: author: remove personal information first")
    if attachments:
        reasons.append("attached files: remove the attachments first")
    if earlier:
        reasons.append("earlier revisions (incremental saves): save a fresh copy first")
    return reasons
