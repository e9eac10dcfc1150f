"""The rules every choice of route meets at the committee's and the chair's gates (no server)."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.answers import ChairDecision, CommitteeRecommendation, EventArranged, GateFacts

FACTS = GateFacts(
    reference="SCR-2026-001",
    pseudonym="Child T",
    involved_agencies=["Northbridge Police", "Riverside GP Practice"],
    paths=["full_review", "critical_incident_review", "individual_agency_review", "no_review"],
    methods=["SILP (learning event and recall session)", "Root cause analysis"],
)


def chair(**changes: Any) -> ChairDecision:
    base: dict[str, Any] = {
        "decision": "individual_agency_review",
        "methodology": "Root cause analysis",
        "agency_under_review": "Riverside GP Practice",
        "learning_shared_how": "Learning summary to the performance committee.",
        "rationale": "The learning is limited to one agency.",
        "decided_by": "Independent Chair",
        "decided_on": date(2026, 11, 20),
    }
    return ChairDecision.model_validate(base | changes)


def test_an_individual_agency_review_names_one_involved_agency_and_how_learning_is_shared() -> None:
    assert chair().problems(FACTS) == []
    assert chair(agency_under_review=None, learning_shared_how="").problems(FACTS) == [
        "agency_under_review: name the one agency under review, one of Northbridge Police, "
        "Riverside GP Practice",
        "learning_shared_how: say how the agency's learning will be shared",
    ]
    assert (
        chair(agency_under_review="Northbridge Homes")
        .problems(FACTS)[0]
        .startswith("agency_under_review:")
    )


def test_a_route_needing_a_method_needs_a_known_one() -> None:
    assert chair(methodology=None).problems(FACTS) == [
        "methodology: choose the review's methodology"
    ]
    assert chair(methodology="Tea leaves").problems(FACTS) == [
        "methodology: unknown method 'Tea leaves'; known: SILP (learning event and recall "
        "session), Root cause analysis"
    ]


def test_a_route_the_regime_does_not_offer_is_refused_naming_those_it_does() -> None:
    welsh = FACTS.model_copy(update={"paths": ["concise_review", "professional_forum"]})
    recommendation = CommitteeRecommendation.model_validate(
        {
            "recommendation": "critical_incident_review",
            "criteria_met": False,
            "methodology": "Root cause analysis",
            "rationale": "Below the threshold; learning for several agencies.",
            "recommended_by": "Committee chair",
        }
    )
    assert recommendation.problems(welsh) == [
        "recommendation: critical_incident_review is not a route of this regime; choose one of "
        "concise_review, professional_forum"
    ]
    assert recommendation.problems(FACTS) == []


def test_an_event_needs_its_time_venue_contact_and_a_reply_address() -> None:
    arranged = {
        "on": "2026-12-03",
        "starts_at": "09:30",
        "venue": "Town Hall",
        "contact_name": "Business Manager",
        "reply_to": "bm@board.example",
        "recorded_by": "Business Manager",
    }
    EventArranged.model_validate(arranged)
    for field, bad in (("starts_at", "half nine"), ("reply_to", "do not reply")):
        errors = EventArranged.model_json_schema()["properties"][field]
        assert "pattern" in errors
        try:
            EventArranged.model_validate(arranged | {field: bad})
        except ValueError as exc:
            assert field in str(exc)
        else:
            raise AssertionError(f"{field}={bad!r} was accepted")
