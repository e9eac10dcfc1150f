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

import typing
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema, field_validator

from core.limits import NAME_MAX, AnswerName, AnswerText, OptionalAnswerText
from core.paths import Outcome, review_path
from models.documents import LearningSummary, Milestone, Recommendation, TermsOfReference

CHOICE_LABELS = {
    "full_review": "Full review (statutory)",
    "critical_incident_review": "Critical incident review",
    "individual_agency_review": "Individual agency review",
    "professional_forum": "Multi-agency professional forum",
    "concise_review": "Concise practice review (Wales)",
    "extended_review": "Extended practice review (Wales)",
    "national_review": "Referral for a national review (national panel)",
    "no_review": "No review",
}
"""What a form shows for each stored choice: the chair reads the label, the case store keeps
the value."""
_CHOICE_VALUES = {label: value for value, label in CHOICE_LABELS.items()}


def _from_label(given: Any) -> Any:
    # The form (and the API behind it) sends the label; Python callers may pass the value.
    return _CHOICE_VALUES.get(given, given) if isinstance(given, str) else given


def choice_label(value: str) -> str:
    """The label a form shows for a stored choice (the value itself if it has none)."""
    return CHOICE_LABELS.get(value, value)


def _labels_schema(choices: Any) -> WithJsonSchema:
    # The Prefect UI renders an enum's values as they are: the form's enum is the labels.
    return WithJsonSchema({"type": "string", "enum": [CHOICE_LABELS[v] for v in get_args(choices)]})


ShownOutcome = Annotated[Outcome, BeforeValidator(_from_label), _labels_schema(Outcome)]
"""A route (``core/paths``): shown and submitted by its label, validated and stored as the value."""


def shown_routes(routes: Sequence[str]) -> Any:
    """:data:`ShownOutcome` narrowed to ``routes``, the ones a regime offers: a chair on an
    English board is not offered a Welsh practice review."""
    choice: Any = Literal.__getitem__(tuple(routes))
    return Annotated[choice, BeforeValidator(_from_label), _labels_schema(choice)]


Methodology = AnswerName
"""A method's title (``core/methods``): the gate forms offer the board's methods as choices."""


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
    plan_items: int = Field(default=0, description="Items in the review's action plan.")
    unplanned_recommendations: list[int] = Field(
        default_factory=list,
        description="Recommendations with no action plan item and no reason not to implement.",
    )
    signoffs: dict[str, str] = Field(
        default_factory=dict,
        description="Each owner agency's sign-off: awaited, signed, change_requested, missing.",
    )
    open_actions: list[str] = Field(
        default_factory=list,
        description="Items neither done nor closed, as the refusal names them.",
    )
    unevaluated_actions: list[int] = Field(
        default_factory=list, description="Done or closed items with no impact evaluation."
    )
    board_agencies: list[str] = Field(default_factory=list)
    awaited_summaries: list[str] = Field(
        default_factory=list, description="Agencies whose rapid review summary is still awaited."
    )
    paths: list[str] = Field(
        default_factory=list, description="The routes the regime offers (its rule pack)."
    )
    methods: list[str] = Field(
        default_factory=list, description="The titles of the methods the board knows."
    )
    documents: dict[str, int] = Field(
        default_factory=dict, description="The newest stored version of each kind of document."
    )
    release_blocked: dict[str, list[str]] = Field(
        default_factory=dict,
        description="For each kind the gate checks before it leaves the board: why its newest "
        "version may not (each anonymisation hit with its place).",
    )
    told_by: date | None = Field(
        default=None, description="When the family and the agencies had both been told."
    )


def _going_on_without(answer: Any, field: str, awaited: list[str], what: str) -> list[str]:
    """A gate that waits for each agency's ``what`` goes on without one only when the agency
    is listed in the answer's ``field`` with the answer's ``reason``."""
    listed: list[str] = getattr(answer, field)
    found = []
    if listed and not answer.reason:
        found.append(f"reason: give the reason for going on without a {what}")
    return found + [
        f"{field}: {name} has not sent its {what}; wait for it, or list it here with a reason"
        for name in sorted(set(awaited) - set(listed))
    ]


