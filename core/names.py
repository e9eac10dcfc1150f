"""Names defined once: the flowchart's stages, the gates, outbox statuses, and the keys under
which obligations, audit records and messages are stored (so a replay finds what it wrote).

Flows, tasks, the sweep, the CLI and the tests all use these; a typo becomes an AttributeError,
not a key that silently matches nothing.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

# An agency's portal link stays usable this long after its deadline, for a late first
# submission (the links and the request email both say so).
LINK_GRACE = timedelta(days=28)


class Stage(enum.StrEnum):
    """The stages of the flowchart, in the order a full review walks them."""

    REFERRAL_INTAKE = "referral_intake"
    # LCSPR (Working Together 2023): agency summaries, the rapid review meeting and its report
    # to the national panel, then the panel's response, before the partners decide.
    RAPID_REVIEW = "rapid_review"
    PANEL_RESPONSE = "panel_response"
    COMMITTEE_RECOMMENDATION = "committee_recommendation"
    CHAIR_DECISION = "chair_decision"
    PANEL_NOTIFICATION = "panel_notification"
    REVIEWER_APPOINTMENT = "reviewer_appointment"
    TIMELINE_REQUESTS = "timeline_requests"
    TIMELINES_MERGED = "timelines_merged"
    # SILP's two events; other methods' events are stages named by their steps (core/methods).
    LEARNING_EVENT = "learning_event"
    RECALL_SESSION = "recall_session"
    AGENCY_REVIEW_REQUEST = "agency_review_request"
    AGENCY_REVIEW = "agency_review"
    PROFESSIONAL_FORUM = "professional_forum"
    FINAL_REPORT = "final_report"
    ACTION_PLAN_SIGNOFF = "action_plan_signoff"
    PANEL_COPY = "panel_copy"
    PUBLICATION = "publication"
    MONITORING = "monitoring"
    CLOSED = "closed"


class Gate(enum.StrEnum):
    """The human steps: each is a ``suspend_flow_run`` with a form."""

    RAPID_REVIEW_MEETING = "rapid_review_meeting"
    PANEL_RESPONSE = "panel_response"
    COMMITTEE_RECOMMENDATION = "committee_recommendation"
    CHAIR_DECISION = "chair_decision"
    REVIEWER_APPOINTMENT = "reviewer_appointment"
    TERMS_OF_REFERENCE = "terms_of_reference"
    TIMELINES_COMPLETE = "timelines_complete"
    # Templates for each event of a method (and a forum): the business manager arranges it
    # (date, time, venue, contact) before any invitation, then records it held. The gate of a
    # step is named by the step (``learning_event``) and ``<step>_arranged``.
    EVENT_ARRANGED = "event_arranged"
    EVENT_HELD = "event_held"
    AGENCY_REVIEW = "agency_review"
    DRAFT_REPORT = "draft_report"
    FINAL_REPORT = "final_report"
    LEARNING_SUMMARY = "learning_summary"
    ACTION_PLAN_SIGNOFF = "action_plan_signoff"
    ANONYMISATION = "anonymisation"
    COMMUNICATIONS = "communications"
    PUBLICATION = "publication"
    PANEL_ADVICE = "panel_advice"
    MONITORING = "monitoring"

    def suspend_key(self, attempt: int) -> str:
        """The stable Prefect key of this gate's ``attempt``-th ask (lowercase, digits, dashes)."""
        return f"{self.value.replace('_', '-')}-{attempt}"


class GateSpec(BaseModel):
    """What a gate is (``core/gates.yaml``): the stage it closes, its question, who answers.

    ``name`` is a :class:`Gate`, or for an event of a method the step's own name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    stage: str
    title: str
    question: str
    actor: Literal["chair", "business_manager"]
    milestones: tuple[str, ...] = ()
    # What the form shows beyond the case: "final_report" (its stored versions and the
    # agencies' comments on the draft), "release_check" (the final report's anonymisation hits).
    shows: tuple[Literal["final_report", "release_check"], ...] = ()

    def suspend_key(self, attempt: int) -> str:
        """The stable Prefect key of this gate's ``attempt``-th ask."""
        return f"{self.name.replace('_', '-')}-{attempt}"


