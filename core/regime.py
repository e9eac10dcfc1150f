"""What a regime's pack says beyond its clocks and criteria: the stages it walks, who is told
at each notice, and whether a recorded delay moves its statutory dates.

Pure data (pydantic models read from the rule-pack YAML); no database, no clock.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RecipientRole = Literal[
    "chair",
    "business_manager",
    "national_panel",
    "director_of_childrens_services",
    "director_of_adult_social_services",
    "ofsted",
    "department_for_education",
    "secretary_of_state",
    "welsh_government",
]
"""Who a notice can go to. ``chair``, ``business_manager`` and ``national_panel`` are the board
file's own addresses; the others are in its ``addresses`` map."""

ROLE_TITLES: dict[str, str] = {
    "chair": "the independent chair",
    "business_manager": "the business manager",
    "national_panel": "the national panel",
    "director_of_childrens_services": "the Director of Children's Services",
    "director_of_adult_social_services": "the Director of Adult Social Services",
    "ofsted": "Ofsted",
    "department_for_education": "the Department for Education",
    "secretary_of_state": "the Secretary of State",
    "welsh_government": "the Welsh Government",
}


class Recipients(BaseModel):
    """Who is told, by role, at each notice of a review."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    referral: tuple[RecipientRole, ...] = Field(
        default=(), description="Told when a referral is received."
    )
    decision: tuple[RecipientRole, ...] = Field(
        default=(), description="Told of the decision whether to review."
    )
    final_report: tuple[RecipientRole, ...] = Field(
        default=(), description="Sent the final report before publication."
    )


FamilyStep = Literal["told", "invited", "contributed", "told_before_publication"]
"""The family's involvement, in the order it normally happens: told of the review, invited to
contribute, contributed, told before publication."""

FAMILY_STEPS: tuple[FamilyStep, ...] = ("told", "invited", "contributed", "told_before_publication")
