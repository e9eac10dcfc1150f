"""Producing the committee's quarterly report and the board's annual report pack: compute the
figures (:mod:`models.reports_store`), render them (:mod:`notifications.reports`), keep the
files, and send them to the performance committee.

:func:`keep_report` is the one place the files leave this module: it writes them into a
directory, keeps the PDF in the documents folder (:func:`services.documents.store_file`,
content-addressed, with an audit record of which board, report and period it is), and queues
the report to the committee's address from the board file (the business manager's if none),
once per board, report and period: producing it again re-writes the files and sends nothing.
"""

from __future__ import annotations

from pathlib import Path

from models import store
from models.orm import Board
from models.reports_store import Quarter, annual_report, quarterly_report
from notifications.outbox import queue_message
from notifications.render import RenderedEmail, render
from notifications.reports import ReportFiles, render_annual, render_quarterly
from services.documents import store_file
from services.runtime import Runtime


def produce_quarterly(rt: Runtime, board: str | None, quarter: Quarter, output: Path) -> list[Path]:
    """The performance committee's report for ``quarter`` (HTML, PDF, CSVs) into ``output``,
    kept as a board document and sent to the committee."""
    with rt.sessions() as session:
        found = store.get_board(session, board)
        report = quarterly_report(session, found, quarter)
        board_id = found.id
    red = sum(p.red for p in report.plans)
    summary = (
        f"{len(report.plans)} open plan(s), {len(report.items)} item(s), {red} red, "
        f"{len(report.overdue)} overdue, {len(report.may_close)} the committee may close"
    )
    return keep_report(
        rt,
        render_quarterly(report),
        output,
        board_id=board_id,
        title=f"Action plans: quarterly report {quarter}",
        summary=summary,
    )


def produce_annual(rt: Runtime, board: str | None, year: int, output: Path) -> list[Path]:
    """The board's annual report pack for ``year`` (HTML, PDF, CSVs) into ``output``, kept as
    a board document and sent to the committee."""
    with rt.sessions() as session:
        found = store.get_board(session, board)
        report = annual_report(session, found, year, rt.today())
        board_id = found.id
    summary = (
        f"{report.actions_completed} action(s) completed, {report.actions_overdue} overdue, "
        f"{report.actions_open} open"
    )
    return keep_report(
        rt,
        render_annual(report),
        output,
        board_id=board_id,
        title=f"Annual report pack {year}",
        summary=summary,
    )


def produce_last_quarter(rt: Runtime, output_root: Path) -> list[Path]:
    """The scheduled run: every board's report for the quarter that ended before today, each
    under ``output_root/<board id>/``."""
    today = rt.today()
    quarter = Quarter(today.year, (today.month - 1) // 3 + 1).previous()
    with rt.sessions() as session:
        boards = [(b.id, b.name) for b in store.boards(session)]
    written: list[Path] = []
    for board_id, name in boards:
        written += produce_quarterly(rt, name, quarter, output_root / str(board_id))
    return written


def keep_report(
    rt: Runtime,
    files: ReportFiles,
    output: Path,
    *,
    board_id: int,
    title: str,
    summary: str = "",
) -> list[Path]:
    """Write the report's files into ``output``, keep its PDF as a board document, and queue
    it to the performance committee (see the module docstring). Returns the files written."""
    written = files.write(output)
    sha256 = store_file(rt, files.pdf)
    filename = f"{files.stem}.pdf"
    with rt.sessions.begin() as session:
        board = session.get_one(Board, board_id)
        recipient = board.performance_committee_email or board.business_manager_email
        store.record_audit(
            session,
            review_id=None,
            actor=rt.settings.operator,
            action="board_report_stored",
            detail={"board": board.name, "report": files.stem, "sha256": sha256},
            at=rt.now(),
            key=f"board_report:{board.id}:{files.stem}:{sha256[:16]}",
        )
        facts = {"title": title, "summary": summary, "filename": filename, "sha256": sha256}
        email = render(
            "committee_report", board_name=board.name, reference="", pseudonym="", **facts
        )
        queue_message(
            session,
            key=f"board_report:{board.id}:{files.stem}:{recipient}",
            review_id=None,
            kind="committee_report",
            recipient=recipient,
            # The whole report is the message: the committee reads it without opening a file.
            email=RenderedEmail(subject=email.subject, text=email.text, html=files.html),
            now=rt.now(),
        )
    return written
