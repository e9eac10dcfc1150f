"""The committee's quarterly report and the board's annual report pack, rendered: one HTML page
(Jinja2, through :func:`notifications.render.render_page`), the same page as PDF (WeasyPrint),
one CSV per table, and charts (matplotlib, Agg, embedded as PNG data URIs) where a picture
reads better than a table.

The figures come from :mod:`models.reports_store`; nothing here reads the store.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from models.reports_store import AnnualReport, QuarterlyReport
from notifications.render import render_page

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display), imported when a chart is drawn:
    with WeasyPrint it is four seconds of start-up every process importing the flows paid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


RAG_COLOURS = {"red": "#c62828", "amber": "#f9a825", "green": "#2e7d32"}
_FORMULA_START = frozenset("=+-@\t\r")


@dataclass
class ReportFiles:
    """A rendered report: ``stem`` names its files (``stem.html``, ``stem.pdf``,
    ``stem-<table>.csv``)."""

    stem: str
    html: str
    pdf: bytes
    tables: dict[str, str] = field(default_factory=dict)

    def write(self, directory: Path) -> list[Path]:
        """Write every file into ``directory`` (created if need be); returns the paths."""
        directory.mkdir(parents=True, exist_ok=True)
        written = [directory / f"{self.stem}.html", directory / f"{self.stem}.pdf"]
        written[0].write_text(self.html, encoding="utf-8")
        written[1].write_bytes(self.pdf)
        for name, text in self.tables.items():
            path = directory / f"{self.stem}-{name}.csv"
            path.write_text(text, encoding="utf-8-sig", newline="")
            written.append(path)
        return written


def _cell(value: object) -> str:
    text = "" if value is None else str(getattr(value, "value", value))
    # Committee members open these in Excel, which runs "=…" as a formula: keep text as text.
    return "'" + text if text[:1] in _FORMULA_START else text


def table_csv(rows: Sequence[BaseModel], columns: Sequence[str]) -> str:
    """Rows as CSV with a header of ``columns`` (an empty table keeps its header)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        data = row.model_dump()
        writer.writerow([_cell(getattr(row, c, data.get(c))) for c in columns])
    return out.getvalue()


RAG_ORDER = ("red", "amber", "green")


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _bar_chart(
    labels: list[str], series: dict[str, tuple[list[int], str]], *, title: str, unit: str
) -> str | None:
    """Horizontal bars, one row per label, the series stacked left to right in their colours
    (a legend when there is more than one series); no chart when there is nothing to show."""
    if not labels:
        return None
    figure, axes = _pyplot().subplots(figsize=(7, 0.6 + 0.45 * len(labels)))
    left = [0] * len(labels)
    for name, (values, colour) in series.items():
        axes.barh(labels, values, left=left, color=colour, label=name)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()
    axes.set_xlabel(unit)
    if len(series) > 1:
        axes.legend(loc="lower right", fontsize=8)
    axes.set_title(title)
    return _png(figure)


def _pdf(html: str) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=html).write_pdf())


ITEM_COLUMNS = (
    "reference",
    "item",
    "recommendation",
    "action",
    "owner",
    "due_on",
    "status",
    "status_last_quarter",
    "rag",
    "changed",
    "evidence",
    "impact",
)


def render_quarterly(report: QuarterlyReport) -> ReportFiles:
    """The performance committee's quarterly report as HTML, PDF and CSV tables (``plans``,
    ``items``, ``overdue``, ``may-close``)."""
    chart = _bar_chart(
        [p.reference for p in report.plans],
        {c: ([getattr(p, c) for p in report.plans], RAG_COLOURS[c]) for c in RAG_ORDER},
        title=f"Action plan items by RAG status, {report.quarter}",
        unit="items",
    )
    html = render_page("quarterly_report.html.j2", report=report, chart=chart)
    return ReportFiles(
        stem=f"quarterly-{report.quarter}",
        html=html,
        pdf=_pdf(html),
        tables={
            "plans": table_csv(
                report.plans,
                (
                    "reference",
                    "regime",
                    "pseudonym",
                    "items",
                    "red",
                    "amber",
                    "green",
                    "done_or_closed",
                ),
            ),
            "items": table_csv(report.items, ITEM_COLUMNS),
            "overdue": table_csv(report.overdue, ITEM_COLUMNS),
            "may-close": table_csv(report.may_close, ITEM_COLUMNS),
        },
    )


CLOCK_COLUMNS = (
    "reference",
    "regime",
    "clock",
    "due_on",
    "met_on",
    "result",
    "days_late",
    "reason",
)
SAR_COLUMNS = (
    "reference",
    "pseudonym",
    "number",
    "finding",
    "intended_outcome",
    "actions",
    "not_implemented_reason",
)


class _Figure(BaseModel):
    figure: str
    value: int


def render_annual(report: AnnualReport) -> ReportFiles:
    """The board's annual report pack as HTML, PDF and CSV tables."""
    html = render_page(
        "annual_report.html.j2",
        report=report,
        clock_chart=_bar_chart(
            [c.clock.split(" (")[0] for c in report.clocks],
            {
                "met": ([c.met for c in report.clocks], RAG_COLOURS["green"]),
                "missed": ([c.missed for c in report.clocks], RAG_COLOURS["red"]),
            },
            title=f"Statutory clocks due in {report.year}: met and missed",
            unit="reviews",
        ),
        theme_chart=_bar_chart(
            list(report.themes_this_year),
            {"reviews": (list(report.themes_this_year.values()), "#37474f")},
            title=f"Learning themes across reviews reported in {report.year}",
            unit="reviews",
        ),
    )
    headline = [
        _Figure(figure="actions completed in the year", value=report.actions_completed),
        _Figure(figure="actions overdue at year end", value=report.actions_overdue),
        _Figure(figure="actions still open at year end", value=report.actions_open),
        _Figure(figure="reviews published", value=len(report.published)),
    ]
    return ReportFiles(
        stem=f"annual-{report.year}",
        html=html,
        pdf=_pdf(html),
        tables={
            "summary": table_csv(headline, ("figure", "value")),
            "referrals": table_csv(report.referrals, ("regime", "outcome", "count")),
            "decisions": table_csv(report.decisions, ("regime", "outcome", "count")),
            "clocks": table_csv(report.clocks, ("clock", "met", "missed", "pending")),
            "clock-detail": table_csv(report.clock_rows, CLOCK_COLUMNS),
            "published": table_csv(
                report.published, ("reference", "regime", "pseudonym", "published_on")
            ),
            "delays": table_csv(
                report.delays,
                (
                    "reference",
                    "regime",
                    "pseudonym",
                    "reason",
                    "start",
                    "end",
                    "days_in_year",
                    "learning_meanwhile",
                ),
            ),
            "actions-by-agency": table_csv(
                report.agencies,
                ("agency", "items", "completed_in_year", "overdue_at_year_end", "signoffs_missing"),
            ),
            "themes": table_csv(report.themes, ("theme", "year", "reviews")),
            "sar-findings": table_csv(report.sar_concluded, SAR_COLUMNS),
            "sar-not-implemented": table_csv(report.sar_not_implemented, SAR_COLUMNS),
        },
    )
