"""An agency's timeline of significant practice events (Wirral framework Appendix I).

Each agency returns only the events that matter, one per row: when (``date``), what happened, how
risk presented, the agency's response, the multi-agency considerations, the learning opportunity,
the practitioner role involved, and which of the six Appendix I questions makes it significant.
Agencies send the timeline as a CSV or an Excel workbook; this module turns either into validated
:class:`TimelineEvent` objects or rejects the whole file with every problem named by row and column,
as a spreadsheet shows them, so the agency can fix everything in one pass.

Everything here is pure: no database, no clock, no network.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from models.identity_guard import KnownIdentity, TextIndex

# The six questions, in the seed's own words (Wirral framework, Appendix I: "When preparing SPE
# chronologies agencies should consider the following").
SIGNIFICANCE_QUESTIONS: dict[str, str] = {
    "Q1": "Is this event one that changed/could have changed your assessment of the situation "
    "for the child?",
    "Q2": "Is this event symbolic or indicative of a pattern of events that individually would "
    "not otherwise be considered significant?",
    "Q3": "Is this a ‘statutory’ event e.g. child protection conference, court hearing or similar?",
    "Q4": "Would this have been an event that the child perceived as significant in their life?",
    "Q5": "Would this have been an event that a significant adult would perceive as significant "
    "in their life or the life of the child?",
    "Q6": "Has this event got significance as a learning point for agencies?",
}

# The file's columns, in the order the template gives them.
FREE_TEXT: tuple[str, ...] = (
    "what_happened",
    "risk",
    "response",
    "partnership",
    "learning",
    "practitioner_role",
)
"""The columns an agency writes in its own words."""

COLUMNS: tuple[str, ...] = ("date", *FREE_TEXT, "significance")

DATE_HELP = "use YYYY-MM-DD, YYYY-MM or c. YYYY-MM-DD"

# "c." / "circa" / "approx." mark a date the agency is unsure of; "c" alone is not accepted
# because it is too easily a typo.
_APPROXIMATE = re.compile(
    r"^(?:c\.|ca\.|circa|approx\.?|approximately|about)\s*(?P<rest>.*)$", re.IGNORECASE
)
_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")


class EventDate(BaseModel):
    """When an event happened, as precisely as the agency knows it.

    ``earliest``..``latest`` is the range the event falls in: one day for a dated event, the whole
    month or year otherwise. ``text`` keeps what the agency wrote.
    """

    model_config = ConfigDict(frozen=True)

    text: str
    earliest: date
    latest: date
    precision: Literal["day", "month", "year"]
    approximate: bool

    @property
    def sort_key(self) -> tuple[date, date]:
        """Orders events by the start of their range, then the narrower range first."""
        return (self.earliest, self.latest)

    @property
    def is_exact_day(self) -> bool:
        """A single day the agency is sure of (not approximate, not just a month or year)."""
        return self.precision == "day" and not self.approximate

    @property
    def label(self) -> str:
        """The date in one normal spelling: '2025-03-14', 'c. 2025-03', '2025'."""
        if self.precision == "day":
            core = self.earliest.isoformat()
        elif self.precision == "month":
            core = f"{self.earliest:%Y-%m}"
        else:
            core = f"{self.earliest:%Y}"
        return f"c. {core}" if self.approximate else core


def _not_a_date(text: str) -> ValueError:
    return ValueError(f"'{text}' is not a date: {DATE_HELP}")


def parse_event_date(text: str) -> EventDate:
    """Read a timeline date: ``2025-03-14``, ``14/03/2025`` (day first, as in the UK), ``2025-03``
    (a month), ``2025`` (a year), any of them after ``c.``, ``circa`` or ``approx.``.

    Raises ValueError, with a message an agency can act on, for anything else or an impossible
    date such as 31 February.
    """
    written = text.strip()
    rest = written
    approximate = False
    if match := _APPROXIMATE.match(rest):
        approximate = True
        rest = match["rest"].strip()
    try:
        if match := _ISO_DAY.match(rest):
            day = date(int(match[1]), int(match[2]), int(match[3]))
            return EventDate(
                text=written, earliest=day, latest=day, precision="day", approximate=approximate
            )
        if match := _UK_DAY.match(rest):
            day = date(int(match[3]), int(match[2]), int(match[1]))
            return EventDate(
                text=written, earliest=day, latest=day, precision="day", approximate=approximate
            )
        if match := _ISO_MONTH.match(rest):
            year, month = int(match[1]), int(match[2])
            last = calendar.monthrange(year, month)[1] if 1 <= month <= 12 else 0
            return EventDate(
                text=written,
                earliest=date(year, month, 1),
                latest=date(year, month, last),
                precision="month",
                approximate=approximate,
            )
        if match := _YEAR.match(rest):
            year = int(match[1])
            return EventDate(
                text=written,
                earliest=date(year, 1, 1),
                latest=date(year, 12, 31),
                precision="year",
                approximate=approximate,
            )
    except ValueError:  # date() refusing day 32, month 13, year 0
        raise _not_a_date(written) from None
    raise _not_a_date(written)


def _event_date(value: object) -> object:
    # Callers may hand over a ready EventDate, a date (an Excel cell) or the text of a cell.
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        day = value
        return EventDate(
            text=day.isoformat(), earliest=day, latest=day, precision="day", approximate=False
        )
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"is empty: give the date of the event ({DATE_HELP})")
        return parse_event_date(value)
    return value


def _required(what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not value:
            raise ValueError(f"is empty: {what}")
        return value

    return AfterValidator(check)


def _significance(value: object) -> object:
    # A cell holds "Q1", "q1; Q6", "1, 6"...; a caller in code may give a list or tuple of ids.
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        value = str(int(value))
    if isinstance(value, str):
        parts = [p for p in re.split(r"[,;\s]+", value) if p]
    elif isinstance(value, list | tuple):
        parts = [str(p).strip() for p in value if str(p).strip()]
    else:
        return value
    if not parts:
        raise ValueError("is empty: give the question that makes the event significant (Q1 to Q6)")
    ids: list[str] = []
    for part in parts:
        qid = f"Q{part}" if part.isdigit() else part.upper()
        if qid not in SIGNIFICANCE_QUESTIONS:
            raise ValueError(f"'{part}' is not one of the questions Q1 to Q6")
        if qid not in ids:
            ids.append(qid)
    return tuple(sorted(ids))


class TimelineEvent(BaseModel):
    """One significant practice event as an agency reports it (Wirral Appendix I).

    ``what_happened``, ``practitioner_role`` and at least one significance question are required;
    risk, response, partnership and learning may be left empty (an agency may have no learning to
    offer on an event) and are kept as empty strings.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    date: Annotated[EventDate, BeforeValidator(_event_date)]
    what_happened: Annotated[str, _required("say what happened")]
    risk: str = ""
    response: str = ""
    partnership: str = ""
    learning: str = ""
    practitioner_role: Annotated[
        str, _required("give the role of the practitioner involved, e.g. health visitor")
    ]
    significance: Annotated[tuple[str, ...], BeforeValidator(_significance)]


