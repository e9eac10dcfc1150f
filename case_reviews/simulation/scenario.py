"""A whole review driven through the Prefect API as the people would: the answers each gate gets
in each scenario, and the time that passes before each answer (on a manual clock)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal
from uuid import UUID

import httpx

from core.clock import ManualClock, today
from deployments import driver
from models import store
from models.timeline import COLUMNS
from services.runtime import Runtime

Scenario = Literal["full", "cir", "no-review"]
SCENARIO_DECISION: dict[str, str] = {
    "full": "full_review",
    "cir": "critical_incident_review",
    "no-review": "no_review",
}

# Days that pass before each gate is answered: about six months from decision to report.
DAYS_BEFORE: dict[str, int] = {
    "committee_recommendation": 7,
    "chair_decision": 7,
    "reviewer_appointment": 7,
    "timelines_complete": 30,
    "learning_event": 14,
    "recall_session": 28,
    "final_report": 56,
    "action_plan_signoff": 21,
    "publication": 1,
    "monitoring": 91,
}


def answer(gate: str, scenario: Scenario, on: date) -> dict[str, Any]:
    """What the committee, chair or business manager enters at ``gate`` on ``on``."""
    decision = SCENARIO_DECISION[scenario]
    full = decision == "full_review"
    reviewers = ["Independent Reviewer A", "Independent Reviewer B"] if full else []
    method = "SILP (learning event and recall session)"
    answers: dict[str, dict[str, Any]] = {
        "committee_recommendation": {
            "recommendation": decision,
            "criteria_met": full,
            "methodology": method if decision != "no_review" else None,
            "rationale": "Considered against reg 5(2) with the decision-making matrix.",
            "recommended_by": "Case Review Committee chair",
        },
        "chair_decision": {
            "decision": decision,
            "methodology": method if decision != "no_review" else None,
            "lead_reviewers": reviewers,
            "rationale": "The committee's analysis is accepted; see the recommendation.",
            "decided_by": "Independent Chair",
            "decided_on": on.isoformat(),
        },
        "reviewer_appointment": {
            "lead_reviewers": reviewers or ["Internal Reviewer C"],
            "independence_confirmed": True,
            "confirmed_by": "Independent Chair",
        },
        "timelines_complete": {
            "proceed_without": [],
            "reason": "",
            "learning_event_on": (on + timedelta(days=14)).isoformat(),
            "recorded_by": "Business Manager",
        },
        "learning_event": {
            "held_on": on.isoformat(),
            "key_learning": "Information about missed health visits was not shared.",
            "good_practice": "School escalated promptly.",
            "recall_session_on": (on + timedelta(days=28)).isoformat(),
            "recorded_by": "Business Manager",
        },
        "recall_session": {
            "held_on": on.isoformat(),
            "corrections": "Chronology of the second visit corrected.",
            "recorded_by": "Business Manager",
        },
        "final_report": {
            "approved_on": on.isoformat(),
            "recommendations": 4,
            "approved_by": "Independent Chair",
        },
        "action_plan_signoff": {
            "signed_off_on": on.isoformat(),
            "chair_override": False,
            "override_reason": "",
            "recorded_by": "Business Manager",
        },
        "publication": {
            "publish": True,
            "publication_on": (on + timedelta(days=21)).isoformat(),
            "reasons_not_to_publish": "",
            "decided_by": "Independent Chair",
        },
        "monitoring": {
            "all_actions_complete": True,
            "closed_on": on.isoformat(),
            "impact_summary": "Health visiting escalation pathway audited twice.",
            "recorded_by": "Performance Committee chair",
        },
    }
    return answers[gate]


def answer_now(rt: Runtime, reference: str, gate: str, scenario: Scenario) -> dict[str, Any]:
    """The scenario's answer at ``gate`` today; at the timelines gate, as a business manager
    would, it goes on without the agencies that never sent one, giving the reason."""
    run_input = answer(gate, scenario, today(rt.clock))
    if gate == "timelines_complete":
        with rt.sessions() as session:
            awaited = store.outstanding_agencies(session, store.get_review(session, reference).id)
        if awaited:
            run_input |= {
                "proceed_without": awaited,
                "reason": "No timeline received by the time the review had to go on.",
            }
    return run_input


@dataclass
class DriveResult:
    state: str
    gates: list[str] = field(default_factory=list)


def waiting_at(rt: Runtime, reference: str) -> str | None:
    with rt.sessions() as session:
        return store.get_review(session, reference).waiting_at


def drive(
    rt: Runtime,
    clock: ManualClock,
    flow_run_id: UUID,
    reference: str,
    scenario: Scenario,
    *,
    between_gates: Callable[[], object] | None = None,
    stop_at: str | None = None,
    max_gates: int = 30,
) -> DriveResult:
    """Execute the run; at each gate let time pass, call ``between_gates`` (the daily sweep),
    and answer as the scenario says, until the run completes (or waits at ``stop_at``)."""
    result = DriveResult(state=driver.execute(flow_run_id))
    while result.state == "Suspended" and len(result.gates) < max_gates:
        gate = waiting_at(rt, reference)
        if gate is None:
            raise RuntimeError(f"{reference} is suspended but not waiting at any gate")
        if gate == stop_at:
            break
        for _ in range(DAYS_BEFORE[gate]):
            clock.advance(timedelta(days=1))
            if between_gates is not None:
                between_gates()
        if driver.state_name(flow_run_id) == "Suspended":
            driver.resume(flow_run_id, answer_now(rt, reference, gate, scenario))
        # else someone answered it already (the portal resumes the timelines gate itself)
        result.gates.append(gate)
        result.state = driver.execute(flow_run_id)
    return result


LINK = re.compile(r"https?://[^\s<>\"]+/t/[A-Za-z0-9._-]+")


def example_timeline_csv(agency: str, pseudonym: str, incident: date, seed: int) -> bytes:
    """A small, fictional timeline of significant events as an agency would fill the template."""
    rows = [
        [
            (incident - timedelta(days=120 + 9 * seed)).isoformat(),
            f"{pseudonym} was not brought to a planned appointment; {agency} noted it.",
            "A pattern of missed contact was starting.",
            "A letter was sent to the family.",
            "Not shared with other agencies at the time.",
            "Missed appointments should prompt a call to the health visitor.",
            "practitioner" if seed % 2 else "named nurse",
            "Q1",
        ],
        [
            f"c. {(incident - timedelta(days=60)).strftime('%Y-%m')}",
            f"Concerns about {pseudonym}'s home conditions were raised with {agency}.",
            "Neglect indicators were present.",
            "A referral was considered but not made.",
            "Children's social care were not told.",
            "Thresholds were applied without consultation.",
            "team manager",
            "Q2; Q4",
        ],
        [
            (incident - timedelta(days=3)).isoformat(),
            f"{agency} had contact with the family shortly before the incident.",
            "Risk was not re-assessed.",
            "No further action was recorded.",
            "No multi-agency discussion took place.",
            "Recent contact is a chance to review risk.",
            "duty officer",
            "Q3",
        ],
    ]
    lines = [",".join(COLUMNS)]
    for row in rows:
        lines.append(",".join('"' + v.replace('"', '""') + '"' for v in row))
    return ("\n".join(lines) + "\n").encode()


class Agencies:
    """The involved agencies, answering their timeline requests as an agency would: each opens
    the link in the email it received and uploads its file through the portal, over HTTP,
    ``respond_after`` days after the request."""

    def __init__(
        self,
        rt: Runtime,
        received: Callable[[], list[Any]],
        reference: str,
        respond_after: int = 10,
    ) -> None:
        self.rt, self.received, self.reference = rt, received, reference
        self.respond_after = respond_after
        self.uploaded: dict[str, int] = {}

    def __call__(self) -> None:
        with self.rt.sessions() as session:
            review = store.get_review(session, self.reference)
            requested = store.review_events(session, review.id).get("timelines_requested")
            pseudonym, incident = review.pseudonym, review.incident_date
        if requested is None or (today(self.rt.clock) - requested).days < self.respond_after:
            return
        for seed, message in enumerate(self.received()):
            if "Timeline of significant events requested" not in message.subject:
                continue
            agency = message.recipients[0]
            if agency in self.uploaded:
                continue
            found = LINK.search(message.part("text/plain"))
            if found is None:
                raise RuntimeError(f"no portal link in the timeline request to {agency}")
            csv_file = example_timeline_csv(agency.split("@")[1], pseudonym, incident, seed)
            response = httpx.post(
                f"{found.group(0)}/upload",
                files={"file": ("timeline.csv", csv_file, "text/csv")},
                timeout=60,
            )
            if response.status_code != 200:
                raise RuntimeError(f"portal refused {agency}: {response.status_code}")
            self.uploaded[agency] = 3
