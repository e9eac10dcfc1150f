"""The forms behind each gate's Resume button (Prefect RunInput).

They carry decisions, dates and officials' names only: never the subject's identity. Rules a
JSON schema can express (required fields, choices, lengths, a box that must be ticked) are
checked by the Prefect server at resume; rules that need the case (a lead reviewer for a full
review, the panel-copy lead time) are checked by :func:`problems` in the flow, which refuses the
answer and keeps the review at its gate.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from prefect.input import RunInput
from pydantic import Field

Outcome = Literal[
    "full_review", "critical_incident_review", "individual_agency_review", "no_review"
]
Methodology = Literal[
    "SILP (learning event and recall session)",
    "SCIE Learning Together",
    "Welsh practice review model",
    "Root cause analysis",
    "Appreciative inquiry",
    "Other (see rationale)",
]


class CommitteeRecommendation(RunInput):
    """The review committee's recommendation to the chair."""

    recommendation: Literal[
        "full_review",
        "critical_incident_review",
        "individual_agency_review",
        "professional_forum",
        "no_review",
    ] = Field(description="What the committee recommends.")
    criteria_met: bool = Field(description="Does the case meet the statutory criteria?")
    methodology: Methodology | None = Field(default=None, description="Suggested methodology.")
    rationale: str = Field(min_length=10, description="Why, against the criteria.")
    recommended_by: str = Field(min_length=2, description="Committee chair or member recording it.")


class ChairDecision(RunInput):
    """The independent chair's decision whether to initiate a review."""

    decision: Outcome = Field(description="The decision.")
    methodology: Methodology | None = Field(default=None, description="For a review: the method.")
    lead_reviewers: list[str] = Field(
        default_factory=list, description="For a full review: the lead reviewer(s) appointed."
    )
    rationale: str = Field(min_length=10, description="The rationale given to the referrer.")
    decided_by: str = Field(min_length=2, description="The chair's name.")
    decided_on: date = Field(description="The date of the decision.")


class ReviewerAppointment(RunInput):
    """Lead reviewer(s) appointed and their independence confirmed."""

    lead_reviewers: list[str] = Field(min_length=1, description="Lead reviewer(s).")
    independence_confirmed: bool = Field(
        description="Independent of the case and (for a statutory review) of every agency."
    )
    confirmed_by: str = Field(min_length=2, description="Who confirmed it.")


class TimelinesComplete(RunInput):
    """Every timeline is in, or the review proceeds without some, with a reason."""

    proceed_without: list[str] = Field(
        default_factory=list, description="Agencies whose timeline the review proceeds without."
    )
    reason: str = Field(default="", description="Why (required when proceeding without any).")
    learning_event_on: date = Field(description="Date of the learning event (invitations go out).")
    recorded_by: str = Field(min_length=2, description="Business manager.")


class LearningEventHeld(RunInput):
    """The learning event took place."""

    held_on: date = Field(description="When it was held.")
    key_learning: str = Field(min_length=5, description="Key learning identified.")
    good_practice: str = Field(default="", description="Good practice identified.")
    recall_session_on: date = Field(description="Date of the recall session (invitations go out).")
    recorded_by: str = Field(min_length=2, description="Business manager.")


class RecallSessionHeld(RunInput):
    """Practitioners reconvened and tested the draft findings."""

    held_on: date = Field(description="When it was held.")
    corrections: str = Field(default="", description="Corrections to the draft findings.")
    recorded_by: str = Field(min_length=2, description="Business manager.")


class FinalReportApproved(RunInput):
    """The chair approves the final report after it was presented to the board."""

    approved_on: date = Field(description="Date of approval (starts the four-week sign-off clock).")
    recommendations: int = Field(ge=1, description="How many recommendations it makes.")
    approved_by: str = Field(min_length=2, description="The chair's name.")


class ActionPlanSignedOff(RunInput):
    """Member agencies signed off the action plan (or the chair overrides, with a reason)."""

    signed_off_on: date = Field(description="Date of sign-off (or of the override).")
    chair_override: bool = Field(default=False, description="Proceed without every sign-off.")
    override_reason: str = Field(default="", description="Required with an override.")
    recorded_by: str = Field(min_length=2, description="Who records it.")


class PublicationDecision(RunInput):
    """Publish on a date, or decide not to publish (the panel is told why)."""

    publish: bool = Field(description="Publish the anonymised report?")
    publication_on: date | None = Field(default=None, description="Publication date.")
    reasons_not_to_publish: str = Field(default="", description="Required when not publishing.")
    decided_by: str = Field(min_length=2, description="The chair's name.")


class ReviewClosed(RunInput):
    """Every action is done; the performance committee closes the review."""

    all_actions_complete: bool = Field(description="Every action done and impact evaluated.")
    closed_on: date = Field(description="Date of closure.")
    impact_summary: str = Field(min_length=5, description="What changed as a result.")
    recorded_by: str = Field(min_length=2, description="Performance committee chair.")