class GateAnswer(BaseModel):
    """An answer to a gate: its fields, who gave it, and the case rules it must meet."""

    actor_field: ClassVar[str]
    always_asked: ClassVar[frozenset[str]] = frozenset()
    """Fields the form marks required though they may be left empty (a rule says when they
    are needed): the form sends their pre-filled empty value."""
    # The kinds of document this gate lets leave the board: their anonymisation check is read
    # into the facts (GateFacts.release_blocked) before the answer's rules run.
    release_checked: ClassVar[tuple[str, ...]] = ()
    # An answer that becomes a document leaving the board: the names the board lists for the
    # review are refused in it too, not only the subject's identity.
    becomes_document: ClassVar[bool] = False

    @property
    def actor(self) -> str:
        """Who answered (the form's own 'by' field)."""
        return str(getattr(self, self.actor_field))

    def problems(self, facts: GateFacts) -> list[str]:
        """Rules the form's schema cannot express; each names its field. Empty: it stands."""
        return []


class RapidReviewMeeting(GateAnswer):
    """The LCSPR rapid review meeting (Working Together 2023 ch.5) and the safeguarding
    partners' recommendation; its report then goes to the national panel."""

    actor_field: ClassVar[str] = "recorded_by"

    held_on: date = Field(description="The date the rapid review meeting was held.")
    attendees: list[AnswerName] = Field(
        min_length=1, description="The agencies represented at the meeting."
    )
    recommends_lcspr: bool = Field(
        description="Do the partners recommend a local child safeguarding practice review?"
    )
    rationale: AnswerText = Field(min_length=10, description="Why, against the criteria.")
    learning_identified: AnswerText = Field(min_length=5, description="Learning identified.")
    immediate_actions: OptionalAnswerText = Field(
        default="", description="Immediate safeguarding actions agreed."
    )
    without_summaries: list[AnswerName] = Field(
        default_factory=list, description="Agencies whose summary the meeting went ahead without."
    )
    reason: OptionalAnswerText = Field(
        default="", description="Why (required when going ahead without a summary)."
    )
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")

    def problems(self, facts: GateFacts) -> list[str]:
        found = []
        known = set(facts.board_agencies)
        for name in self.attendees:
            if known and name not in known:
                found.append(f"attendees: {name!r} is not one of the board's agencies")
        return found + _going_on_without(
            self, "without_summaries", facts.awaited_summaries, "summary"
        )


class PanelResponse(GateAnswer):
    """The national panel's response to the rapid review."""

    actor_field: ClassVar[str] = "recorded_by"

    received_on: date = Field(description="The date the panel's response was received.")
    view: Literal["agrees", "disagrees", "asks_for_more"] = Field(
        description="The panel agrees with the partners' recommendation, disagrees, or asks "
        "for more information."
    )
    comments: OptionalAnswerText = Field(default="", description="What the panel said.")
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")

    def problems(self, facts: GateFacts) -> list[str]:
        if self.view != "agrees" and not self.comments:
            return ["comments: say what the panel disagreed with or asked for"]
        return []


class CommitteeRecommendation(GateAnswer):
    """The review committee's recommendation to the chair."""

    actor_field: ClassVar[str] = "recommended_by"

    recommendation: ShownOutcome = Field(description="What the committee recommends.")
    criteria_met: bool = Field(description="Does the case meet the statutory criteria?")
    methodology: Methodology | None = Field(default=None, description="Suggested methodology.")
    agency_under_review: AnswerName | None = Field(
        default=None, description="For an individual agency review: the one agency reviewed."
    )
    learning_shared_how: OptionalAnswerText = Field(
        default="", description="For an individual agency review: how its learning is shared."
    )
    rationale: AnswerText = Field(min_length=10, description="Why, against the criteria.")
    recommended_by: AnswerName = Field(
        min_length=2, description="Committee chair or member recording it."
    )

    def problems(self, facts: GateFacts) -> list[str]:
        return route_problems(self.recommendation, self, facts, "recommendation")


