"""The committee's form for a case below the statutory threshold is pre-filled with the route the
regime's pack gives it (no Prefect server needed: the flow's pure helper)."""

from __future__ import annotations

from datetime import date

from flows.review import below_threshold
from tasks.common import CaseSummary


def case(met: bool, route: str | None) -> CaseSummary:
    return CaseSummary(
        reference="SCR-2026-001",
        regime="scr",
        pseudonym="Child T",
        board_name="Northbridge",
        summary="…",
        harm="seriously_harmed",
        abuse_or_neglect="suspected",
        interagency_concerns=False,
        criteria_met=met,
        criteria="not met" if not met else "met",
        below_threshold_route=route,
        agencies=["Northbridge Police"],
        parallel_proceedings=[],
        notified_on=date(2026, 11, 2),
        has_panel_notification=True,
        has_panel_copy=True,
    )


def test_a_child_case_below_the_threshold_is_put_to_the_committee_as_a_cir() -> None:
    assert below_threshold(case(False, "critical_incident_review")) == {
        "recommendation": "critical_incident_review",
        "criteria_met": False,
    }


def test_a_welsh_case_below_the_threshold_is_put_as_a_professional_forum() -> None:
    assert below_threshold(case(False, "professional_forum"))["recommendation"] == (
        "professional_forum"
    )


def test_a_case_that_meets_the_criteria_or_is_discretionary_is_not_prefilled() -> None:
    assert below_threshold(case(True, None)) == {}
    assert below_threshold(case(False, "discretionary_review")) == {}
