"""A review's action plan as the business manager loads it: one item per row, each answering a
recommendation recorded at the final report (Wirral framework s.5, s.8, s.9; Welsh handout).

Columns: the recommendation's number, the action, the owner agency, the intended outcome, the due
date and the impact measure. A CSV or an Excel workbook becomes validated :class:`PlanItem`
objects, or the whole file is refused with every problem named by row and column, as a
spreadsheet shows them (like the agency timelines, :mod:`models.timeline`).

:func:`check_plan` adds the checks that need the review: the owner is one of the board's
agencies, the recommendation is recorded, the due date is not before the final report, and no
item repeats another. Everything here is pure: no database, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from models import sheets
from models.sheets import RowProblem, TableRejected

COLUMNS: tuple[str, ...] = (
    "recommendation",
    "action",
    "owner_agency",
    "intended_outcome",
    "due_date",
    "impact_measure",
)

DATE_HELP = "use YYYY-MM-DD or DD/MM/YYYY"

_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_RECOMMENDATION = re.compile(r"^(?:r|rec|recommendation)?\s*\.?\s*(\d+)$", re.IGNORECASE)


class PlanRejected(TableRejected):
    """The plan was not accepted; ``problems`` lists every reason, one line each."""


def _due_date(value: object) -> object:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError(f"is empty: give the date the action is due ({DATE_HELP})")
        try:
            if match := _ISO_DAY.match(text):
                return date(int(match[1]), int(match[2]), int(match[3]))
            if match := _UK_DAY.match(text):
                return date(int(match[3]), int(match[2]), int(match[1]))
        except ValueError:
            pass
        raise ValueError(f"'{text}' is not a date: {DATE_HELP}")
    return value


def _recommendation(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("is empty: give the number of the recommendation this item answers")
        match = _RECOMMENDATION.match(text)
        if match is None:
            raise ValueError(f"'{text}' is not a recommendation number (e.g. 2 or R2)")
        return int(match[1])
    return value


def _one_line(value: object) -> object:
    # Text typed into a cell: runs of spaces and line breaks count as one space, so "   " is
    # empty and two spellings of the same action compare equal.
    return " ".join(value.split()) if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_one_line)]


class PlanItem(BaseModel):
    """One action plan item as loaded (the owner agency is the name as written)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recommendation: Annotated[int, BeforeValidator(_recommendation)]
    action: Annotated[Text, sheets.required("say what will be done")]
    owner_agency: Annotated[Text, sheets.required("name the agency that owns the action")]
    intended_outcome: Annotated[Text, sheets.required("say what the action should change")]
    due_date: Annotated[date, BeforeValidator(_due_date)]
    impact_measure: Annotated[Text, sheets.required("say how the impact will be measured")]

    @property
    def duplicate_key(self) -> tuple[int, str]:
        """Two items are the same when they answer the same recommendation with the same
        action (case and spacing aside)."""
        return (self.recommendation, self.action.casefold())


def _parse(
    header: Sequence[str], rows: Sequence[Mapping[str, object]], *, first_row: int
) -> list[PlanItem]:
    return sheets.validate_rows(
        PlanItem,
        COLUMNS,
        header,
        rows,
        first_row=first_row,
        rejected=PlanRejected,
        not_a_column="is not an action plan column",
        no_rows="the plan has no items; add one row per action",
    )


def parse_plan_rows(rows: Iterable[Mapping[str, object]], *, first_row: int = 2) -> list[PlanItem]:
    """Validate plan rows (column name -> cell); all or nothing, every problem named."""
    materialised = list(rows)
    return _parse(sheets.header_of(materialised), materialised, first_row=first_row)


def parse_plan_file(filename: str, data: bytes) -> list[PlanItem]:
    """The items in an action plan file: ``.csv`` (UTF-8) or ``.xlsx`` (first sheet, headings in
    row 1). Raises :class:`PlanRejected` naming every problem by row and column."""
    try:
        header, rows = sheets.read_table(filename, data, old_excel_hint=False)
    except TableRejected as exc:  # the file itself cannot be read: same words apply
        raise PlanRejected(exc.problems) from None
    return _parse(header, rows, first_row=2)