class ChairDecision(GateAnswer):
    """The independent chair's decision whether to initiate a review."""

    actor_field: ClassVar[str] = "decided_by"
    always_asked: ClassVar[frozenset[str]] = frozenset({"lead_reviewers"})

    decision: ShownOutcome = Field(description="The decision.")
    methodology: Methodology | None = Field(default=None, description="For a review: the method.")
    lead_reviewers: list[AnswerName] = Field(
        default_factory=list,
        description="For a full review: the lead reviewer(s) appointed (none for any other "
        "decision).",
    )
    agency_under_review: AnswerName | None = Field(
        default=None, description="For an individual agency review: the one agency reviewed."
    )
    learning_shared_how: OptionalAnswerText = Field(
        default="",
        description="For an individual agency review: how its learning is shared, as the "
        "committee set.",
    )
    rationale: AnswerText = Field(min_length=10, description="The rationale given to the referrer.")
    decided_by: AnswerName = Field(min_length=2, description="The chair's name.")
    decided_on: date = Field(description="The date of the decision.")

    def problems(self, facts: GateFacts) -> list[str]:
        found = route_problems(self.decision, self, facts, "decision")
        if review_path(self.decision).statutory and not self.lead_reviewers:
            found.insert(0, "lead_reviewers: a full review needs at least one lead reviewer")
        return found


class _Route(typing.Protocol):
    methodology: str | None
    agency_under_review: str | None
    learning_shared_how: str


def route_problems(outcome: str, answer: _Route, facts: GateFacts, field: str) -> list[str]:
    """The rules every choice of route meets: offered by the regime, a known method where the
    route walks one, and for an individual agency review the one agency and how its learning
    is shared."""
    found = []
    if facts.paths and outcome not in facts.paths:
        found.append(
            f"{field}: {outcome} is not a route of this regime; choose one of "
            f"{', '.join(facts.paths)}"
        )
    path = review_path(outcome)
    if path.needs_method and not answer.methodology:
        found.append("methodology: choose the review's methodology")
    if answer.methodology and facts.methods and answer.methodology not in facts.methods:
        found.append(
            f"methodology: unknown method {answer.methodology!r}; known: {', '.join(facts.methods)}"
        )
    if outcome == "individual_agency_review":
        if answer.agency_under_review not in facts.involved_agencies:
            found.append(
                "agency_under_review: name the one agency under review, one of "
                f"{', '.join(facts.involved_agencies)}"
            )
        if not answer.learning_shared_how:
            found.append("learning_shared_how: say how the agency's learning will be shared")
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
        statutory = facts.outcome is not None and review_path(facts.outcome).statutory
        if not self.independence_confirmed and statutory:
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
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")

    def problems(self, facts: GateFacts) -> list[str]:
        found = [
            f"proceed_without: {name!r} is not an agency on this review"
            for name in sorted(set(self.proceed_without) - set(facts.involved_agencies))
        ]
        return found + _going_on_without(
            self, "proceed_without", facts.awaited_agencies, "timeline"
        )


class EventArranged(GateAnswer):
    """The business manager confirms an event (a method's step, or a forum) before anyone is
    invited: its date, start time, venue and the contact who takes replies."""

    actor_field: ClassVar[str] = "recorded_by"

    on: date = Field(description="The date of the event.")
    starts_at: str = Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Start time, 24-hour (09:30)."
    )
    venue: AnswerText = Field(min_length=3, description="Where it is held (or the online link).")
    contact_name: AnswerName = Field(min_length=2, description="Who practitioners reply to.")
    reply_to: str = Field(
        max_length=NAME_MAX,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="The email address replies go to.",
    )
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")


class EventHeld(GateAnswer):
    """A method's event took place."""

    actor_field: ClassVar[str] = "recorded_by"

    held_on: date = Field(description="When it was held.")
    attendees: list[AnswerName] = Field(
        default_factory=list, description="Agencies and roles that attended (not family names)."
    )
    key_learning: AnswerText = Field(min_length=5, description="Key learning identified.")
    good_practice: OptionalAnswerText = Field(default="", description="Good practice identified.")
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")


