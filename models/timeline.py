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
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from core.limits import Name, Text
from models import sheets
from models.identity_guard import KnownIdentity, TextIndex
from models.sheets import (
    RowProblem as RowProblem,  # the timeline problems: imported from here too
)
from models.sheets import (
    TableRejected,
    header_of,
    read_table,
    required,
    template_workbook,
    validate_rows,
    workbook_bytes,
)

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
    what_happened: Annotated[Text, required("say what happened")]
    risk: Text = ""
    response: Text = ""
    partnership: Text = ""
    learning: Text = ""
    practitioner_role: Annotated[
        Name, required("give the role of the practitioner involved, e.g. health visitor")
    ]
    significance: Annotated[tuple[str, ...], BeforeValidator(_significance)]


class TimelineRejected(TableRejected):
    """The timeline was not accepted; ``problems`` lists every reason, one line each."""


def parse_rows(rows: Iterable[Mapping[str, object]], *, first_row: int = 2) -> list[TimelineEvent]:
    """Validate timeline rows (column name -> cell) and return their events, blank rows skipped.

    All or nothing: every problem in every row is collected, then TimelineRejected is raised with
    all of them, so a file is never half accepted. Rows are numbered from ``first_row`` (the first
    data row under a header row 1); a column that is unknown or missing is a row 1 problem; no
    events at all is a problem too. Headings are matched case-blind, so "What happened" will do.
    """
    materialised = list(rows)
    return _parse(header_of(materialised) if materialised else None, materialised, first_row)


def _parse(
    header: Sequence[str] | None, rows: Sequence[Mapping[str, object]], first_row: int
) -> list[TimelineEvent]:
    return validate_rows(
        TimelineEvent,
        COLUMNS,
        header,
        rows,
        first_row=first_row,
        rejected=TimelineRejected,
        not_a_column="is not a timeline column",
        no_rows="the timeline has no events; add one row per event",
    )


def parse_timeline_file(filename: str, data: bytes) -> list[TimelineEvent]:
    """The events in an uploaded timeline: a ``.csv`` (UTF-8, with or without a byte order mark)
    or an ``.xlsx`` workbook (its first sheet, headings in row 1).

    Excel date cells become exact days; whole numbers lose their '.0'. Anything else (another
    file type, a damaged or empty file, a bad row) raises TimelineRejected naming every problem.
    """
    try:
        header, rows = read_table(filename, data, old_excel_hint=True)
    except TableRejected as exc:
        raise TimelineRejected(exc.problems) from None
    return _parse(header, rows, first_row=2)


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
    return sheets.template_csv(COLUMNS, _EXAMPLE)


def template_xlsx() -> bytes:
    """The same template as a workbook: a 'Timeline' sheet (bold headings, the example row with
    a real date cell) and a 'Significance' sheet listing Q1..Q6 in the seed's words.

    The bytes differ between calls only by openpyxl's own save timestamp.
    """
    from openpyxl.styles import Font  # only the Excel template needs it (see models.sheets)

    workbook = template_workbook(
        "Timeline",
        COLUMNS,
        _EXAMPLE,
        typed={"date": date.fromisoformat(_EXAMPLE["date"])},
        widths={"date": 14, "practitioner_role": 22, "significance": 14},
        width=40,
    )
    questions = workbook.create_sheet("Significance")
    questions.append(["id", "question"])
    for cell in questions[1]:
        cell.font = Font(bold=True)
    for qid, text in SIGNIFICANCE_QUESTIONS.items():
        questions.append([qid, text])
    questions.column_dimensions["B"].width = 100
    return workbook_bytes(workbook)


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
