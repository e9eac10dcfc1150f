"""Agency timelines: dates, row validation, CSV and Excel files, identity leaks, templates."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook
from pydantic import ValidationError

from models.identity_guard import KnownIdentity
from models.timeline import (
    COLUMNS,
    SIGNIFICANCE_QUESTIONS,
    EventDate,
    RowProblem,
    TimelineEvent,
    TimelineRejected,
    check_identity,
    events_to_rows,
    parse_event_date,
    parse_rows,
    parse_timeline_file,
    template_csv,
    template_xlsx,
)

SUBJECT = KnownIdentity(full_name="Tyler-Jay Marsden", date_of_birth=date(2022, 5, 14))


def row(**cells: str) -> dict[str, str]:
    """A valid row, with ``cells`` changed."""
    base = {
        "date": "2025-03-14",
        "what_happened": "Home visit; Child T seen with mother",
        "risk": "Low mood",
        "response": "GP told",
        "partnership": "",
        "learning": "",
        "practitioner_role": "health visitor",
        "significance": "Q1",
    }
    base.update(cells)
    return base


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    text = "\r\n".join(lines) + "\r\n"
    return text.encode("utf-8-sig" if bom else "utf-8")


def rejected(excinfo: pytest.ExceptionInfo[TimelineRejected]) -> set[tuple[int, str]]:
    return {(p.row, p.column) for p in excinfo.value.problems}


# --- the six questions -------------------------------------------------------------------------


def test_significance_questions_are_the_six_from_appendix_i_in_the_seed_wording() -> None:
    assert list(SIGNIFICANCE_QUESTIONS) == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"]
    assert SIGNIFICANCE_QUESTIONS["Q1"] == (
        "Is this event one that changed/could have changed your assessment of the situation "
        "for the child?"
    )
    assert SIGNIFICANCE_QUESTIONS["Q3"].startswith("Is this a ‘statutory’ event")
    assert SIGNIFICANCE_QUESTIONS["Q6"] == (
        "Has this event got significance as a learning point for agencies?"
    )


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "earliest", "latest", "precision", "approximate"),
    [
        ("2025-03-14", date(2025, 3, 14), date(2025, 3, 14), "day", False),
        ("14/03/2025", date(2025, 3, 14), date(2025, 3, 14), "day", False),
        ("4/3/2025", date(2025, 3, 4), date(2025, 3, 4), "day", False),
        ("2025-03", date(2025, 3, 1), date(2025, 3, 31), "month", False),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "month", False),
        ("2025", date(2025, 1, 1), date(2025, 12, 31), "year", False),
        ("c. 2025-03-14", date(2025, 3, 14), date(2025, 3, 14), "day", True),
        ("c.2025-03", date(2025, 3, 1), date(2025, 3, 31), "month", True),
        ("circa 2025-03", date(2025, 3, 1), date(2025, 3, 31), "month", True),
        ("approx. 2025-03-14", date(2025, 3, 14), date(2025, 3, 14), "day", True),
        ("C. 14/03/2025", date(2025, 3, 14), date(2025, 3, 14), "day", True),
        ("  2025  ", date(2025, 1, 1), date(2025, 12, 31), "year", False),
    ],
)
def test_every_accepted_date_form_gives_its_range_and_precision(
    text: str, earliest: date, latest: date, precision: str, approximate: bool
) -> None:
    parsed = parse_event_date(text)
    assert (parsed.earliest, parsed.latest) == (earliest, latest)
    assert parsed.precision == precision
    assert parsed.approximate is approximate
    assert parsed.text == text.strip()


@pytest.mark.parametrize(
    "text",
    ["14/13/2025", "2025-02-30", "2025-13", "31/04/2025", "March 2025", "2025/03/14", "c.", ""],
)
def test_a_bad_date_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_event_date(text)
    assert str(excinfo.value) == (
        f"'{text.strip()}' is not a date: use YYYY-MM-DD, YYYY-MM or c. YYYY-MM-DD"
    )


def test_dates_sort_by_start_then_the_narrower_range_first() -> None:
    dates = [parse_event_date(t) for t in ["2025", "2025-03", "2025-01-01", "2024-12-31"]]
    ordered = sorted(dates, key=lambda d: d.sort_key)
    assert [d.text for d in ordered] == ["2024-12-31", "2025-01-01", "2025", "2025-03"]


def test_a_date_has_one_normal_label_whatever_was_written() -> None:
    assert parse_event_date("approx. 14/03/2025").label == "c. 2025-03-14"
    assert parse_event_date("circa 2025-3").label == "c. 2025-03"
    assert parse_event_date("2025").label == "2025"


def test_event_date_is_immutable() -> None:
    parsed = parse_event_date("2025-03-14")
    with pytest.raises(ValidationError):
        parsed.approximate = True  # type: ignore[misc]


# --- one event ---------------------------------------------------------------------------------


def test_an_event_accepts_significance_as_numbers_or_ids_in_any_separator() -> None:
    event = TimelineEvent.model_validate(row(significance="6; q1,3"))
    assert event.significance == ("Q1", "Q3", "Q6")
    assert isinstance(event.date, EventDate)


def test_an_event_takes_a_real_date_as_an_exact_day() -> None:
    event = TimelineEvent.model_validate({**row(), "date": datetime(2025, 3, 14, 10, 30)})
    assert event.date.earliest == date(2025, 3, 14)
    assert event.date.is_exact_day


def test_optional_texts_may_be_empty_but_role_and_what_happened_may_not() -> None:
    event = TimelineEvent.model_validate(row(risk="", response="", partnership="", learning=""))
    assert event.risk == ""
    with pytest.raises(ValidationError):
        TimelineEvent.model_validate(row(practitioner_role="   "))


# --- rows --------------------------------------------------------------------------------------


def test_valid_rows_become_events_in_file_order() -> None:
    events = parse_rows([row(date="2025-04-01"), row(date="2025-03-01")])
    assert [e.date.text for e in events] == ["2025-04-01", "2025-03-01"]


def test_missing_what_happened_is_named_by_spreadsheet_row_and_column() -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows([row(), row(what_happened="  ")])
    assert excinfo.value.problems == [RowProblem(3, "what_happened", "is empty: say what happened")]
    assert str(excinfo.value) == "row 3, column what_happened: is empty: say what happened"


def test_bad_significance_is_named_with_the_value_given() -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows([row(significance="Q7")])
    assert excinfo.value.problems == [
        RowProblem(2, "significance", "'Q7' is not one of the questions Q1 to Q6")
    ]


def test_empty_significance_is_a_problem() -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows([row(significance="")])
    assert rejected(excinfo) == {(2, "significance")}


def test_bad_date_is_named_by_row_and_column() -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows([row(date="14/13/2025")])
    assert str(excinfo.value.problems[0]) == (
        "row 2, column date: '14/13/2025' is not a date: use YYYY-MM-DD, YYYY-MM or c. YYYY-MM-DD"
    )


def test_an_empty_date_says_what_to_give() -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows([row(date=" ")])
    assert excinfo.value.problems == [
        RowProblem(
            2,
            "date",
            "is empty: give the date of the event (use YYYY-MM-DD, YYYY-MM or c. YYYY-MM-DD)",
        )
    ]


def test_an_unknown_column_is_a_header_row_problem() -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows([{**row(), "child_name": "x"}])
    (problem,) = excinfo.value.problems
    assert (problem.row, problem.column) == (1, "child_name")
    assert "is not a timeline column" in problem.problem


def test_a_missing_column_is_reported_once_not_on_every_row() -> None:
    without_role = {k: v for k, v in row().items() if k != "practitioner_role"}
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows([without_role, without_role])
    assert excinfo.value.problems == [
        RowProblem(1, "practitioner_role", "is missing from the header row")
    ]


def test_all_problems_are_reported_together_and_nothing_is_half_accepted() -> None:
    rows = [
        row(),
        row(date="2025-02-30", significance="9"),
        row(what_happened=""),
        {**row(), "notes": "x"},
    ]
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows(rows)
    assert rejected(excinfo) == {
        (1, "notes"),
        (3, "date"),
        (3, "significance"),
        (4, "what_happened"),
    }
    assert len(str(excinfo.value).splitlines()) == 4


def test_blank_rows_are_skipped_but_still_counted_in_row_numbers() -> None:
    blank = dict.fromkeys(COLUMNS, "")
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows([row(), blank, row(what_happened="")])
    assert rejected(excinfo) == {(4, "what_happened")}
    assert len(parse_rows([row(), blank, row()])) == 2


def test_no_events_is_a_problem() -> None:
    blank = dict.fromkeys(COLUMNS, "")
    for rows in ([], [blank]):
        with pytest.raises(TimelineRejected) as excinfo:
            parse_rows(rows)
        assert str(excinfo.value) == "row 2: the timeline has no events; add one row per event"


def test_headings_typed_by_people_match_the_columns_and_problems_use_their_spelling() -> None:
    human = {
        "Date": "2025-03-14",
        "What happened?": "",
        "Risk": "",
        "Response": "",
        "Partnership": "",
        "Learning": "",
        "Practitioner role": "school nurse",
        "Significance": "2",
    }
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows([human])
    assert rejected(excinfo) == {(2, "What happened?")}


def test_first_row_sets_the_numbering() -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_rows([row(what_happened="")], first_row=10)
    assert rejected(excinfo) == {(10, "what_happened")}


def test_row_problem_reads_as_a_spreadsheet_location() -> None:
    assert str(RowProblem(3, "date", "is empty")) == "row 3, column date: is empty"
    assert str(RowProblem(2, "", "no events")) == "row 2: no events"
    assert str(RowProblem(0, "", "not a CSV")) == "not a CSV"
    assert isinstance(TimelineRejected([]), ValueError)


# --- files -------------------------------------------------------------------------------------

HEADER = ",".join(COLUMNS)


def test_a_csv_with_a_byte_order_mark_is_read() -> None:
    data = csv_bytes(HEADER, '2025-03-14,"Seen, with mother",,,,,health visitor,Q1', bom=True)
    (event,) = parse_timeline_file("timeline.csv", data)
    assert event.what_happened == "Seen, with mother"
    assert event.date.earliest == date(2025, 3, 14)


def test_a_csv_without_a_byte_order_mark_is_read() -> None:
    data = csv_bytes(HEADER, "2025-03,Strategy meeting,,,,,social worker,3")
    (event,) = parse_timeline_file("TIMELINE.CSV", data)
    assert event.date.precision == "month"
    assert event.significance == ("Q3",)


def test_a_csv_that_is_not_utf8_is_rejected_with_how_to_save_it() -> None:
    data = (HEADER + "\r\n2025-03-14,Café visit,,,,,nurse,Q1\r\n").encode("cp1252")
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file("timeline.csv", data)
    assert "CSV UTF-8" in str(excinfo.value)


def test_a_csv_with_only_a_header_has_no_events() -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file("timeline.csv", csv_bytes(HEADER))
    assert rejected(excinfo) == {(2, "")}


def test_an_empty_file_is_rejected_as_empty() -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file("timeline.csv", b"")
    assert "the file is empty" in str(excinfo.value)


def test_csv_rows_are_numbered_as_the_spreadsheet_shows_them_with_blank_lines() -> None:
    data = csv_bytes(
        HEADER,
        "2025-03-14,Visit,,,,,nurse,Q1",
        ",,,,,,,",
        "",
        "2025-03-15,,,,,,nurse,Q1",
    )
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file("timeline.csv", data)
    assert rejected(excinfo) == {(5, "what_happened")}


def test_a_csv_cell_under_no_heading_is_reported() -> None:
    data = csv_bytes(HEADER, "2025-03-14,Visit,,,,,nurse,Q1,stray note")
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file("timeline.csv", data)
    assert rejected(excinfo) == {(1, "(untitled column 9)")}


def test_a_duplicated_heading_is_reported() -> None:
    data = csv_bytes(HEADER + ",risk", "2025-03-14,Visit,,,,,nurse,Q1,")
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file("timeline.csv", data)
    assert excinfo.value.problems == [RowProblem(1, "risk", "appears twice; keep one column")]


def test_a_duplicated_heading_in_another_case_does_not_overwrite_the_first_column() -> None:
    data = csv_bytes(HEADER + ",Risk", "2025-03-14,Visit,Low mood,,,,nurse,Q1,other")
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file("timeline.csv", data)
    assert rejected(excinfo) == {(1, "Risk")}
    assert parse_rows([row(risk="Low mood")])[0].risk == "Low mood"


@pytest.mark.parametrize("name", ["timeline.pdf", "timeline.docx", "timeline", "t.csv.txt"])
def test_an_unsupported_file_type_is_rejected(name: str) -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file(name, b"anything")
    assert str(excinfo.value) == f"'{name}' is not a CSV or Excel (.xlsx) file"


def test_an_old_excel_file_is_rejected_with_what_to_do() -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file("timeline.xls", b"\xd0\xcf\x11\xe0")
    assert "save it as .xlsx or CSV" in str(excinfo.value)


@pytest.mark.parametrize("data", [b"not a zip at all", b"PK\x03\x04broken", b""])
def test_a_corrupt_xlsx_is_rejected_not_crashed_on(data: bytes) -> None:
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file("timeline.xlsx", data)
    assert excinfo.value.problems == [
        RowProblem(0, "", "the Excel file cannot be opened; it may be damaged")
    ]


def workbook_bytes(*rows: list[object]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for cells in rows:
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_an_xlsx_with_real_date_cells_and_numbers_is_read_sensibly() -> None:
    data = workbook_bytes(
        list(COLUMNS),
        [datetime(2025, 3, 14, 9, 15), "Visit", None, None, None, None, "nurse", 1],
        [date(2025, 3, 20), "Conference", "", "", "", "", "social worker", "3; 6"],
        [2024, "Moved school", None, None, None, None, "teacher", 2.0],
        [None] * 8,
    )
    events = parse_timeline_file("timeline.xlsx", data)
    assert [e.date.text for e in events] == ["2025-03-14", "2025-03-20", "2024"]
    assert events[0].date.is_exact_day
    assert events[2].date.precision == "year"
    assert [e.significance for e in events] == [("Q1",), ("Q3", "Q6"), ("Q2",)]
    assert events[0].risk == ""


def test_an_xlsx_reads_its_first_sheet_and_numbers_rows_as_excel_does() -> None:
    data = workbook_bytes(list(COLUMNS), [None] * 8, ["2025-13-01", "Visit", *[""] * 4, "x", "Q1"])
    with pytest.raises(TimelineRejected) as excinfo:
        parse_timeline_file("timeline.xlsx", data)
    assert rejected(excinfo) == {(3, "date")}


def test_the_xlsx_template_round_trips_to_the_same_events_as_the_csv_template() -> None:
    from_xlsx = parse_timeline_file("template.xlsx", template_xlsx())
    from_csv = parse_timeline_file("template.csv", template_csv())
    assert from_xlsx == from_csv
    assert len(from_csv) == 1
    assert "Child T" in from_csv[0].what_happened


def test_the_xlsx_template_has_bold_headings_a_date_cell_and_the_questions_sheet() -> None:
    workbook = load_workbook(io.BytesIO(template_xlsx()))
    timeline, questions = workbook.worksheets
    assert [c.value for c in timeline[1]] == list(COLUMNS)
    assert all(c.font.bold for c in timeline[1])
    assert isinstance(timeline["A2"].value, datetime)
    assert questions.title == "Significance"
    listed = {r[0]: r[1] for r in questions.iter_rows(min_row=2, values_only=True)}
    assert listed == SIGNIFICANCE_QUESTIONS


def test_the_csv_template_starts_with_a_byte_order_mark_and_the_columns() -> None:
    data = template_csv()
    assert data.startswith(b"\xef\xbb\xbf" + ",".join(COLUMNS).encode())
    assert data.count(b"\r\n") == 2


def test_events_to_rows_is_the_inverse_of_parse_rows() -> None:
    events = parse_rows([row(date="c. 14/03/2025", significance="6, 1"), row(date="2025")])
    rows = events_to_rows(events)
    assert rows[0]["date"] == "c. 14/03/2025"
    assert rows[0]["significance"] == "Q1, Q6"
    assert list(rows[0]) == list(COLUMNS)
    assert parse_rows(rows) == events


# --- identity ----------------------------------------------------------------------------------


def events_with(**cells: str) -> list[TimelineEvent]:
    return parse_rows([row(), row(**cells)])


def test_the_full_real_name_is_found_and_the_pseudonym_offered() -> None:
    problems = check_identity(
        events_with(what_happened="Tyler-Jay Marsden seen at home"), SUBJECT, pseudonym="Child T"
    )
    assert problems == [
        RowProblem(
            3,
            "what_happened",
            "contains the subject's real name; use the pseudonym (Child T)",
        )
    ]


def test_the_surname_alone_is_found_whatever_its_case() -> None:
    problems = check_identity(
        events_with(learning="the MARSDEN family were not asked"), SUBJECT, pseudonym="Child T"
    )
    assert [(p.row, p.column) for p in problems] == [(3, "learning")]


@pytest.mark.parametrize("spelling", ["2022-05-14", "14/05/2022", "14 May 2022", "14 may 2022"])
def test_the_date_of_birth_is_found_in_its_usual_spellings(spelling: str) -> None:
    problems = check_identity(
        events_with(risk=f"born {spelling}, premature"), SUBJECT, pseudonym="Child T"
    )
    assert problems == [
        RowProblem(3, "risk", "contains the subject's date of birth; leave the date of birth out")
    ]


def test_name_and_date_of_birth_in_one_cell_make_one_problem() -> None:
    problems = check_identity(
        events_with(partnership="Marsden, born 14/05/2022"), SUBJECT, pseudonym="Child T"
    )
    assert problems == [
        RowProblem(
            3,
            "partnership",
            "contains the subject's real name and date of birth; use the pseudonym (Child T); "
            "leave the date of birth out",
        )
    ]


def test_one_problem_per_row_and_column() -> None:
    events = events_with(what_happened="Marsden seen", response="Marsden referred")
    problems = check_identity(events, SUBJECT, pseudonym="Child T")
    assert [(p.row, p.column) for p in problems] == [(3, "what_happened"), (3, "response")]


def test_clean_pseudonymised_text_passes() -> None:
    events = parse_rows([row(), row(what_happened="Child T seen; Marsh Lane clinic, 2022")])
    assert check_identity(events, SUBJECT, pseudonym="Child T") == []


def test_an_event_dated_on_the_birthday_is_not_a_leak() -> None:
    events = parse_rows([row(date="2022-05-14", what_happened="Child T born at term")])
    assert check_identity(events, SUBJECT, pseudonym="Child T") == []