class ForumHeld(GateAnswer):
    """The multi-agency professional forum took place under the performance committee."""

    actor_field: ClassVar[str] = "recorded_by"

    held_on: date = Field(description="When it was held.")
    attendees: list[AnswerName] = Field(
        min_length=1, description="Agencies and roles that attended (not family names)."
    )
    outcome: AnswerText = Field(min_length=5, description="What the forum concluded.")
    learning: AnswerText = Field(min_length=5, description="The learning, for the committee.")
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")


class AgencyReviewReceived(GateAnswer):
    """The agency under review sent its own review report back to the board."""

    actor_field: ClassVar[str] = "recorded_by"

    received_on: date = Field(description="When the agency's report arrived.")
    key_learning: AnswerText = Field(min_length=5, description="The learning it reports.")
    learning_shared_how: AnswerText = Field(
        min_length=5, description="How the learning is shared, as the committee set."
    )
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")


class RecommendationEntry(BaseModel):
    """One recommendation of the final report, as the action plan's items trace to it."""

    text: AnswerText = Field(min_length=5, description="The recommendation as the report words it.")
    intended_outcome: AnswerText = Field(min_length=3, description="What it is meant to change.")
    timescale: AnswerName = Field(min_length=2, description="By when, e.g. 'within six months'.")


class FinalReportApproved(GateAnswer):
    """The chair approves the final report after it was presented to the board."""

    actor_field: ClassVar[str] = "approved_by"

    approved_on: date = Field(description="Date of approval (starts the four-week sign-off clock).")
    recommendations: list[RecommendationEntry] = Field(
        min_length=1,
        description="Each recommendation, numbered in this order (1, 2, …), with its intended "
        "outcome and timescale: every action plan item must answer one of them.",
    )
    approved_by: AnswerName = Field(min_length=2, description="The chair's name.")
    final_report_version: int = Field(
        ge=1, description="The stored final report version approved ('reviews documents list')."
    )

    def problems(self, facts: GateFacts) -> list[str]:
        return _stored_version_problems(
            "final_report_version", "final_report", self.final_report_version, facts
        )

    @field_validator("recommendations", mode="before")
    @classmethod
    def _count_is_not_a_list(cls, value: object) -> object:
        # Older callers sent how many recommendations there were: say what is needed now.
        if isinstance(value, int):
            raise ValueError(
                "give each recommendation (text, intended_outcome, timescale), not a count"
            )
        return value


UNSIGNED = ("awaited", "change_requested")
"""Sign-off states the plan cannot go on with unless the agency is listed with a reason."""


class ActionPlanSignedOff(GateAnswer):
    """Every owner agency signed off its own items through its link, or the board goes on
    without some, with a reason (their sign-off is recorded as missing, not met)."""

    actor_field: ClassVar[str] = "recorded_by"

    signed_off_on: date = Field(
        description="Date of sign-off (starts the quarterly progress clock)."
    )
    proceed_without: list[AnswerName] = Field(
        default_factory=list,
        description="Owner agencies whose sign-off the plan goes on without (recorded missing).",
    )
    reason: OptionalAnswerText = Field(
        default="", description="Why (required when going on without any)."
    )
    recorded_by: AnswerName = Field(min_length=2, description="Who records it.")

    def problems(self, facts: GateFacts) -> list[str]:
        if facts.plan_items == 0:
            return [
                "action plan: no items are loaded; load the plan (reviews plan load) and ask "
                "the owner agencies to sign off (reviews plan request-signoff)"
            ]
        found = [
            f"action plan: recommendation {n} has no item (add one, or record why it will not "
            "be implemented)"
            for n in facts.unplanned_recommendations
        ]
        skipped = set(self.proceed_without)
        found += [
            f"proceed_without: {name!r} owns no action in this plan"
            for name in sorted(skipped - set(facts.signoffs))
        ]
        found += [
            f"proceed_without: {name} has already signed off"
            for name in sorted(skipped)
            if facts.signoffs.get(name) == "signed"
        ]
        awaited = [n for n, state in facts.signoffs.items() if state in UNSIGNED]
        return found + _going_on_without(self, "proceed_without", awaited, "sign-off")


