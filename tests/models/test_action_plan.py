"""Loading an action plan: every problem named by row and column, nothing stored if one fails,
and the migration matching the ORM."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from models import action_plan_store as plans
from models import store
from models.action_plan import (
    PlanRejected,
    parse_plan_file,
    parse_plan_rows,
    template_csv,
    template_xlsx,
)
from models.db import get_engine
from models.orm import ActionStatus, Base
from services.runtime import Runtime
from tests.helpers import add_example_referral, load_example_board, row_counts
from tests.plan_helpers import GP, POLICE, load_rows, plan_row, record_report, three_item_plan

REPORT_ON = date(2026, 11, 22)


@pytest.fixture
def reference(rt: Runtime) -> str:
    load_example_board(rt)
    reference = add_example_referral(rt)
    record_report(rt, reference, REPORT_ON)
    return reference


def test_migration_0006_matches_the_orm(rt: Runtime) -> None:
    with get_engine(rt.settings.database_url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_a_good_plan_is_stored_with_numbered_items_traced_to_recommendations(
    rt: Runtime, reference: str
) -> None:
    assert three_item_plan(rt, reference) == [1, 2, 3]
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        views = plans.item_views(session, review.id)
        owners = [a.name for a in plans.owner_agencies(session, review.id)]
    assert [(v.number, v.recommendation, v.owner_agency) for v in views] == [
        (1, 1, POLICE),
        (2, 1, GP),
        (3, 2, GP),
    ]
    assert {v.status for v in views} == {ActionStatus.NOT_STARTED}
    assert owners == [POLICE, GP]


def test_a_bad_plan_is_refused_with_row_and_column_and_nothing_stored(
    rt: Runtime, reference: str
) -> None:
    before = row_counts(rt)
    rows = [
        plan_row(1, "Train officers", POLICE, "2027-03-31"),
        plan_row(1, "Train officers", "Northbridge Fire Service", "2027-03-31"),
        plan_row(7, "Audit records", GP, "2027-03-31"),
        plan_row(2, "Audit records", GP, "2026-10-01"),
        plan_row("", "   ", GP, "31/02/2027", impact_measure=""),
        plan_row(1, "train  OFFICERS", POLICE, "2027-04-30"),
    ]
    with pytest.raises(PlanRejected) as refused:
        # Row-level problems (blank cells, a bad date) are found first, all of them at once.
        parse_plan_rows(rows)
    lines = [str(p) for p in refused.value.problems]
    assert lines == [
        "row 6, column recommendation: is empty: give the number of the recommendation this "
        "item answers",
        "row 6, column action: is empty: say what will be done",
        "row 6, column due_date: '31/02/2027' is not a date: use YYYY-MM-DD or DD/MM/YYYY",
        "row 6, column impact_measure: is empty: say how the impact will be measured",
    ]
    del rows[4]
    with pytest.raises(PlanRejected) as refused:
        load_rows(rt, reference, rows)
    lines = [str(p) for p in refused.value.problems]
    assert lines[0].startswith(
        "row 3, column owner_agency: unknown agency 'Northbridge Fire Service' (known: "
    )
    assert "Northbridge Police" in lines[0] and "Riverside GP Practice" in lines[0]
    assert lines[1:] == [
        "row 3, column action: repeats row 2 (same recommendation and action)",
        "row 4, column recommendation: no recommendation 7 is recorded for this review "
        "(recorded: 1, 2)",
        "row 5, column due_date: 2026-10-01 is before the final report (2026-11-22)",
        "row 6, column action: repeats row 2 (same recommendation and action)",
    ]
    assert row_counts(rt) == before


def test_an_item_already_in_the_plan_is_a_duplicate(rt: Runtime, reference: str) -> None:
    three_item_plan(rt, reference)
    before = row_counts(rt)
    with pytest.raises(PlanRejected) as refused:
        load_rows(
            rt,
            reference,
            [
                plan_row(2, "A new action", POLICE, "2027-05-01"),
                plan_row(2, "audit follow-up of missed appointments", GP, "2027-05-01"),
            ],
        )
    assert [str(p) for p in refused.value.problems] == [
        "row 3, column action: repeats an item already in the plan for recommendation 2"
    ]
    assert row_counts(rt) == before


def test_a_plan_before_any_recommendation_is_refused(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt)
    with pytest.raises(PlanRejected, match="the final report is not recorded yet"):
        load_rows(rt, reference, [plan_row(1, "Train officers", POLICE, "2027-03-31")])
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_event(session, review_id=review.id, name="final_report", on_date=REPORT_ON)
    with pytest.raises(PlanRejected, match="no recommendations are recorded"):
        load_rows(rt, reference, [plan_row(1, "Train officers", POLICE, "2027-03-31")])


def test_the_templates_load_as_plans() -> None:
    (from_csv,) = parse_plan_file("plan.csv", template_csv())
    (from_xlsx,) = parse_plan_file("plan.xlsx", template_xlsx())
    assert from_csv == from_xlsx
    assert from_csv.due_date == date(2027, 6, 30) and from_csv.recommendation == 1


def test_an_excel_plan_names_the_column_as_headed() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        ["Recommendation", "Action", "Owner agency", "Intended outcome", "Due date", "Colour"]
    )
    sheet.append(["R1", "Train officers", POLICE, "Better referrals", date(2027, 1, 5), "red"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(PlanRejected) as refused:
        parse_plan_file("plan.xlsx", out.getvalue())
    assert [str(p) for p in refused.value.problems] == [
        "row 1, column Colour: is not an action plan column; the columns are recommendation, "
        "action, owner_agency, intended_outcome, due_date, impact_measure",
        "row 1, column impact_measure: is missing from the header row",
    ]


def test_a_recommendation_number_is_recorded_once(rt: Runtime, reference: str) -> None:
    with pytest.raises(store.InputRejected) as refused, rt.sessions.begin() as session:
        plans.add_recommendation(
            session,
            review=store.get_review(session, reference),
            number=2,
            text=" ",
            intended_outcome="x",
            timescale="y",
            actor="test",
            now=rt.now(),
        )
    assert [str(p) for p in refused.value.problems] == [
        "number: recommendation 2 is already recorded",
        "text: is empty",
    ]
