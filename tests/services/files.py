"""Real documents made in the test: a PDF through WeasyPrint, a Word file through python-docx."""

from __future__ import annotations

import html
import io
from typing import Any

import docx

from notifications.pdf import html_to_pdf


def pdf_with_pages(*pages: str) -> bytes:
    """A PDF with one page per text (each page after the first starts on a new page)."""
    body = "".join(
        f'<p style="page-break-before: {"always" if n else "auto"}">{html.escape(text)}</p>'
        for n, text in enumerate(pages)
    )
    return html_to_pdf(f"<!doctype html><html><body>{body}</body></html>")


def docx_with_paragraphs(*paragraphs: str) -> bytes:
    """A Word document with these paragraphs (an empty string is an empty paragraph)."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    return docx_bytes(document)


def docx_bytes(document: Any) -> bytes:
    """The saved Word file, its personal properties blanked as a board's template would have
    them (python-docx writes "python-docx" as the author, which the check blocks)."""
    document.core_properties.author = ""
    document.core_properties.last_modified_by = ""
    document.core_properties.comments = ""
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