class PublicationDecision(GateAnswer):
    """Publish on a date, or decide not to publish (the panel is told why)."""

    actor_field: ClassVar[str] = "decided_by"
    release_checked: ClassVar[tuple[str, ...]] = ("final_report",)

    publish: bool = Field(description="Publish the anonymised report?")
    publication_on: date | None = Field(default=None, description="Publication date.")
    published_url: OptionalAnswerText = Field(
        default="", description="Where it is published (https://…); required when publishing."
    )
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
        found = []
        earliest = facts.earliest_publication
        if earliest is not None and self.publication_on < earliest:
            found.append(
                "publication_on: the national panel must have the report first; the earliest "
                f"publication date is {_long(earliest)}"
            )
        if facts.told_by is not None and self.publication_on < facts.told_by:
            found.append(
                "publication_on: the family and the agencies are told first; the communications "
                f"plan has them told by {_long(facts.told_by)}"
            )
        if not self.published_url.startswith(("https://", "http://")):
            found.append("published_url: give the address it is published at (https://…)")
        return found + _blocked("final_report", facts)


class ReviewClosed(GateAnswer):
    """Every action is done (or closed by the committee with a reason) and its impact
    evaluated; the performance committee closes the review."""

    actor_field: ClassVar[str] = "recorded_by"

    all_actions_complete: bool = Field(description="Every action done and impact evaluated.")
    closed_on: date = Field(description="Date of closure.")
    impact_summary: AnswerText = Field(min_length=5, description="What changed as a result.")
    recorded_by: AnswerName = Field(min_length=2, description="Performance committee chair.")

    def problems(self, facts: GateFacts) -> list[str]:
        found = []
        if not self.all_actions_complete:
            found.append("all_actions_complete: the review closes only when every action is done")
        if facts.open_actions:
            found.append(
                "action plan: the review closes only when every item is done or closed by the "
                "committee with a reason; still open: " + "; ".join(facts.open_actions)
            )
        if facts.unevaluated_actions:
            numbers = ", ".join(str(n) for n in facts.unevaluated_actions)
            found.append(
                f"action plan: record the impact evaluation of item(s) {numbers} "
                "(what changed, how it was measured)"
            )
        return found


class PanelAdvice(PublicationDecision):
    """The national panel's advice on a decision not to publish, and the final decision."""

    panel_advice: AnswerText = Field(description="What the national panel advised.")
    advice_received_on: date = Field(description="When the panel's advice arrived.")


