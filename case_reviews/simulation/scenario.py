"""A whole review driven through the Prefect API as the people would: the answers each gate gets
in each scenario, and the time that passes before each answer (on a manual clock)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import httpx

from case_reviews.simulation.choices import SCENARIO_DECISION, Scenario
from core.clock import ManualClock, today
from core.names import DocumentKind, progress_key
from deployments import driver
from models import action_plan_store as plans
from models import documents_store, store
from models import participation_store as participation
from models.action_plan import COLUMNS as PLAN_COLUMNS
from models.action_plan import parse_plan_file
from models.answers import choice_label
from models.timeline import COLUMNS
from services import documents
from services.action_plans import close_item, request_signoffs, signoff_state
from services.runtime import Runtime

STATUTORY = frozenset({"full_review", "concise_review", "extended_review"})
WITH_METHOD = STATUTORY | {"critical_incident_review", "individual_agency_review"}

# Days that pass before each gate is answered: about six months from decision to report.
DAYS_BEFORE: dict[str, int] = {
    # LCSPR: the rapid review meeting two weeks after the incident (its report is due to the
    # national panel within 15 working days), the panel's response about ten days later.
    "rapid_review_meeting": 14,
    "panel_response": 10,
    "committee_recommendation": 7,
    "chair_decision": 7,
    "reviewer_appointment": 7,
    "terms_of_reference": 3,
    "timelines_complete": 30,
    "agency_review": 42,
    "learning_event": 14,
    "recall_session": 28,
    "draft_report": 7,
    "final_report": 49,
    "learning_summary": 2,
    "action_plan_signoff": 21,
    "anonymisation": 1,
    "communications": 2,
    "publication": 1,
    "panel_advice": 14,
    "monitoring": 190,  # two quarters of progress, until every action is done
}
BUSINESS_MANAGER = "Business Manager"
REPLY_TO = "business.manager@northbridge-scp.example"
ARRANGE_DAYS = 3  # the business manager confirms an event a few days after the gate opens
EVENT_DAYS = 21  # a method's other events (and a forum) are held three weeks after


def days_before(gate: str) -> int:
    """Days that pass before ``gate`` is answered (a method's events included)."""
    if gate.endswith("_arranged"):
        return ARRANGE_DAYS
    return DAYS_BEFORE.get(gate, EVENT_DAYS)


def _event_answer(gate: str, on: date) -> dict[str, Any]:
    """Arranging an event (held ``days_before`` its held gate from now), or recording it held."""
    if gate.endswith("_arranged"):
        return {
            "on": (on + timedelta(days=days_before(gate.removesuffix("_arranged")))).isoformat(),
            "starts_at": "09:30",
            "venue": "Northbridge Town Hall, Committee Room 2",
            "contact_name": BUSINESS_MANAGER,
            "reply_to": REPLY_TO,
            "recorded_by": BUSINESS_MANAGER,
        }
    held = {"held_on": on.isoformat(), "recorded_by": BUSINESS_MANAGER}
    if gate == "professional_forum":
        return held | {
            "attendees": ["Northbridge Police (DS)", "Health visiting team leader"],
            "outcome": "Practitioners agreed a shared escalation route for missed visits.",
            "learning": "Missed health visits should prompt a multi-agency discussion.",
        }
    return held | {
        "attendees": ["Northbridge Police", "Northbridge Hospitals NHS Trust"],
        "key_learning": "Information about missed health visits was not shared.",
        "good_practice": "School escalated promptly.",
    }


# The recommendations the chair records at the final report, and the plan the business
# manager loads against them: three items across two owner agencies, due this many days
# after the report.
RECOMMENDATIONS = [
    {
        "text": "Agencies should follow up children not brought to health appointments.",
        "intended_outcome": "No missed appointment goes unnoticed.",
        "timescale": "within six months",
    },
    {
        "text": "Information about missed contact should be shared at the first concern.",
        "intended_outcome": "Concerns reach children's social care promptly.",
        "timescale": "within nine months",
    },
]
PLAN: list[tuple[int, str, str, int]] = [
    (1, "Call the family after a second missed appointment", "Riverside GP Practice", 60),
    (1, "Audit follow-up of missed appointments", "Riverside GP Practice", 150),
    (2, "Train officers to share missed-contact concerns", "Northbridge Police", 120),
]


# The three statutory safeguarding partners of the example board (Working Together 2023).
RAPID_REVIEW_PARTNERS = [
    "Northbridge Children's Social Care",
    "Northbridge Police",
    "Northbridge Integrated Care Board",
]


def answer(gate: str, scenario: Scenario, on: date) -> dict[str, Any]:
    """What the committee, chair or business manager enters at ``gate`` on ``on`` (a choice
    by its label, as the form shows it)."""
    decision = SCENARIO_DECISION[scenario]
    full = decision in STATUTORY
    reviewers = ["Independent Reviewer A", "Independent Reviewer B"] if full else []
    method = (
        "Welsh practice review model"
        if scenario in {"concise", "extended"}
        else "SILP (learning event and recall session)"
    )
    route = {
        "methodology": method if decision in WITH_METHOD else None,
        "agency_under_review": None,
        "learning_shared_how": "Learning summary to the performance committee and the agency's "
        "own practitioners."
        if decision == "individual_agency_review"
        else "",
    }
    answers: dict[str, dict[str, Any]] = {
        "rapid_review_meeting": {
            "held_on": on.isoformat(),
            "attendees": RAPID_REVIEW_PARTNERS,
            "recommends_lcspr": full,
            "rationale": "The criteria for a local child safeguarding practice review were "
            "considered with every agency's summary.",
            "learning_identified": "Exploitation concerns were not escalated between agencies.",
            "immediate_actions": "Placement risk assessment reviewed the same week.",
            "without_summaries": [],
            "reason": "",
            "recorded_by": "Business Manager",
        },
        "panel_response": {
            "received_on": on.isoformat(),
            "view": "agrees",
            "comments": "",
            "recorded_by": "Business Manager",
        },
        "committee_recommendation": {
            "recommendation": choice_label(decision),
            "criteria_met": full,
            **route,
            "rationale": "Considered against the criteria with the decision-making matrix.",
            "recommended_by": "Case Review Committee chair",
        },
        "chair_decision": {
            "decision": choice_label(decision),
            **route,
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
            "recorded_by": "Business Manager",
        },
        "agency_review": {
            "received_on": on.isoformat(),
            "key_learning": "Missed visits were not escalated within the agency.",
            "learning_shared_how": "Learning summary to the performance committee.",
            "recorded_by": "Business Manager",
        },
        "final_report": {
            "approved_on": on.isoformat(),
            "recommendations": RECOMMENDATIONS,
            "approved_by": "Independent Chair",
            "final_report_version": 1,
        },
        "terms_of_reference": {
            "period_from": (on - timedelta(days=540)).isoformat(),
            "period_to": (on - timedelta(days=30)).isoformat(),
            "key_lines_of_enquiry": [
                "How agencies shared information about missed health appointments.",
                "How risk was re-assessed after new concerns about home conditions.",
            ],
            "agencies_in_scope": ["Northbridge Police"],
            "method": method,
            "family_involvement": "The family is invited to meet the lead reviewers.",
            "timetable": [
                {"milestone": "Learning event", "due": (on + timedelta(days=60)).isoformat()},
                {"milestone": "Final report", "due": (on + timedelta(days=170)).isoformat()},
            ],
            "agreed_by": BUSINESS_MANAGER,
        },
        "draft_report": {
            "check_by": (on + timedelta(days=21)).isoformat(),
            "recorded_by": BUSINESS_MANAGER,
        },
        "learning_summary": {
            "review_type": "Serious case review" if full else "Critical incident review",
            "methodology": method,
            "case_summary": "The child was seriously harmed at home; several agencies knew of "
            "missed appointments and poor home conditions.",
            "key_learning": ["Information about missed health visits was not shared."],
            "good_practice": ["School escalated promptly."],
            "recommendations": [
                {
                    "recommendation": "Share missed-appointment information with the health "
                    "visitor within two working days.",
                    "intended_outcome": "Patterns of missed contact are seen early.",
                    "timescale": "Six months",
                }
            ],
            "learning_for_practice": "Missed appointments are a safeguarding signal.",
            "dissemination": "Seven-minute briefing and the board's training programme.",
            "recorded_by": BUSINESS_MANAGER,
        },
        "anonymisation": {"override_reason": "", "cleared_by": BUSINESS_MANAGER},
        "communications": {
            "who_is_told": [
                "Family: told by the lead reviewer a week before publication.",
                "Agencies: told by the business manager a week before publication.",
            ],
            "holding_statement": "The board publishes the review and thanks the "
            "practitioners who took part.",
            "family_told_on": on.isoformat(),
            "agencies_told_on": on.isoformat(),
            "recorded_by": BUSINESS_MANAGER,
        },
        "panel_advice": {
            "publish": True,
            "publication_on": (on + timedelta(days=7)).isoformat(),
            "published_url": "https://northbridge-scp.example/reviews/scr-child-t",
            "reasons_not_to_publish": "",
            "panel_advice": "The panel advised publishing the anonymised report.",
            "advice_received_on": on.isoformat(),
            "decided_by": "Independent Chair",
        },
        "action_plan_signoff": {
            "signed_off_on": on.isoformat(),
            "proceed_without": [],
            "reason": "",
            "recorded_by": "Business Manager",
        },
        "publication": {
            "publish": True,
            "publication_on": (on + timedelta(days=21)).isoformat(),
            "published_url": "https://northbridge-scp.example/reviews/scr-child-t",
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
    # A choice not made is left out, as the form leaves it (the form has no "None" value).
    given = answers[gate] if gate in answers else _event_answer(gate, on)
    return {name: value for name, value in given.items() if value is not None}


def example_plan_csv(report_on: date) -> bytes:
    """The scenario's action plan as the business manager fills the template."""
    lines = [",".join(PLAN_COLUMNS)]
    for recommendation, action, owner, days in PLAN:
        due = (report_on + timedelta(days=days)).isoformat()
        lines.append(
            f'{recommendation},"{action}","{owner}","The change the recommendation seeks",'
            f'{due},"Audit of 20 records each quarter"'
        )
    return ("\n".join(lines) + "\n").encode()


def load_example_plan(rt: Runtime, reference: str) -> bool:
    """The business manager loads the plan and asks its owners to sign off (once: nothing
    happens when the plan is loaded already or the report is not yet approved)."""
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        report_on = store.review_events(session, review.id).get("final_report")
        if report_on is None or plans.action_items(session, review.id):
            return False
        plans.load_plan(
            session,
            review=review,
            items=parse_plan_file("action-plan.csv", example_plan_csv(report_on)),
            actor="Business Manager",
            source="simulation: action-plan.csv",
            now=rt.now(),
        )
    request_signoffs(rt, reference)
    return True


def _committee_closes_what_is_open(rt: Runtime, reference: str) -> None:
    """Without simulated agencies reporting (the flow tests), the committee closes the items
    still open, with its reason, before it closes the review."""
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        numbers = [i.number for i in plans.open_items(session, review.id)]
    for number in numbers:
        close_item(
            rt,
            reference,
            number,
            "Superseded by the board's wider missed-appointments programme.",
            "Performance Committee chair",
            "Measured through the programme's own audit.",
        )


def answer_now(rt: Runtime, reference: str, gate: str, scenario: Scenario) -> dict[str, Any]:
    """The scenario's answer at ``gate`` today. At the timelines gate, as a business manager
    would, it goes on without the agencies that never sent one, giving the reason; at the
    sign-off gate likewise for owner agencies that have not signed (loading the plan first if
    nobody has); at monitoring the committee closes, with its reason, any item still open."""
    run_input = answer(gate, scenario, today(rt.clock))
    run_input |= ReviewDocuments(rt, reference).before(gate)
    if gate == "action_plan_signoff":
        load_example_plan(rt, reference)
        with rt.sessions() as session:
            states = signoff_state(session, store.get_review(session, reference))
        unsigned = [name for name, state in states.items() if state != "signed"]
        if unsigned:
            run_input |= {
                "proceed_without": unsigned,
                "reason": "No sign-off received within the four weeks.",
            }
    if gate == "monitoring":
        _committee_closes_what_is_open(rt, reference)
    if gate == "rapid_review_meeting":
        with rt.sessions() as session:
            review = store.get_review(session, reference)
            awaited = participation.awaited_summaries(session, review.id)
        if awaited:
            run_input |= {
                "without_summaries": awaited,
                "reason": "No summary received by the day of the meeting.",
            }
    if scenario == "iar" and gate in {"committee_recommendation", "chair_decision"}:
        # The agency under review: the first involved agency (sorted by name).
        with rt.sessions() as session:
            involved = store.involved_agencies(session, store.get_review(session, reference).id)
        run_input["agency_under_review"] = involved[0].name
    if gate == "timelines_complete":
        with rt.sessions() as session:
            awaited = store.outstanding_agencies(session, store.get_review(session, reference).id)
        if awaited:
            run_input |= {
                "proceed_without": awaited,
                "reason": "No timeline received by the time the review had to go on.",
            }
    return run_input


def example_report(pseudonym: str, *, title: str, subject_name: str | None = None) -> bytes:
    """A short, fictional overview report in Markdown. With ``subject_name`` it makes the
    mistake the anonymisation check is for: the child's real name in paragraph 4."""
    named = subject_name or pseudonym
    paragraphs = [
        f"# {title}: {pseudonym}",
        "## 1. Introduction",
        f"This review considers how agencies worked together with {pseudonym} and the family.",
        f"{named} was not brought to several health appointments in the months before the "
        "incident.",
        "## 2. Findings",
        "Information about missed appointments was not shared with the health visitor.",
        "## 3. Recommendations",
        "Agencies share missed-appointment information within two working days.",
    ]
    return ("\n\n".join(paragraphs) + "\n").encode()


@dataclass
class ReviewDocuments:
    """What the lead reviewer and the business manager add to the document store before a
    gate, as they would: the draft before the draft gate; before the final report gate a
    first version that names the child (the anonymisation gate refuses it once), then, after
    that refusal, a redacted version."""

    rt: Runtime
    reference: str

    def _add(self, kind: DocumentKind, data: bytes, name: str, by: str) -> None:
        documents.add_document(self.rt, self.reference, kind, name, data, added_by=by)

    def before(self, gate: str) -> dict[str, Any]:
        with self.rt.sessions() as session:
            review = store.get_review(session, self.reference)
            stored = documents_store.newest_versions(session, review.id)
            agencies = [a.name for a in store.involved_agencies(session, review.id)]
            refused = store.refused_answers(session, review.id, "anonymisation")
            real_name = store.known_identity(session, review.id).full_name
            pseudonym = review.pseudonym
        if gate == "terms_of_reference":
            return {"agencies_in_scope": agencies}
        if gate == "draft_report" and DocumentKind.DRAFT_REPORT not in stored:
            draft = example_report(pseudonym, title="Draft overview report")
            self._add(DocumentKind.DRAFT_REPORT, draft, "draft.md", "Independent Reviewer A")
        if gate == "final_report":
            if DocumentKind.FINAL_REPORT not in stored:
                report = example_report(pseudonym, title="Overview report", subject_name=real_name)
                self._add(DocumentKind.FINAL_REPORT, report, "report.md", "Independent Reviewer A")
            return {"final_report_version": stored.get(DocumentKind.FINAL_REPORT, 1)}
        if gate == "anonymisation" and refused and stored.get(DocumentKind.FINAL_REPORT) == 1:
            clean = example_report(pseudonym, title="Overview report")
            self._add(DocumentKind.FINAL_REPORT, clean, "report-redacted.md", "Business Manager")
        return {}


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
        for _ in range(days_before(gate)):
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
DRAFT_LINK = re.compile(r"https?://[^\s<>\"]+/c/[A-Za-z0-9._-]+")
DRAFT = "factual-accuracy check"
SUMMARY_LINK = re.compile(r"https?://[^\s<>\"]+/s/[A-Za-z0-9._-]+")


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


# Agencies send their rapid review summary this many days after the request (the board rule
# gives them ten working days).
SUMMARY_AFTER = 5


@functools.cache
def _browser() -> httpx.Client:
    """The agencies' browser: one client for every portal page the simulation opens (a new
    client per request builds a new TLS context, loading the whole certificate bundle)."""
    return httpx.Client(timeout=60)


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
        self.summaries: set[str] = set()
        self.checked_draft: set[str] = set()

    def __call__(self) -> None:
        with self.rt.sessions() as session:
            review = store.get_review(session, self.reference)
            events = store.review_events(session, review.id)
            requested = events.get("timelines_requested")
            pseudonym, incident = review.pseudonym, review.incident_date
        asked = events.get("summaries_requested")
        if asked is not None and (today(self.rt.clock) - asked).days >= SUMMARY_AFTER:
            self.send_summaries(pseudonym)
        self._check_draft(events.get("draft_check_requested"))
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
            response = _browser().post(
                f"{found.group(0)}/upload",
                files={"file": ("timeline.csv", csv_file, "text/csv")},
            )
            if response.status_code != 200:
                raise RuntimeError(f"portal refused {agency}: {response.status_code}")
            self.uploaded[agency] = 3

    def _check_draft(self, requested: date | None) -> None:
        """Each agency answers the draft check through its own link, a week after it."""
        if requested is None or (today(self.rt.clock) - requested).days < 7:
            return
        for message in self.received():
            agency = message.recipients[0]
            if DRAFT not in message.subject or agency in self.checked_draft:
                continue
            found = DRAFT_LINK.search(message.part("text/plain"))
            if found is None:
                raise RuntimeError(f"no portal link in the draft check request to {agency}")
            response = _browser().post(
                found.group(0),
                data={
                    "section_1": "2. Findings",
                    "comment_1": "The second missed appointment was in March, not April.",
                },
            )
            if response.status_code != 200:
                raise RuntimeError(f"portal refused the comments of {agency}")
            self.checked_draft.add(agency)

    @staticmethod
    def summary_link_in(message: Any) -> str:
        """The agency's own summary link in its request email."""
        found = SUMMARY_LINK.search(message.part("text/plain"))
        if found is None:
            raise RuntimeError(f"no portal link in the summary request to {message.recipients}")
        return found.group(0)

    def send_summaries(self, pseudonym: str) -> None:
        """Each agency asked for a rapid review summary fills in the form behind its link."""
        for message in self.received():
            agency = message.recipients[0]
            if "agency summary requested" not in message.subject or agency in self.summaries:
                continue
            response = _browser().post(
                self.summary_link_in(message),
                data={
                    "involvement": f"{pseudonym} was known to the agency for two years.",
                    "immediate_actions": "A strategy discussion was held the next day.",
                    "learning": "Missing episodes were not shared with the other agencies.",
                },
            )
            if response.status_code != 200:
                raise RuntimeError(f"portal refused {agency}'s summary: {response.status_code}")
            self.summaries.add(agency)


ACTION_LINK = re.compile(r"https?://[^\s<>\"]+/a/[A-Za-z0-9._-]+")
ITEM_FIELD = re.compile(r'name="status_(\d+)"')
AGENCY_GREETING = re.compile(r"Dear (.+),")
QUARTER = re.compile(r"Action plan progress, quarter (\d+):")


class OwnerAgencies:
    """The action plan's owner agencies, answering through the links in the emails they
    received, over HTTP: each signs off its items ``sign_after`` days after it is asked, and
    sends each quarter's progress report ``report_before`` days before it is due: in quarter 1
    its earliest item done and the rest on track, from quarter 2 everything done. The
    simulated business manager loads the plan once the report is in."""

    sign_after = 5
    report_before = 10

    def __init__(self, rt: Runtime, received: Callable[[], list[Any]], reference: str) -> None:
        self.rt, self.received, self.reference = rt, received, reference
        # Per email: when the sign-off request was first seen, or when the report it asks is due.
        self.seen: dict[tuple[str, str], date] = {}
        self.answered: set[tuple[str, str]] = set()
        self.plan_loaded = False

    def __call__(self) -> None:
        self.plan_loaded = self.plan_loaded or load_example_plan(self.rt, self.reference)
        now = today(self.rt.clock)
        for message in self.received():
            key = (message.recipients[0], message.subject)
            asked = QUARTER.search(message.subject)
            if key in self.answered or (
                asked is None and "Your actions in the plan" not in message.subject
            ):
                continue
            if asked is None:
                ready = (now - self.seen.setdefault(key, now)).days >= self.sign_after
            else:
                if key not in self.seen:
                    self.seen[key] = self._due(message, int(asked.group(1)))
                ready = (self.seen[key] - now).days <= self.report_before
            if not ready:
                continue
            if asked is None:
                self._post(message, "signoff", {"decision": "sign", "comment": ""})
            else:
                self._report(message, quarter=int(asked.group(1)))
            self.answered.add(key)

    def _due(self, message: Any, quarter: int) -> date:
        """When the agency's report for ``quarter`` is due (the date its email gives)."""
        with self.rt.sessions() as session:
            review = store.get_review(session, self.reference)
            agency = store.find_agency(session, review.board_id, self._agency(message))
            assert agency is not None
            key = progress_key(self.reference, agency.name, quarter)
            return next(o.due_on for o in store.obligations(session, review.id) if o.key == key)

    @staticmethod
    def _agency(message: Any) -> str:
        return _found(AGENCY_GREETING, message, "agency named", group=1)

    @staticmethod
    def _link(message: Any) -> str:
        return _found(ACTION_LINK, message, "action link")

    def _post(self, message: Any, what: str, data: dict[str, str]) -> None:
        response = _browser().post(f"{self._link(message)}/{what}", data=data)
        if response.status_code != 200:
            raise RuntimeError(f"portal refused {what}: {response.status_code}")

    def _report(self, message: Any, *, quarter: int) -> None:
        page = _browser().get(self._link(message)).text
        data: dict[str, str] = {}
        for position, number in enumerate(sorted(int(n) for n in ITEM_FIELD.findall(page))):
            done = quarter > 1 or position == 0
            data |= {
                f"status_{number}": "done" if done else "on_track",
                f"evidence_{number}": "Case file audit and team minutes.",
                f"impact_{number}": "Follow-up within a week in 18 of 20 audited records."
                if done
                else "",
            }
        self._post(message, "progress", data)


def _found(pattern: re.Pattern[str], message: Any, what: str, group: int = 0) -> str:
    """What ``pattern`` finds in the email's text (an error naming ``what`` if nothing)."""
    found = pattern.search(message.part("text/plain"))
    if found is None:
        raise RuntimeError(f"no {what} in the email to {message.recipients[0]}")
    return found.group(group)
