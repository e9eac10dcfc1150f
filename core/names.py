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
    COMMITTEE_RECOMMENDATION = "committee_recommendation"
    CHAIR_DECISION = "chair_decision"
    PANEL_NOTIFICATION = "panel_notification"
    REVIEWER_APPOINTMENT = "reviewer_appointment"
    TIMELINE_REQUESTS = "timeline_requests"
    TIMELINES_MERGED = "timelines_merged"
    LEARNING_EVENT = "learning_event"
    RECALL_SESSION = "recall_session"
    FINAL_REPORT = "final_report"
    ACTION_PLAN_SIGNOFF = "action_plan_signoff"
    PANEL_COPY = "panel_copy"
    PUBLICATION = "publication"
    MONITORING = "monitoring"
    CLOSED = "closed"


class Gate(enum.StrEnum):
    """The human steps: each is a ``suspend_flow_run`` with a form."""

    COMMITTEE_RECOMMENDATION = "committee_recommendation"
    CHAIR_DECISION = "chair_decision"
    REVIEWER_APPOINTMENT = "reviewer_appointment"
    TIMELINES_COMPLETE = "timelines_complete"
    LEARNING_EVENT = "learning_event"
    RECALL_SESSION = "recall_session"
    FINAL_REPORT = "final_report"
    ACTION_PLAN_SIGNOFF = "action_plan_signoff"
    PUBLICATION = "publication"
    MONITORING = "monitoring"

    def suspend_key(self, attempt: int) -> str:
        """The stable Prefect key of this gate's ``attempt``-th ask (lowercase, digits, dashes)."""
        return f"{self.value.replace('_', '-')}-{attempt}"


class GateSpec(BaseModel):
    """What a gate is (``core/gates.yaml``): the stage it closes, its question, who answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Gate
    stage: Stage
    title: str
    question: str
    actor: Literal["chair", "business_manager"]
    milestones: tuple[str, ...] = ()


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
    SIGNOFF = "signoff"
    PROGRESS = "progress"


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