@dataclass(frozen=True)
class RowProblem:
    """Something wrong in a timeline file, placed as a spreadsheet shows it.

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


class TimelineRejected(ValueError):
    """The timeline was not accepted; ``problems`` lists every reason, one line each."""

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


def _parse(
    header: Sequence[str] | None,
    rows: Sequence[Mapping[str, object]],
    *,
    first_row: int,
    problems: list[RowProblem],
) -> list[TimelineEvent]:
    """Validate rows under ``header``; raise TimelineRejected with ``problems`` and all found."""
    column_of: dict[str, str] = {}  # heading as written -> our column name
    heading_of: dict[str, str] = {}  # the reverse
    missing: set[str] = set()
    if header is not None:
        for heading in header:
            key = _column_key(heading)
            if key in COLUMNS and key not in column_of.values():
                column_of[heading] = key
            elif key in COLUMNS:
                problems.append(RowProblem(1, heading, "appears twice; keep one column"))
            elif heading.strip():
                problems.append(
                    RowProblem(
                        1,
                        heading,
                        "is not a timeline column; the columns are " + ", ".join(COLUMNS),
                    )
                )
        missing = set(COLUMNS) - set(column_of.values())
        heading_of = {key: heading for heading, key in column_of.items()}
        problems.extend(
            RowProblem(1, name, "is missing from the header row")
            for name in COLUMNS
            if name in missing
        )
    events: list[TimelineEvent] = []
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
            continue  # a blank line between events, or trailing formatted rows in Excel
        filled += 1
        fields = {name: cells.get(name, "") for name in COLUMNS if name not in missing}
        try:
            events.append(TimelineEvent.model_validate(fields))
        except ValidationError as invalid:
            for error in invalid.errors():
                column = str(error["loc"][0]) if error["loc"] else ""
                if column in missing:
                    continue  # already reported once, on the header row
                # Name the column as the agency's file heads it.
                problems.append(
                    RowProblem(number, heading_of.get(column, column), _problem_text(error))
                )
    if not filled:
        problems.append(
            RowProblem(first_row, "", "the timeline has no events; add one row per event")
        )
    if problems:
        raise TimelineRejected(problems)
    return events


def parse_rows(rows: Iterable[Mapping[str, object]], *, first_row: int = 2) -> list[TimelineEvent]:
    """Validate timeline rows (column name -> cell) and return their events, blank rows skipped.

    All or nothing: every problem in every row is collected, then TimelineRejected is raised with
    all of them, so a file is never half accepted. Rows are numbered from ``first_row`` (the first
    data row under a header row 1); a column that is unknown or missing is a row 1 problem; no
    events at all is a problem too. Headings are matched case-blind, so "What happened" will do.
    """
    materialised = list(rows)
    header: list[str] | None = None
    if materialised:
        # The header is every heading any row uses, in the order first seen.
        header = list(dict.fromkeys(h for row in materialised for h in row if h is not None))
    return _parse(header, materialised, first_row=first_row, problems=[])


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
        raise TimelineRejected(
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
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as error:
        raise TimelineRejected(
            [RowProblem(0, "", f"the CSV file cannot be read: {error}")]
        ) from None


def _read_xlsx(data: bytes) -> list[list[object]]:
    # openpyxl takes about 0.15 s to import; only Excel files need it.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        # An upload is untrusted and openpyxl fails in many ways on a damaged file (BadZipFile,
        # KeyError, XML errors...); each means the same to the agency, so one plain problem.
        raise TimelineRejected(
            [RowProblem(0, "", "the Excel file cannot be opened; it may be damaged")]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    except Exception:
        raise TimelineRejected(
            [RowProblem(0, "", "the Excel file cannot be read; it may be damaged")]
        ) from None
    finally:
        workbook.close()


def parse_timeline_file(filename: str, data: bytes) -> list[TimelineEvent]:
    """The events in an uploaded timeline: a ``.csv`` (UTF-8, with or without a byte order mark)
    or an ``.xlsx`` workbook (its first sheet, headings in row 1).

    Excel date cells become exact days; whole numbers lose their '.0'. Anything else (another
    file type, a damaged or empty file, a bad row) raises TimelineRejected naming every problem.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".csv":
        table = _read_csv(data)
    elif suffix == ".xlsx":
        table = _read_xlsx(data)
    elif suffix == ".xls":
        raise TimelineRejected(
            [RowProblem(0, "", f"'{filename}' is an old Excel file; save it as .xlsx or CSV")]
        )
    else:
        raise TimelineRejected(
            [RowProblem(0, "", f"'{filename}' is not a CSV or Excel (.xlsx) file")]
        )
    if not table or not any(_cell_text(c) for c in table[0]):
        raise TimelineRejected(
            [RowProblem(1, "", "the file is empty; row 1 must hold the column headings")]
        )
    header, rows = _rows_from_table(table)
    return _parse(header, rows, first_row=2, problems=[])