@dataclass(frozen=True)
class CheckedItem:
    """A plan item whose owner is a known agency (its name as the board spells it)."""

    item: PlanItem
    agency: str


def check_plan(
    items: Sequence[PlanItem],
    *,
    agencies: Collection[str],
    recommendations: Collection[int],
    report_on: date | None,
    existing: Iterable[tuple[int, str]] = (),
    first_row: int = 2,
) -> list[CheckedItem]:
    """The checks that need the review, each problem named by row and column (rows numbered
    from ``first_row``): the owner is one of ``agencies`` (the refusal lists them), the item
    answers one of ``recommendations``, it is not due before the final report (``report_on``),
    and it repeats neither another row nor an item already in the plan (``existing``: pairs of
    recommendation number and action text). Raises :class:`PlanRejected`."""
    if report_on is None:
        raise PlanRejected(
            [RowProblem(0, "", "the final report is not recorded yet: a plan follows the report")]
        )
    if not recommendations:
        raise PlanRejected(
            [
                RowProblem(
                    0,
                    "",
                    "no recommendations are recorded for this review: record them first "
                    "('reviews recommendations add')",
                )
            ]
        )
    by_name = {name.casefold(): name for name in agencies}
    known = ", ".join(sorted(agencies))
    numbers = ", ".join(str(n) for n in sorted(recommendations))
    seen = {(number, " ".join(action.split()).casefold()) for number, action in existing}
    first_seen: dict[tuple[int, str], int] = {}
    problems: list[RowProblem] = []
    checked: list[CheckedItem] = []
    for offset, item in enumerate(items):
        row = first_row + offset
        agency = by_name.get(item.owner_agency.casefold())
        if agency is None:
            problems.append(
                RowProblem(
                    row, "owner_agency", f"unknown agency '{item.owner_agency}' (known: {known})"
                )
            )
        if item.recommendation not in recommendations:
            problems.append(
                RowProblem(
                    row,
                    "recommendation",
                    f"no recommendation {item.recommendation} is recorded for this review "
                    f"(recorded: {numbers})",
                )
            )
        if item.due_date < report_on:
            problems.append(
                RowProblem(
                    row,
                    "due_date",
                    f"{item.due_date.isoformat()} is before the final report "
                    f"({report_on.isoformat()})",
                )
            )
        key = item.duplicate_key
        if key in seen:
            problems.append(
                RowProblem(
                    row,
                    "action",
                    f"repeats an item already in the plan for recommendation {item.recommendation}",
                )
            )
        elif key in first_seen:
            problems.append(
                RowProblem(
                    row,
                    "action",
                    f"repeats row {first_seen[key]} (same recommendation and action)",
                )
            )
        else:
            first_seen[key] = row
        if agency is not None:
            checked.append(CheckedItem(item, agency))
    if problems:
        raise PlanRejected(problems)
    return checked


_EXAMPLE: dict[str, Any] = {
    "recommendation": "1",
    "action": "Audit how missed health appointments are followed up with a call to the family",
    "owner_agency": "Riverside GP Practice",
    "intended_outcome": "Every child not brought to two appointments is followed up within a week",
    "due_date": "2027-06-30",
    "impact_measure": "Quarterly audit of 20 records: follow-up recorded in at least 90%",
}


def template_csv() -> bytes:
    """A blank plan: the headings and one fictional example row (UTF-8 with a byte order mark,
    so Excel opens it with the right characters)."""
    return sheets.template_csv(COLUMNS, _EXAMPLE)


def template_xlsx() -> bytes:
    """The same template as a workbook: an 'Action plan' sheet with bold headings and the
    example row (its due date a real date cell)."""
    workbook = sheets.template_workbook(
        "Action plan",
        COLUMNS,
        _EXAMPLE,
        typed={
            "recommendation": int(_EXAMPLE["recommendation"]),
            "due_date": date.fromisoformat(_EXAMPLE["due_date"]),
        },
        widths={"recommendation": 16, "owner_agency": 30, "due_date": 14},
        width=45,
    )
    return sheets.workbook_bytes(workbook)