def _long(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _stored_version_problems(field: str, kind: str, version: int, facts: GateFacts) -> list[str]:
    newest = facts.documents.get(kind)
    if newest is None:
        return [
            f"{field}: no {kind} is stored; add it with "
            f"'reviews documents add {facts.reference} --kind {kind} FILE'"
        ]
    if version > newest:
        return [f"{field}: version {version} is not stored (the newest is {newest})"]
    return []


def _blocked(kind: str, facts: GateFacts) -> list[str]:
    """The anonymisation hits that stand on ``kind``, one problem each (place and kind only)."""
    return [f"{kind}: {line}" for line in facts.release_blocked.get(kind, [])]


class TimetableEntry(BaseModel):
    """One milestone of the timetable to completion."""

    milestone: AnswerText = Field(description="What is done (e.g. learning event).")
    due: date = Field(description="By when.")


class TermsOfReferenceSet(GateAnswer):
    """The terms of reference, agreed after the reviewers are appointed; they go to the
    agencies with the timeline request."""

    actor_field: ClassVar[str] = "agreed_by"
    becomes_document: ClassVar[bool] = True

    period_from: date = Field(description="Start of the period under review.")
    period_to: date = Field(description="End of the period under review.")
    key_lines_of_enquiry: list[AnswerText] = Field(min_length=1, description="One per line.")
    agencies_in_scope: list[AnswerName] = Field(min_length=1, description="Agencies reviewed.")
    method: AnswerText = Field(description="The review's method (e.g. SILP).")
    family_involvement: AnswerText = Field(description="How the family is involved.")
    timetable: list[TimetableEntry] = Field(min_length=1, description="Timetable to completion.")
    agreed_by: AnswerName = Field(min_length=2, description="Who agreed them.")

    def problems(self, facts: GateFacts) -> list[str]:
        found = []
        if self.period_to < self.period_from:
            found.append("period_to: is before period_from")
        for name in self.agencies_in_scope:
            if name not in facts.involved_agencies:
                found.append(f"agencies_in_scope: {name!r} is not an agency on this review")
        return found

    def document(self) -> TermsOfReference:
        """The terms of reference as the stored document's form."""
        fields = self.model_dump(exclude={"agreed_by", "timetable"})
        timetable = [Milestone(milestone=t.milestone, due=t.due) for t in self.timetable]
        return TermsOfReference(**fields, timetable=timetable)


class DraftReportReady(GateAnswer):
    """The lead reviewer's draft is stored; each agency in scope checks it for factual
    accuracy by the date set here."""

    actor_field: ClassVar[str] = "recorded_by"

    check_by: date = Field(description="Date by which each agency returns its comments.")
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")

    def problems(self, facts: GateFacts) -> list[str]:
        if "draft_report" not in facts.documents:
            return [
                "draft_report: no draft is stored; the lead reviewer adds it with 'reviews "
                f"documents add {facts.reference} --kind draft_report FILE'"
            ]
        return []


class SummaryRecommendation(BaseModel):
    """A recommendation in the learning summary, with its intended outcome and timescale."""

    recommendation: AnswerText
    intended_outcome: AnswerText
    timescale: AnswerText


class LearningSummaryForm(GateAnswer):
    """The learning summary (Appendix E): rendered to HTML and PDF, stored, and sent to the
    learning and development and the performance committees."""

    actor_field: ClassVar[str] = "recorded_by"
    becomes_document: ClassVar[bool] = True

    review_type: AnswerText = Field(description="The review (type and regime).")
    methodology: AnswerText = Field(description="The methodology used.")
    case_summary: AnswerText = Field(description="Summary of the case (pseudonymised).")
    key_learning: list[AnswerText] = Field(min_length=1, description="Key learning identified.")
    good_practice: list[AnswerText] = Field(default_factory=list, description="Good practice.")
    recommendations: list[SummaryRecommendation] = Field(min_length=1)
    learning_for_practice: AnswerText = Field(description="Learning for practice and training.")
    dissemination: AnswerText = Field(description="How the learning will be disseminated.")
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")

    def document(self) -> LearningSummary:
        """The learning summary as the stored document's form."""
        fields = self.model_dump(exclude={"recorded_by", "recommendations"})
        recommendations = [Recommendation(**r.model_dump()) for r in self.recommendations]
        return LearningSummary(**fields, recommendations=recommendations)


class AnonymisationCleared(GateAnswer):
    """The final report may leave the board: its newest version passes the anonymisation
    check, or the business manager records why it may go despite the hits (audited)."""

    actor_field: ClassVar[str] = "cleared_by"
    release_checked: ClassVar[tuple[str, ...]] = ("final_report",)

    override_reason: OptionalAnswerText = Field(
        default="",
        description="Only to send a version whose hits stand: why it may leave the board.",
    )
    cleared_by: AnswerName = Field(min_length=2, description="Business manager.")

    def problems(self, facts: GateFacts) -> list[str]:
        blocked = _blocked("final_report", facts)
        if not blocked or (self.override_reason and "final_report" in facts.documents):
            return []
        return [
            "final_report: the newest version holds identity; add a redacted version "
            f"('reviews documents add {facts.reference} --kind final_report FILE') or give "
            "override_reason",
            *blocked,
        ]


class CommunicationsPlan(GateAnswer):
    """Who is told before publication, when, and the holding statement; the family and the
    agencies are told before the report goes public."""

    actor_field: ClassVar[str] = "recorded_by"
    becomes_document: ClassVar[bool] = True

    who_is_told: list[AnswerText] = Field(
        min_length=1, description="Who is told and when, one per line (e.g. family: 2 May)."
    )
    holding_statement: AnswerText = Field(description="The holding statement for the press.")
    family_told_on: date = Field(description="When the family was told.")
    agencies_told_on: date = Field(description="When the agencies were told.")
    recorded_by: AnswerName = Field(min_length=2, description="Business manager.")