def check_identity(
    events: Sequence[TimelineEvent],
    identity: KnownIdentity,
    *,
    pseudonym: str,
    first_row: int = 2,
) -> list[RowProblem]:
    """Where the subject's real name, date of birth, NHS number or address shows in the text.

    One problem per row and column, numbered by the events' position from ``first_row``. The date
    column is not checked: an event may rightly fall on the birthday (the birth itself).
    """
    problems: list[RowProblem] = []
    for offset, event in enumerate(events):
        for column in FREE_TEXT:
            leaks = TextIndex(getattr(event, column)).leaks(identity)
            if not leaks:
                continue
            what = [{"name": "real name"}.get(leak, leak) for leak in leaks]
            advice = []
            if "name" in leaks:
                advice.append(f"use the pseudonym ({pseudonym})")
            if len(what) > len(advice):
                advice.append(
                    "leave the " + " and ".join(w for w in what if w != "real name") + " out"
                )
            problems.append(
                RowProblem(
                    first_row + offset,
                    column,
                    f"contains the subject's {' and '.join(what)}; {'; '.join(advice)}",
                )
            )
    return problems


_EXAMPLE = {
    "date": "2025-03-14",
    "what_happened": "Home visit by the health visitor; Child T seen asleep, mother said she "
    "felt low and was not sleeping",
    "risk": "Maternal low mood with a baby under six months",
    "response": "Edinburgh scale completed; GP told the same day",
    "partnership": "No contact made with the children's centre Child T attends",
    "learning": "Whether low mood was shared with the family support worker",
    "practitioner_role": "health visitor",
    "significance": "Q1, Q6",
}


