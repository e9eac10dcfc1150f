"""What each gate's answer carries, and the rules that answer must meet: one class per gate.

The forms behind each Resume button (:mod:`flows.inputs`) are these classes made Prefect
``RunInput``; the stage tasks take these classes, so ``tasks`` never imports ``flows``.

They carry decisions, dates and officials' names only: never the subject's identity. Rules a
JSON schema can express (required fields, choices, lengths) are checked by the Prefect server
at resume. Rules that need the case are each answer's own :meth:`GateAnswer.problems`, given the
:class:`GateFacts` the gate task reads from the case store; an answer with problems is refused
and the gate asks again. Each answer also names who gave it (:attr:`GateAnswer.actor`).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from core.limits import AnswerName, AnswerText, OptionalAnswerText

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


class GateFacts(BaseModel):
    """What a gate's rules need to know of the case: pseudonymised, read when the answer came."""

    reference: str
    pseudonym: str
    outcome: str | None = Field(default=None, description="The chair's decision, once made.")
    involved_agencies: list[str] = Field(default_factory=list)
    awaited_agencies: list[str] = Field(
        default_factory=list, description="Agencies whose timeline is still awaited."
    )
    earliest_publication: date | None = Field(
        default=None, description="Where the panel copy has gone: the first date allowed."
    )


class GateAnswer(BaseModel):
    """An answer to a gate: its fields, who gave it, and the case rules it must meet."""

    actor_field: ClassVar[str]

    @property
    def actor(self) -> str:
        """Who answered (the form's own 'by' field)."""
        return str(getattr(self, self.actor_field))

    def problems(self, facts: GateFacts) -> list[str]:
        """Rules the form's schema cannot express; each names its field. Empty: it stands."""
        return []


class CommitteeRecommendation(GateAnswer):
    """The review committee's recommendation to the chair."""

    actor_field: ClassVar[str] = "recommended_by"

    recommendation: Literal[
        "full_review",
        "critical_incident_review",
        "individual_agency_review",
        "professional_forum",
        "no_review",
    ] = Field(description="What the committee recommends.")
    criteria_met: bool = Field(description="Does the case meet the statutory criteria?")
    methodology: Methodology | None = Field(default=None, description="Suggested methodology.")
    rationale: AnswerText = Field(min_length=10, description="Why, against the criteria.")
    recommended_by: AnswerName = Field(
        min_length=2, description="Committee chair or member recording it."
    )


class ChairDecision(GateAnswer):
    """The independent chair's decision whether to initiate a review."""

    actor_field: ClassVar[str] = "decided_by"

    decision: Outcome = Field(description="The decision.")
    methodology: Methodology | None = Field(default=None, description="For a review: the method.")
    lead_reviewers: list[AnswerName] = Field(
        default_factory=list, description="For a full review: the lead reviewer(s) appointed."
    )
    rationale: AnswerText = Field(min_length=10, description="The rationale given to the referrer.")
    decided_by: AnswerName = Field(min_length=2, description="The chair's name.")
    decided_on: date = Field(description="The date of the decision.")

    def problems(self, facts: GateFacts) -> list[str]:
        found = []
        if self.decision == "full_review":
            if not self.lead_reviewers:
                found.append("lead_reviewers: a full review needs at least one lead reviewer")
            if not self.methodology:
                found.append("methodology: choose the review's methodology")
        return found


class ReviewerAppointment(GateAnswer):
    """Lead reviewer(s) appointed and their independence confirmed."""

    actor_field: ClassVar[str] = "confirmed_by"

    lead_reviewers: list[AnswerName] = Field(min_length=1, description="Lead reviewer(s).")
    independence_confirmed: bool = Field(
        description="Independent of the case and (for a statutory review) of every agency."
    )
    confirmed_by: AnswerName = Field(min_length=2, description="Who confirmed it.")

    def problems(self, facts: GateFacts) -> list[str]:
        if not self.independence_confirmed and facts.outcome == "full_review":
            return [
                "independence_confirmed: a statutory review needs reviewers independent of the case"
            ]
        return []


