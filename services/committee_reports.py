"""Producing the committee's quarterly report and the board's annual report pack: compute the
figures (:mod:`models.reports_store`), render them (:mod:`notifications.reports`), and keep the
files. :func:`keep_report` is the one place the files leave this module: today it writes them
into a directory; the review document store (issue 10) will be called there too.
"""

from __future__ import annotations

from pathlib import Path

from models import store
from models.reports_store import Quarter, annual_report, quarterly_report
from notifications.reports import ReportFiles, render_annual, render_quarterly
from services.runtime import Runtime


def produce_quarterly(rt: Runtime, board: str | None, quarter: Quarter, output: Path) -> list[Path]:
    """The performance committee's report for ``quarter`` (HTML, PDF, CSVs) into ``output``."""
    with rt.sessions() as session:
        report = quarterly_report(session, store.get_board(session, board), quarter)
    return keep_report(rt, render_quarterly(report), output)


def produce_annual(rt: Runtime, board: str | None, year: int, output: Path) -> list[Path]:
    """The board's annual report pack for ``year`` (HTML, PDF, CSVs) into ``output``."""
    with rt.sessions() as session:
        report = annual_report(session, store.get_board(session, board), year, rt.today())
    return keep_report(rt, render_annual(report), output)


def keep_report(rt: Runtime, files: ReportFiles, output: Path) -> list[Path]:
    """Keep a rendered report: write its files into ``output``. The seam for the document
    store: when ``services.documents`` exists, store ``files.pdf`` here as a board document too
    (board-level reports belong to no single review)."""
    del rt  # the document store will need the runtime's sessions and clock
    return files.write(output)