def event_gates(step: str, title: str) -> tuple[GateSpec, GateSpec]:
    """The two gates of one event (a method's step, or a forum): arranged, then held.

    The held gate keeps the step's name (SILP's ``learning_event``, ``recall_session``)."""
    specs = gate_specs()
    arranged, held = specs[Gate.EVENT_ARRANGED], specs[Gate.EVENT_HELD]
    return (
        arranged.model_copy(
            update={
                "name": f"{step}_arranged",
                "stage": step,
                "title": arranged.title.format(event=title),
                "question": arranged.question.format(event=title.lower()),
            }
        ),
        held.model_copy(
            update={
                "name": step,
                "stage": step,
                "title": held.title.format(event=title),
                "question": held.question.format(event=title.lower()),
            }
        ),
    )


@cache
def gate_specs() -> dict[Gate, GateSpec]:
    """Every gate's spec, read once from ``core/gates.yaml``."""
    raw = yaml.safe_load(Path(__file__).with_name("gates.yaml").read_text(encoding="utf-8"))
    return {Gate(name): GateSpec(name=name, **spec) for name, spec in raw.items()}


class OutboxStatus(enum.StrEnum):
    """Where a queued message is: waiting (or retrying), claimed by a deliverer, or sent."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"


class AgencyDuty(enum.StrEnum):
    """What each involved agency owes, one obligation per agency."""

    TIMELINE = "timeline"
    RAPID_REVIEW_SUMMARY = "summary"
    AGENCY_REVIEW = "agency_review"
    SIGNOFF = "signoff"
    PROGRESS = "progress"
    DRAFT_CHECK = "draft_check"


# --- keys ------------------------------------------------------------------------------------


def obligation_key(reference: str, milestone: str) -> str:
    """The board's own obligation for a statutory milestone (``SCR-2026-001:chair_decision``)."""
    return f"{reference}:{milestone}"


def agency_obligation_key(reference: str, duty: str, agency: str) -> str:
    """An agency's obligation (``SCR-2026-001:timeline:Northbridge Police``)."""
    return f"{reference}:{duty}:{agency}"


def message_key(reference: str, purpose: str, recipient: str) -> str:
    """An outbox message of a review: one per purpose and recipient."""
    return f"{reference}:{purpose}:{recipient}"


def stage_key(reference: str, stage: str) -> str:
    """The audit record that ``stage`` is done."""
    return f"{reference}:stage:{stage}"


def gate_key(reference: str, gate: str, attempt: int, outcome: str) -> str:
    """The audit record of one answer to a gate (``answered`` or ``refused``)."""
    return f"{reference}:gate:{gate}:{attempt}:{outcome}"


def review_key(reference: str, what: str) -> str:
    """Any other once-per-review record (``closed``, ``timelines_gate_resumed``…)."""
    return f"{reference}:{what}"


class DocumentKind(enum.StrEnum):
    """What a stored review document is (issue 10; Wirral framework s.5, s.10, Appendix E)."""

    TERMS_OF_REFERENCE = "terms_of_reference"
    DRAFT_REPORT = "draft_report"
    AGENCY_COMMENTS = "agency_comments"
    FINAL_REPORT = "final_report"
    LEARNING_SUMMARY = "learning_summary"
    ACTION_PLAN = "action_plan"
    PUBLISHED_VERSION = "published_version"
    ADDENDUM = "addendum"

    @property
    def may_hold_identity(self) -> bool:
        """The unredacted reports and the agencies' comments on them: every read is audited."""
        return self in {
            DocumentKind.DRAFT_REPORT,
            DocumentKind.FINAL_REPORT,
            DocumentKind.AGENCY_COMMENTS,
        }


def progress_key(reference: str, agency: str, quarter: int) -> str:
    """An owner agency's progress report for one quarter of the action plan
    (``SCR-2026-001:progress:Northbridge Police:q2``)."""
    return f"{agency_obligation_key(reference, AgencyDuty.PROGRESS, agency)}:q{quarter}"
