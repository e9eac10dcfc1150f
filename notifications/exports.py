"""Exports of the combined timeline: CSV for reviewers' spreadsheets, an HTML page for the
learning event, and markdown for the run's Prefect artifact (pseudonymised text only)."""

from __future__ import annotations

import csv
import io

from core.markup import escape_markdown
from models.combined_timeline import CSV_COLUMNS, CombinedEntry, CombinedTimeline
from models.timeline import SIGNIFICANCE_QUESTIONS, free_text
from notifications.render import render_page


def _row(entry: CombinedEntry) -> dict[str, str]:
    event = entry.event
    return {
        "group": str(entry.group),
        "date": event.date.label,
        "agency": entry.agency,
        **free_text(event),
        "significance": ", ".join(event.significance),
        "flags": "; ".join(entry.flags),
    }


_FORMULA_START = frozenset("=+-@\t\r")


def _spreadsheet_safe(text: str) -> str:
    # Reviewers open the export in Excel, which runs a cell starting "=", "+", "-" or "@" as a
    # formula; agency text must stay text, so such a cell gets a leading apostrophe.
    return "'" + text if text[:1] in _FORMULA_START else text


def to_csv(combined: CombinedTimeline) -> str:
    """The combined timeline as CSV text, one row per entry, columns as in ``CSV_COLUMNS``.

    Dates are in one spelling ('2025-03-14', 'c. 2025-03'); flags are joined with '; '. A cell
    that Excel would take for a formula is prefixed with an apostrophe.
    """
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for entry in combined.entries:
        writer.writerow({k: _spreadsheet_safe(v) for k, v in _row(entry).items()})
    return out.getvalue()


def to_html(combined: CombinedTimeline) -> str:
    """A standalone page for the learning event: conflicts first, then the table, same-day groups
    boxed together and flagged rows highlighted. Every agency-written value is HTML-escaped."""
    runs: list[list[CombinedEntry]] = []
    for entry in combined.entries:
        if runs and runs[-1][0].group == entry.group:
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return render_page(
        "combined_timeline.html.j2", combined=combined, runs=runs, questions=SIGNIFICANCE_QUESTIONS
    )


def _markdown_cell(text: str) -> str:
    # A pipe would end the cell and a newline the row; markup in agency text must stay text.
    return escape_markdown(text)


_TABLE = ("group", "date", "agency", "what_happened", "flags")
_LABELS = {
    "risk": "Risk",
    "response": "Response",
    "partnership": "Partnership",
    "learning": "Learning",
    "practitioner_role": "Practitioner role",
    "significance": "Significance",
}


def to_markdown(combined: CombinedTimeline) -> str:
    """The combined timeline as markdown for a Prefect artifact: a heading with the reference and
    pseudonym, the conflicts as a list, then a narrow table (group, date, agency, what happened,
    flags) with one row per entry and each entry's other cells below it as a numbered list
    (pipes and markup escaped)."""
    lines = [
        f"## Significant events timeline: {_markdown_cell(combined.reference)} "
        f"({_markdown_cell(combined.pseudonym)})",
        "",
        f"{len(combined.entries)} events from {len(combined.agencies)} agencies "
        f"({_markdown_cell(', '.join(combined.agencies))}).",
        "",
    ]
    if combined.conflicts:
        lines.append("**For the reviewers to reconcile:**")
        lines.append("")
        lines.extend(f"- {_markdown_cell(c)}" for c in combined.conflicts)
        lines.append("")
    # Prefect's artifact page cuts a wide table off on the right: the table keeps the five
    # columns a reader scans (each cell wraps), and each event's other cells follow it as a list.
    lines.append("| " + " | ".join(c.replace("_", " ").capitalize() for c in _TABLE) + " |")
    lines.append("|" + "---|" * len(_TABLE))
    rows = [_row(entry) for entry in combined.entries]
    for row in rows:
        lines.append("| " + " | ".join(_markdown_cell(row[c]) for c in _TABLE) + " |")
    for number, row in enumerate(rows, start=1):
        details = [(c, row[c]) for c in CSV_COLUMNS if c not in _TABLE and row[c].strip()]
        if not details:
            continue
        lines += [
            "",
            f"**{number}. {_markdown_cell(row['date'])}, {_markdown_cell(row['agency'])}**",
        ]
        lines += [f"- {_LABELS.get(c, c)}: {_markdown_cell(text)}" for c, text in details]
    return "\n".join(lines) + "\n"