class TimelinesComplete(GateAnswer):
    """Every timeline is in, or the review proceeds without some, with a reason."""

    actor_field: ClassVar[str] = "recorded_by"

    proceed_without: list[AnswerName] = Field(
        default_factory=list, description="Agencies whose timeline the review proceeds without."
    )
    reason: OptionalAnswerText = Field(
        default="", description="Why (required when proceeding without any)."
    )
    learning_event_on: date = Field(description="Date of the learning event (invitations go out).")
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")

    def problems(self, facts: GateFacts) -> list[str]:
        found = []
        if self.proceed_without and not self.reason:
            found.append("reason: give the reason for proceeding without a timeline")
        skipped = set(self.proceed_without)
        for name in sorted(skipped - set(facts.involved_agencies)):
            found.append(f"proceed_without: {name!r} is not an agency on this review")
        for name in sorted(set(facts.awaited_agencies) - skipped):
            found.append(
                f"proceed_without: {name} has not sent its timeline; wait for it, or list it "
                "here with a reason"
            )
        return found


class LearningEventHeld(GateAnswer):
    """The learning event took place."""

    actor_field: ClassVar[str] = "recorded_by"

    held_on: date = Field(description="When it was held.")
    key_learning: AnswerText = Field(min_length=5, description="Key learning identified.")
    good_practice: OptionalAnswerText = Field(default="", description="Good practice identified.")
    recall_session_on: date = Field(description="Date of the recall session (invitations go out).")
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")


class RecallSessionHeld(GateAnswer):
    """Practitioners reconvened and tested the draft findings."""

    actor_field: ClassVar[str] = "recorded_by"

    held_on: date = Field(description="When it was held.")
    corrections: OptionalAnswerText = Field(
        default="", description="Corrections to the draft findings."
    )
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")


class FinalReportApproved(GateAnswer):
    """The chair approves the final report after it was presented to the board."""

    actor_field: ClassVar[str] = "approved_by"

    approved_on: date = Field(description="Date of approval (starts the four-week sign-off clock).")
    recommendations: int = Field(ge=1, description="How many recommendations it makes.")
    approved_by: AnswerName = Field(min_length=2, description="The chair's name.")


class ActionPlanSignedOff(GateAnswer):
    """Member agencies signed off the action plan (or the chair overrides, with a reason)."""

    actor_field: ClassVar[str] = "recorded_by"

    signed_off_on: date = Field(description="Date of sign-off (or of the override).")
    chair_override: bool = Field(default=False, description="Proceed without every sign-off.")
    override_reason: OptionalAnswerText = Field(
        default="", description="Required with an override."
    )
    recorded_by: AnswerName = Field(min_length=2, description="Who records it.")

    def problems(self, facts: GateFacts) -> list[str]:
        if self.chair_override and not self.override_reason:
            return ["override_reason: an override needs a reason"]
        return []


class PublicationDecision(GateAnswer):
    """Publish on a date, or decide not to publish (the panel is told why)."""

    actor_field: ClassVar[str] = "decided_by"

    publish: bool = Field(description="Publish the anonymised report?")
    publication_on: date | None = Field(default=None, description="Publication date.")
    reasons_not_to_publish: OptionalAnswerText = Field(
        default="", description="Required when not publishing."
    )
    decided_by: AnswerName = Field(min_length=2, description="The chair's name.")

    def problems(self, facts: GateFacts) -> list[str]:
        if not self.publish:
            if self.reasons_not_to_publish:
                return []
            return ["reasons_not_to_publish: give the reasons the national panel will be told"]
        if self.publication_on is None:
            return ["publication_on: give the publication date"]
        earliest = facts.earliest_publication
        if earliest is not None and self.publication_on < earliest:
            return [
                "publication_on: the national panel must have the report first; the earliest "
                f"publication date is {earliest:%A} {earliest.day} {earliest:%B %Y}"
            ]
        return []


class ReviewClosed(GateAnswer):
    """Every action is done; the performance committee closes the review."""

    actor_field: ClassVar[str] = "recorded_by"

    all_actions_complete: bool = Field(description="Every action done and impact evaluated.")
    closed_on: date = Field(description="Date of closure.")
    impact_summary: AnswerText = Field(min_length=5, description="What changed as a result.")
    recorded_by: AnswerName = Field(min_length=2, description="Performance committee chair.")

    def problems(self, facts: GateFacts) -> list[str]:
        if not self.all_actions_complete:
            return ["all_actions_complete: the review closes only when every action is done"]
        return []
