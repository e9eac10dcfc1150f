"""The routes a chair's decision can take, as data (``core/paths.yaml``): what each walks.

Which routes a regime offers is its rule pack's ``paths`` (``core/deadlines/packs/*.yaml``):
England's full, critical incident and individual agency reviews and professional forums; Wales's
concise and extended practice reviews and forums. "No review" is always offered.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal[
    "full_review",
    "critical_incident_review",
    "individual_agency_review",
    "professional_forum",
    "concise_review",
    "extended_review",
    "national_review",
    "no_review",
]
Part = Literal[
    "reviewers",
    "timelines",
    "agency_review",
    "method",
    "forum",
    "report",
    "publication",
    "monitoring",
]


class ReviewPath(BaseModel):
    """One route (see ``core/paths.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: Outcome
    title: str = Field(min_length=1, description="The decision in the referrer's letter.")
    next_steps: str = Field(min_length=1)
    walks: tuple[Part, ...] = ()
    needs_method: bool = False
    keeps: tuple[str, ...] | None = Field(
        default=None, description="The only milestones still owed after the decision."
    )
    closing_note: str = Field(default="closed", description="Recorded when the route closes.")

    @property
    def statutory(self) -> bool:
        """A statutory review (published): its lead reviewers must be independent of the case."""
        return self.has("publication")

    def has(self, part: Part) -> bool:
        """Whether the route walks ``part``."""
        return part in self.walks

    def keeps_milestone(self, milestone: str) -> bool:
        """Whether a statutory milestone is still owed on this route."""
        return self.keeps is None or milestone in self.keeps


@cache
def review_paths() -> dict[str, ReviewPath]:
    """Every route, read once from ``core/paths.yaml``."""
    raw = yaml.safe_load(Path(__file__).with_name("paths.yaml").read_text(encoding="utf-8"))
    return {name: ReviewPath(outcome=name, **spec) for name, spec in raw.items()}


def review_path(outcome: str) -> ReviewPath:
    """The route of a chair's decision."""
    return review_paths()[outcome]
