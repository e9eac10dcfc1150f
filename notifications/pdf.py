"""HTML pages to PDF with WeasyPrint (it needs Pango and a font: ``make pdf-libs``)."""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML page (no external resources are fetched)."""
    # WeasyPrint takes about a second to import: only the commands that make a PDF load it.
    from weasyprint import HTML

    pdf: bytes = HTML(string=html, base_url=None, url_fetcher=_fetch_nothing).write_pdf()
    return pdf


def _fetch_nothing(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    # Our pages are self-contained; a URL in one (typed into a form) must not be fetched.
    raise ValueError(f"not fetched: {url[:40]}")
