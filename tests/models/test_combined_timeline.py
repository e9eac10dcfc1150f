"""Combining agency timelines: order, attribution, same-day groups, conflict flags, exports."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from models.combined_timeline import (
    CSV_COLUMNS,
    DUPLICATE_FLAG,
    ORDER_FLAG,
    AgencyTimeline,
    CombinedTimeline,
    combine,
)
from models.timeline import TimelineEvent
from notifications.exports import to_csv, to_html, to_markdown
from notifications.render import human_date

POLICE = "Northbridge Police"
GP = "Riverside GP Practice"
SCHOOL = "Oakfield Primary School"


def event(
    when: str, what: str, *, role: str = "officer", significance: str = "Q1"
) -> TimelineEvent:
    return TimelineEvent.model_validate(
        {
            "date": when,
            "what_happened": what,
            "practitioner_role": role,
            "significance": significance,
        }
    )


def timeline(agency: str, *events: TimelineEvent, version: int = 1) -> AgencyTimeline:
    return AgencyTimeline(
        agency=agency, version=version, submitted_on=date(2025, 6, 1), events=list(events)
    )


def merged(*timelines: AgencyTimeline) -> CombinedTimeline:
    return combine("SCR-2025-007", "Child T", timelines)


def summary(combined: CombinedTimeline) -> list[tuple[int, str, str]]:
    return [(e.group, e.event.date.label, e.agency) for e in combined.entries]


# --- order and attribution ---------------------------------------------------------------------


def test_events_from_all_agencies_are_in_date_order_and_attributed() -> None:
    combined = merged(
        timeline(POLICE, event("2025-04-02", "Arrest of a visitor"), event("2025-01-10", "Call")),
        timeline(GP, event("2025-02-20", "Surgery appointment missed")),
    )
    assert [(e.event.date.label, e.agency) for e in combined.entries] == [
        ("2025-01-10", POLICE),
        ("2025-02-20", GP),
        ("2025-04-02", POLICE),
    ]
    assert combined.agencies == [POLICE, GP]
    assert (combined.reference, combined.pseudonym) == ("SCR-2025-007", "Child T")


def test_an_agency_keeps_its_own_order_for_events_on_one_day() -> None:
    combined = merged(
        timeline(POLICE, event("2025-03-14", "Second call"), event("2025-03-14", "Third call")),
    )
    assert [e.event.what_happened for e in combined.entries] == ["Second call", "Third call"]


def test_approximate_and_partial_dates_sort_by_the_start_of_their_range() -> None:
    combined = merged(
        timeline(POLICE, event("2025-03-20", "Exact in March"), event("2025", "Sometime in 2025")),
        timeline(GP, event("c. 2025-03", "Around March"), event("2025-02-27", "End of February")),
        timeline(SCHOOL, event("c. 2025-03-20", "About the 20th")),
    )
    assert [e.event.date.label for e in combined.entries] == [
        "2025",
        "2025-02-27",
        "c. 2025-03",
        "2025-03-20",
        "c. 2025-03-20",
    ]


def test_the_highest_version_of_an_agency_timeline_replaces_earlier_ones() -> None:
    combined = merged(
        timeline(POLICE, event("2025-01-01", "First draft"), version=1),
        timeline(POLICE, event("2025-01-02", "Corrected"), version=2),
    )
    assert [e.event.what_happened for e in combined.entries] == ["Corrected"]
    assert combined.agencies == [POLICE]


def test_two_returns_with_the_same_version_are_refused() -> None:
    with pytest.raises(ValueError, match="version 1 is given twice"):
        merged(timeline(POLICE, event("2025", "a")), timeline(POLICE, event("2025", "b")))


def test_no_timelines_give_an_empty_combined_timeline() -> None:
    combined = merged()
    assert combined.entries == []
    assert combined.groups == 0
    assert "| Group |" in to_markdown(combined)


# --- same-day groups ---------------------------------------------------------------------------


def test_same_day_events_from_different_agencies_share_a_group() -> None:
    combined = merged(
        timeline(POLICE, event("2025-03-14", "Officers at the house"), event("2025-03-20", "x")),
        timeline(GP, event("2025-03-14", "Mother phoned the surgery")),
        timeline(SCHOOL, event("2025-03-01", "Absent from school")),
    )
    assert summary(combined) == [
        (1, "2025-03-01", SCHOOL),
        (2, "2025-03-14", POLICE),
        (2, "2025-03-14", GP),
        (3, "2025-03-20", POLICE),
    ]
    assert combined.groups == 3


def test_same_day_events_from_one_agency_alone_keep_separate_groups() -> None:
    combined = merged(timeline(POLICE, event("2025-03-14", "Call"), event("2025-03-14", "Visit")))
    assert [e.group for e in combined.entries] == [1, 2]


def test_approximate_or_partial_dates_never_join_a_same_day_group() -> None:
    combined = merged(
        timeline(POLICE, event("2025-03-14", "Officers at the house")),
        timeline(GP, event("c. 2025-03-14", "Mother phoned, date unsure")),
    )
    assert [e.group for e in combined.entries] == [1, 2]


# --- conflicts ---------------------------------------------------------------------------------


def test_similar_same_day_accounts_from_two_agencies_are_flagged_as_possible_duplicates() -> None:
    combined = merged(
        timeline(
            POLICE, event("2025-03-14", "Officers attended home after neighbour reported shouting")
        ),
        timeline(GP, event("2025-03-14", "Neighbour reported shouting, police attended the home")),
    )
    assert all(e.flags and e.flags[0].startswith(DUPLICATE_FLAG) for e in combined.entries)
    assert GP in combined.entries[0].flags[0]
    assert POLICE in combined.entries[1].flags[0]
    assert combined.conflicts == [
        "2025-03-14: Northbridge Police and Riverside GP Practice may describe the same event "
        "differently"
    ]


def test_unrelated_same_day_events_are_grouped_but_not_flagged() -> None:
    combined = merged(
        timeline(POLICE, event("2025-03-14", "Child T was seen with mother at a shop")),
        timeline(GP, event("2025-03-14", "Child T was given a routine immunisation")),
    )
    assert [e.group for e in combined.entries] == [1, 1]
    assert [e.flags for e in combined.entries] == [[], []]
    assert combined.conflicts == []


def test_similar_accounts_from_one_agency_are_not_flagged() -> None:
    text = "Officers attended home after neighbour reported shouting"
    combined = merged(timeline(POLICE, event("2025-03-14", text), event("2025-03-14", text)))
    assert combined.conflicts == []


def test_a_month_dated_event_over_other_agencies_exact_days_is_flagged_order_uncertain() -> None:
    combined = merged(
        timeline(POLICE, event("2025-03-03", "Call"), event("2025-03-28", "Visit")),
        timeline(GP, event("2025-03", "Referral to health visiting")),
    )
    gp_entry = next(e for e in combined.entries if e.agency == GP)
    assert len(gp_entry.flags) == 1
    assert gp_entry.flags[0].startswith(ORDER_FLAG)
    assert POLICE in gp_entry.flags[0]
    assert [e.flags for e in combined.entries if e.agency == POLICE] == [[], []]
    assert combined.conflicts == [
        "2025-03: Riverside GP Practice's event is dated only to the month, so its order "
        "against 2 exact-dated events from Northbridge Police between 2025-03-01 and "
        "2025-03-31 is uncertain"
    ]


def test_an_approximate_day_over_another_agencys_same_day_is_flagged_order_uncertain() -> None:
    combined = merged(
        timeline(POLICE, event("2025-03-14", "Officers at the house")),
        timeline(GP, event("c. 2025-03-14", "Mother phoned")),
    )
    assert combined.entries[1].flags[0].startswith(f"{ORDER_FLAG}: dated approximately")


def test_a_partial_date_with_no_other_agency_events_in_its_range_is_not_flagged() -> None:
    combined = merged(
        timeline(POLICE, event("2025-03", "Month only"), event("2025-03-10", "Own exact day")),
        timeline(GP, event("2025-04-01", "Next month")),
    )
    assert all(e.flags == [] for e in combined.entries)
    assert combined.conflicts == []


def test_a_year_dated_event_names_every_agency_it_overlaps() -> None:
    combined = merged(
        timeline(POLICE, event("2025-01-05", "Call")),
        timeline(SCHOOL, event("2025-09-05", "Started school")),
        timeline(GP, event("c. 2025", "Registered")),
    )
    (flag,) = combined.entries[0].flags
    assert f"{POLICE} and {SCHOOL}" in flag
    assert "approximately, to the year" in flag


# --- exports -----------------------------------------------------------------------------------


def example() -> CombinedTimeline:
    return merged(
        timeline(
            POLICE,
            event("2025-03-14", "Officers attended home after neighbour reported shouting"),
            event("2025-03", "Note said <script>alert('x')</script> | and a pipe"),
        ),
        timeline(GP, event("2025-03-14", "Neighbour reported shouting; police attended home")),
    )


def test_csv_export_has_the_columns_and_one_row_per_entry() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(example()))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["group"], r["date"], r["agency"]) for r in rows] == [
        ("1", "2025-03", POLICE),
        ("2", "2025-03-14", POLICE),
        ("2", "2025-03-14", GP),
    ]
    assert rows[0]["flags"].startswith(ORDER_FLAG)
    assert rows[1]["significance"] == "Q1"


def test_csv_export_keeps_agency_text_from_running_as_a_spreadsheet_formula() -> None:
    combined = merged(timeline(POLICE, event("2025-03-14", '=HYPERLINK("http://x")')))
    (row,) = csv.DictReader(io.StringIO(to_csv(combined)))
    assert row["what_happened"] == '\'=HYPERLINK("http://x")'


def test_html_export_is_a_page_titled_with_reference_and_pseudonym() -> None:
    page = to_html(example())
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Significant events timeline: SCR-2025-007 (Child T)</title>" in page
    assert page.count('<tr class="flagged">') == 3
    assert page.count('<tbody class="same-day">') == 1
    assert "Friday 14 March 2025" in page
    assert "March 2025" in page


def test_html_export_lists_conflicts_before_the_table() -> None:
    page = to_html(example())
    assert page.index("may describe the same event differently") < page.index("<table>")


def test_html_export_escapes_agency_text() -> None:
    page = to_html(example())
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_markdown_export_is_a_pseudonymised_table_with_pipes_escaped() -> None:
    text = to_markdown(example())
    assert text.startswith("## Significant events timeline: SCR-2025-007 (Child T)")
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 2 + 3
    header_cells = table[0].count(" | ")
    assert all(line.replace("\\|", "").count(" | ") == header_cells for line in table[2:])
    assert "\\| and a pipe" in text
    assert "<script>" not in text
    assert "- 2025-03-14: Northbridge Police and Riverside GP Practice" in text


def test_human_dates_read_as_people_write_them() -> None:
    from models.timeline import parse_event_date

    assert human_date(parse_event_date("2025-03-14")) == "Friday 14 March 2025"
    assert human_date(parse_event_date("c. 2025-03")) == "about March 2025"
    assert human_date(parse_event_date("2025")) == "2025"
