"""Spreadsheets as people send them: a CSV or an Excel workbook read into header and rows, the
rows validated as a pydantic model, every problem named by row and column as a spreadsheet shows
it (the agency timelines, :mod:`models.timeline`, and the action plans, :mod:`models.action_plan`).

Everything here is pure: no database, no clock, no network.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

from core.archives import ArchiveRefused, check_zip
from core.limits import QUOTE_MAX, SHEET_MAX_CELL_CHARS, SHEET_MAX_COLUMNS, SHEET_MAX_ROWS

Row = TypeVar("Row", bound=BaseModel)


@dataclass(frozen=True)
class RowProblem:
    """Something wrong in a file, placed as a spreadsheet shows it.

    Row 1 is the header row, data starts at row 2; row 0 means the file as a whole. ``column`` is
    empty when the problem is with the whole row or file.
    """

    row: int
    column: str
    problem: str

    def __str__(self) -> str:
        if self.row == 0:
            return self.problem
        if not self.column:
            return f"row {self.row}: {self.problem}"
        return f"row {self.row}, column {self.column}: {self.problem}"


class TableRejected(ValueError):
    """The file was not accepted; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _column_key(heading: str) -> str:
    # Spreadsheet headings are typed by people: "What happened?" means what_happened.
    return re.sub(r"[^0-9a-z]+", "_", heading.casefold()).strip("_")