def check_plausible(
    events: Sequence[TimelineEvent], *, today: date, first_row: int = 2
) -> list[RowProblem]:
    """Events that cannot be a real return: dated after ``today``, or the template's own
    example row left in. Numbered by the events' position from ``first_row``."""
    problems: list[RowProblem] = []
    for offset, event in enumerate(events):
        row = first_row + offset
        if event.date.earliest > today:
            problems.append(RowProblem(row, "date", f"is after today ({today.isoformat()})"))
        if event.what_happened == _EXAMPLE["what_happened"]:
            problems.append(
                RowProblem(
                    row,
                    "",
                    "is the template's example: delete it and give your agency's own events",
                )
            )
    return problems


def template_csv() -> bytes:
    """A blank timeline to send to agencies: the headings and one fictional example row.

    UTF-8 with a byte order mark, so Excel opens it with the right characters.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerow([_EXAMPLE[c] for c in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """The same template as a workbook: a 'Timeline' sheet (bold headings, the example row with
    a real date cell) and a 'Significance' sheet listing Q1..Q6 in the seed's words.

    The bytes differ between calls only by openpyxl's own save timestamp.
    """
    from openpyxl import Workbook  # only the Excel template needs it (see _read_xlsx)
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    # openpyxl stamps "created" from the clock; a fixed value keeps the template reproducible.
    workbook.properties.created = datetime(2025, 1, 1)  # noqa: DTZ001 - a document property
    sheet = workbook.active
    sheet.title = "Timeline"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    example: list[object] = [_EXAMPLE[c] for c in COLUMNS]
    example[0] = date.fromisoformat(_EXAMPLE["date"])
    sheet.append(example)
    sheet["A2"].number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    widths = {"date": 14, "practitioner_role": 22, "significance": 14}
    for index, name in enumerate(COLUMNS):
        letter = sheet.cell(row=1, column=index + 1).column_letter
        sheet.column_dimensions[letter].width = widths.get(name, 40)
    for cell in sheet[2]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")

    questions = workbook.create_sheet("Significance")
    questions.append(["id", "question"])
    for cell in questions[1]:
        cell.font = Font(bold=True)
    for qid, text in SIGNIFICANCE_QUESTIONS.items():
        questions.append([qid, text])
    questions.column_dimensions["B"].width = 100

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def free_text(event: TimelineEvent) -> dict[str, str]:
    """The event's free-text cells, by column."""
    return {column: getattr(event, column) for column in FREE_TEXT}


def events_to_rows(events: Iterable[TimelineEvent]) -> list[dict[str, str]]:
    """The events as file rows (column -> text), the inverse of :func:`parse_rows`.

    The date keeps the agency's spelling; significance ids are joined with ', '.
    """
    return [
        {"date": event.date.text, **free_text(event), "significance": ", ".join(event.significance)}
        for event in events
    ]