def _cell_text(value: object) -> str:
    """A cell as text: dates as ISO days, whole numbers without '.0', empty cells as ''."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _problem_text(error: Mapping[str, Any]) -> str:
    # Our validators raise ValueError with the wording we want; pydantic's own messages are a
    # fallback for types a caller in code got wrong.
    ctx = error.get("ctx") or {}
    if error.get("type") == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(error.get("msg", "is not valid"))


def validate_rows(
    model: type[Row],
    columns: Sequence[str],
    header: Sequence[str] | None,
    rows: Sequence[Mapping[str, object]],
    *,
    first_row: int,
    rejected: type[TableRejected],
    not_a_column: str,
    no_rows: str,
) -> list[Row]:
    """Validate ``rows`` under ``header`` (no header: no header checks) as ``model``, one per row
    with anything in it; raise ``rejected`` with every problem if there is any (``not_a_column``
    names an unknown heading, ``no_rows`` a file without a filled row)."""
    problems: list[RowProblem] = []
    column_of: dict[str, str] = {}  # heading as written -> our column name
    heading_of: dict[str, str] = {}  # the reverse
    missing: set[str] = set()
    if header is not None:
        for heading in header:
            key = _column_key(heading)
            if key in columns and key not in column_of.values():
                column_of[heading] = key
            elif key in columns:
                problems.append(RowProblem(1, heading, "appears twice; keep one column"))
            elif heading.strip():
                problems.append(
                    RowProblem(1, heading, f"{not_a_column}; the columns are " + ", ".join(columns))
                )
        missing = set(columns) - set(column_of.values())
        heading_of = {key: heading for heading, key in column_of.items()}
        problems.extend(
            RowProblem(1, name, "is missing from the header row")
            for name in columns
            if name in missing
        )
    valid: list[Row] = []
    filled = 0  # rows with anything in them, valid or not
    for offset, row in enumerate(rows):
        number = first_row + offset
        # A heading that is not (or no longer) a column keeps a key no column can have, so a
        # duplicate "Risk" cannot overwrite the "risk" cell it was reported next to.
        cells = {
            column_of.get(heading, "\0" + heading): _cell_text(value)
            for heading, value in row.items()
            if heading is not None
        }
        if not any(cells.values()):
            continue  # a blank line between rows, or trailing formatted rows in Excel
        filled += 1
        fields = {name: cells.get(name, "") for name in columns if name not in missing}
        try:
            valid.append(model.model_validate(fields))
        except ValidationError as invalid:
            for error in invalid.errors():
                column = str(error["loc"][0]) if error["loc"] else ""
                if column in missing:
                    continue  # already reported once, on the header row
                # Name the column as the file heads it.
                problems.append(
                    RowProblem(number, heading_of.get(column, column), _problem_text(error))
                )
    if not filled:
        problems.append(RowProblem(first_row, "", no_rows))
    if problems:
        raise rejected(problems)
    return valid


def required(what: str) -> AfterValidator:
    """A text cell that may not be empty (``what`` says what to write)."""

    def check(value: str) -> str:
        if not value:
            raise ValueError(f"is empty: {what}")
        return value

    return AfterValidator(check)


def header_of(rows: Sequence[Mapping[str, object]]) -> list[str]:
    """Every heading any row uses, in the order first seen."""
    return list(dict.fromkeys(h for row in rows for h in row if h is not None))


def _rows_from_table(
    table: Sequence[Sequence[object]],
) -> tuple[list[str], list[dict[str, object]]]:
    """Header and mapping rows from a grid of cells; cells under no heading keep their place.

    A column with no heading is dropped if it is empty throughout (Excel's stray formatted cells)
    and otherwise named by its position, so the agency is told about data nobody will read.
    """
    heading_cells = [_cell_text(c) for c in table[0]]
    width = max(len(r) for r in table)
    headings: list[str] = []
    for index in range(width):
        heading = heading_cells[index] if index < len(heading_cells) else ""
        if not heading:
            used = any(index < len(r) and _cell_text(r[index]) for r in table[1:])
            heading = f"(untitled column {index + 1})" if used else ""
        headings.append(heading)
    kept = [i for i, h in enumerate(headings) if h]
    header = [headings[i] for i in kept]
    rows: list[dict[str, object]] = []
    for cells in table[1:]:
        row: dict[str, object] = {}
        for index in kept:
            heading = headings[index]
            value = cells[index] if index < len(cells) else None
            # A duplicated heading keeps the first column; the duplicate is reported on row 1.
            row.setdefault(heading, value)
        rows.append(row)
    return header, rows


def _read_csv(data: bytes) -> list[list[object]]:
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte order mark
    except UnicodeDecodeError:
        raise TableRejected(
            [
                RowProblem(
                    0,
                    "",
                    "the file is not UTF-8 text; in Excel choose Save As 'CSV UTF-8', "
                    "or send the .xlsx workbook",
                )
            ]
        ) from None
    try:
        return _within_limits(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise TableRejected([RowProblem(0, "", f"the CSV file cannot be read: {error}")]) from None


def _within_limits(rows: Iterable[Sequence[object]]) -> list[list[object]]:
    """The rows, refused at the first one past :mod:`core.limits`' row, column or cell limit
    (the message quotes no cell)."""
    table: list[list[object]] = []
    for number, row in enumerate(rows, start=1):
        if number > SHEET_MAX_ROWS:
            raise TableRejected(
                [RowProblem(0, "", f"the file has more than {SHEET_MAX_ROWS:,} rows")]
            )
        cells = list(row)
        used = len(cells)
        while used and cells[used - 1] in (None, ""):
            used -= 1
        if used > SHEET_MAX_COLUMNS:
            raise TableRejected(
                [RowProblem(number, "", f"has more than {SHEET_MAX_COLUMNS} columns")]
            )
        for cell in cells:
            if isinstance(cell, str) and len(cell) > SHEET_MAX_CELL_CHARS:
                raise TableRejected(
                    [
                        RowProblem(
                            number,
                            "",
                            f"a cell holds more than {SHEET_MAX_CELL_CHARS:,} characters "
                            f"(it starts {cell[:QUOTE_MAX]!r})",
                        )
                    ]
                )
        table.append(cells[:SHEET_MAX_COLUMNS])
    return table


def _read_xlsx(data: bytes) -> list[list[object]]:
    # openpyxl takes about 0.15 s to import; only Excel files need it.
    from openpyxl import load_workbook

    if zipfile.is_zipfile(io.BytesIO(data)):  # not a zip at all: openpyxl says so below
        try:
            check_zip(data, what="the Excel file").close()
        except ArchiveRefused as refused:
            raise TableRejected([RowProblem(0, "", str(refused))]) from None
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        # An upload is untrusted and openpyxl fails in many ways on a damaged file (BadZipFile,
        # KeyError, XML errors...); each means the same to the agency, so one plain problem.
        raise TableRejected(
            [RowProblem(0, "", "the Excel file cannot be opened; it may be damaged")]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        # Streamed row by row (read-only mode), and stopped at the first row past a limit.
        return _within_limits(sheet.iter_rows(values_only=True, max_col=SHEET_MAX_COLUMNS + 1))
    except TableRejected:
        raise
    except Exception:
        raise TableRejected(
            [RowProblem(0, "", "the Excel file cannot be read; it may be damaged")]
        ) from None
    finally:
        workbook.close()


def read_table(
    filename: str, data: bytes, *, old_excel_hint: bool
) -> tuple[list[str], list[dict[str, object]]]:
    """Header and rows of a ``.csv`` (UTF-8, with or without a byte order mark) or an ``.xlsx``
    workbook (its first sheet, headings in row 1); with ``old_excel_hint`` a ``.xls`` file is told
    to be saved anew. Raises :class:`TableRejected` for another file type or a damaged or empty
    file."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".csv":
        table = _read_csv(data)
    elif suffix == ".xlsx":
        table = _read_xlsx(data)
    elif suffix == ".xls" and old_excel_hint:
        raise TableRejected(
            [RowProblem(0, "", f"'{filename}' is an old Excel file; save it as .xlsx or CSV")]
        )
    else:
        raise TableRejected([RowProblem(0, "", f"'{filename}' is not a CSV or Excel (.xlsx) file")])
    if not table or not any(_cell_text(c) for c in table[0]):
        raise TableRejected(
            [RowProblem(1, "", "the file is empty; row 1 must hold the column headings")]
        )
    return _rows_from_table(table)


def template_csv(columns: Sequence[str], example: Mapping[str, Any]) -> bytes:
    """A blank file: the headings and one example row (UTF-8 with a byte order mark, so Excel
    opens it with the right characters)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerow([example[c] for c in columns])
    return out.getvalue().encode("utf-8-sig")


def template_workbook(
    title: str,
    columns: Sequence[str],
    example: Mapping[str, object],
    *,
    typed: Mapping[str, object],
    widths: Mapping[str, int],
    width: int,
) -> Any:
    """The template as a workbook: a ``title`` sheet with bold headings and the example row, its
    ``typed`` cells real numbers or dates (a date shown yyyy-mm-dd) instead of the example's
    text, columns ``widths`` wide (else ``width``)."""
    from openpyxl import Workbook  # only the Excel templates need it (see _read_xlsx)
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    # openpyxl stamps "created" from the clock; a fixed value keeps the template reproducible.
    workbook.properties.created = datetime(2025, 1, 1)  # noqa: DTZ001 - a document property
    sheet = workbook.active
    sheet.title = title
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.append([typed.get(c, example[c]) for c in columns])
    for cell in sheet[2]:
        if isinstance(cell.value, datetime | date):
            cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    for index, name in enumerate(columns):
        letter = sheet.cell(row=1, column=index + 1).column_letter
        sheet.column_dimensions[letter].width = widths.get(name, width)
    for cell in sheet[2]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return workbook


def workbook_bytes(workbook: Any) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
