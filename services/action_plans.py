"""Action plans followed to the end: each owner agency signs off its own items, reports
progress quarterly until its items are done, and the committee closes what it decides to close.

Obligations carry the chasing: one ``action_plan_signoff`` obligation per owner agency (not per
involved agency), and one ``action_progress`` obligation per owner agency per quarter, keyed by
:func:`core.names.progress_key`, so the sweep chases exactly what is still owed and a replay
opens nothing twice. Owner agencies answer through their own signed portal link
(:func:`action_link`, a salt of its own: a timeline link does not open these pages).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal
from uuid import UUID

from sqlalchemy.orm import Session

from core.names import AgencyDuty, Gate, agency_obligation_key, obligation_key, progress_key
from models import action_plan_store as plans
from models import store
from models.identity_guard import TextIndex
from models.orm import (
    ActionItem,
    ActionStatus,
    Agency,
    ObligationStatus,
    Review,
    SignoffDecision,
)
from models.store import FieldProblem, InputRejected
from notifications.outbox import queue_review_email
from services.links import LinkKind
from services.resume import answer_gate_itself
from services.runtime import Runtime

SIGNOFF_MILESTONE = "action_plan_signoff"
PROGRESS_MILESTONE = "action_progress"

REPORTABLE = (
    ActionStatus.NOT_STARTED,
    ActionStatus.ON_TRACK,
    ActionStatus.AT_RISK,
    ActionStatus.DONE,
)
"""What an owner agency may report; ``overdue`` follows from the date and ``closed`` is the
committee's."""

SignoffState = Literal["awaited", "signed", "change_requested", "missing"]


class ActionRefused(ValueError):
    """The answer cannot be taken now (nothing is owed, or it was already given)."""


# --- links --------------------------------------------------------------------------------


ACTION_LINK = LinkKind(
    "a",
    "action-plan-link",
    lambda session, review: {a.id for a in plans.owner_agencies(session, review.id)},
    "agency owns no action on the review",
)
action_link = ACTION_LINK.link
read_action_token = ACTION_LINK.read


# --- helpers ------------------------------------------------------------------------------


def _owner(session: Session, review: Review, agency: str) -> Agency:
    found = store.find_agency(session, review.board_id, agency)
    owners = plans.owner_agencies(session, review.id)
    if found is None or found.id not in {a.id for a in owners}:
        names = ", ".join(a.name for a in owners) or "none"
        raise InputRejected(
            [
                FieldProblem(
                    "agency",
                    f"{agency!r} owns no action in the plan for {review.reference} "
                    f"(owners: {names})",
                )
            ]
        )
    return found


def _identity_problems(
    session: Session, review: Review, fields: Sequence[tuple[str, str]]
) -> list[FieldProblem]:
    identity = store.known_identity(session, review.id)
    problems = []
    for field, text in fields:
        leaks = TextIndex(text).leaks(identity)
        if leaks:
            problems.append(
                FieldProblem(
                    field,
                    f"contains the subject's {' and '.join(leaks)}; use the pseudonym "
                    f"({review.pseudonym})",
                )
            )
    return problems


def _queue_link_email(
    rt: Runtime,
    session: Session,
    review: Review,
    agency: Agency,
    *,
    kind: str,
    purpose: str,
    due: date,
    **context: object,
) -> bool:
    """Queue one email with the agency's action link (once per purpose and recipient)."""
    if not agency.contact_email:
        return False  # the sweep reports agencies without a contact to the business manager
    return queue_review_email(
        session,
        review,
        kind=kind,
        recipient=agency.contact_email,
        key=purpose,
        now=rt.now(),
        agency_name=agency.name,
        due=due,
        link=action_link(rt, review.reference, agency.id, due),
        **context,
    )


# --- sign-off -----------------------------------------------------------------------------


def open_signoffs(session: Session, review: Review, due_on: date, now: datetime) -> list[Agency]:
    """Open one ``action_plan_signoff`` obligation per OWNER agency of the plan (keyed by
    review, duty and agency, so doing it again opens none twice); returns the owners."""
    owners = plans.owner_agencies(session, review.id)
    for agency in owners:
        store.upsert_obligation(
            session,
            key=agency_obligation_key(review.reference, AgencyDuty.SIGNOFF, agency.name),
            review_id=review.id,
            milestone=SIGNOFF_MILESTONE,
            description="action plan sign-off (your agency's own actions)",
            owed_by=agency.name,
            agency_id=agency.id,
            owed_to="board",
            due_on=due_on,
            now=now,
        )
    return owners


def request_signoffs(rt: Runtime, reference: str, due_on: date | None = None) -> int:
    """Open the owner agencies' sign-off obligations (due by the regime's
    ``action_plan_signoff`` date unless ``due_on`` is given) and queue each its link, once.
    Returns the messages newly queued."""
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        if due_on is None:
            due_on = _deadline(session, rt, review, SIGNOFF_MILESTONE)
        queued = 0
        for agency in open_signoffs(session, review, due_on, rt.now()):
            items = len(plans.action_items(session, review.id, agency_id=agency.id))
            queued += _queue_link_email(
                rt,
                session,
                review,
                agency,
                kind="action_signoff_link",
                purpose="action_signoff",
                due=due_on,
                items=items,
            )
    return queued


SIGNOFF_LINKS_RESENT = "signoff_links_resent"


def resend_signoff_links(rt: Runtime, reference: str, actor: str) -> int:
    """Queue each owner agency that has not yet answered its sign-off a fresh link (signed
    with the portal's key now, so a link once signed with another key is replaced), under a
    new outbox key per resend (``action_signoff:resend:N``: each resend sends once, a replay
    of it none twice). Audited, with the agencies written to, in the same transaction.
    Returns the messages queued; refused if no sign-off was ever requested."""
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        awaited = store.open_obligations(session, review.id, milestone=SIGNOFF_MILESTONE)
        if not store.obligations(session, review.id, milestone=SIGNOFF_MILESTONE):
            raise ActionRefused(f"{reference}: no sign-off was requested yet (request-signoff)")
        resend = 1 + store.count_audit(session, review.id, SIGNOFF_LINKS_RESENT)
        owners = {a.id: a for a in plans.owner_agencies(session, review.id)}
        queued, written = 0, []
        for obligation in awaited:
            agency = owners.get(obligation.agency_id or -1)
            if agency is None:
                continue
            items = len(plans.action_items(session, review.id, agency_id=agency.id))
            if _queue_link_email(
                rt,
                session,
                review,
                agency,
                kind="action_signoff_link",
                purpose=f"action_signoff:resend:{resend}",
                due=obligation.due_on,
                items=items,
            ):
                queued += 1
                written.append(agency.name)
        store.record_audit(
            session,
            review.id,
            actor,
            SIGNOFF_LINKS_RESENT,
            {"resend": resend, "agencies": written},
            rt.now(),
            key=f"{reference}:{SIGNOFF_LINKS_RESENT}:{resend}",
        )
    return queued


def _deadline(session: Session, rt: Runtime, review: Review, milestone: str) -> date:
    for deadline in store.review_deadlines(session, review, rt.deadlines):
        if deadline.milestone == milestone:
            return deadline.due
    raise ActionRefused(f"{review.reference} has no {milestone} date yet (no final report?)")


def record_signoff(
    rt: Runtime,
    reference: str,
    agency: str,
    signed: bool,
    comment: str = "",
    *,
    recorded_by: str | None = None,
) -> SignoffState:
    """Record an owner agency's sign-off of its own items, or its request for a change (which
    needs a comment). Signing meets the agency's obligation; a change request leaves it open
    for the business manager to revise the plan. When every owner has signed (or is recorded
    missing), the ``action_plan_signed_off`` event is recorded (once: the first date stays),
    starting the quarterly progress clock. Audited; refused input names the field."""
    text = " ".join(comment.split())
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        owner = _owner(session, review, agency)
        problems = []
        if not signed and not text:
            problems.append(FieldProblem("comment", "is empty: say what should change"))
        problems += _identity_problems(session, review, [("comment", text)])
        if problems:
            raise InputRejected(problems)
        obligation = store.agency_obligation(session, review, AgencyDuty.SIGNOFF, owner)
        if obligation is None:
            raise ActionRefused(f"{reference} has not asked {owner.name} to sign off yet")
        if obligation.status is not ObligationStatus.OPEN:
            raise ActionRefused(f"{owner.name}'s sign-off on {reference} is already closed")
        decision = SignoffDecision.SIGNED if signed else SignoffDecision.CHANGE_REQUESTED
        who = recorded_by or owner.name
        _record_answer(session, review, owner, decision, text, who, rt.now())
        if signed:
            store.meet_obligation(session, key=obligation.key, on_date=rt.today())
        store.record_audit(
            session,
            review.id,
            who,
            "action_plan_signoff_recorded",
            {"agency": owner.name, "decision": decision.value, "comment": text},
            rt.now(),
        )
        _signed_off_when_complete(session, rt, review)
        state = signoff_state(session, review)[owner.name]
        ready = _signoff_gate_ready(session, review)
    if ready is not None:
        _resume_signoff_gate(rt, reference, ready)
    return state


def _signoff_gate_ready(session: Session, review: Review) -> UUID | None:
    """The run to resume when the review waits at the sign-off gate and every owner agency
    has signed (an agency recorded missing is the business manager's answer to give)."""
    if review.flow_run_id is None or review.waiting_at != Gate.ACTION_PLAN_SIGNOFF:
        return None
    states = signoff_state(session, review)
    if not states or any(s != "signed" for s in states.values()):
        return None
    return UUID(review.flow_run_id)


def _resume_signoff_gate(rt: Runtime, reference: str, run_id: UUID) -> bool:
    return answer_gate_itself(
        rt,
        reference,
        run_id,
        {
            "signed_off_on": rt.today().isoformat(),
            "proceed_without": [],
            "reason": "",
            "recorded_by": "case-reviews (every owner agency signed off)",
        },
        audit_action="signoff_gate_resumed",
        why="every owner agency has signed off",
    )


def resume_complete_signoff_gates(rt: Runtime) -> list[str]:
    """Resume every sign-off gate whose owner agencies have all signed but which still waits
    (the last sign-off came while the flow was on its way to the gate). The sweep calls this.
    Returns the references resumed."""
    with rt.sessions() as session:
        ready = [
            (review.reference, run_id)
            for review in store.reviews_waiting_at(session, Gate.ACTION_PLAN_SIGNOFF)
            if (run_id := _signoff_gate_ready(session, review)) is not None
        ]
    return [reference for reference, run_id in ready if _resume_signoff_gate(rt, reference, run_id)]


def _signed_off_when_complete(session: Session, rt: Runtime, review: Review) -> None:
    states = signoff_state(session, review)
    if states and all(s in ("signed", "missing") for s in states.values()):
        store.record_event(
            session, review_id=review.id, name="action_plan_signed_off", on_date=rt.today()
        )
        # The board's own sign-off clock is met the day the last owner answers, not when the
        # flow next runs: nobody is chased for a plan already signed off.
        store.meet_obligation(
            session,
            key=obligation_key(review.reference, SIGNOFF_MILESTONE),
            on_date=rt.today(),
            note=", ".join(f"{name}: {state}" for name, state in sorted(states.items())),
        )


def _record_answer(
    session: Session,
    review: Review,
    owner: Agency,
    decision: SignoffDecision,
    comment: str,
    by: str,
    now: datetime,
) -> None:
    """One sign-off answer of an owner agency (or the board's record that it is missing)."""
    answer = {"decision": decision, "comment": comment, "recorded_by": by}
    plans.add_signoff(session, review_id=review.id, agency_id=owner.id, now=now, **answer)


def signoff_state(session: Session, review: Review) -> dict[str, SignoffState]:
    """Each owner agency's sign-off, by name: ``signed``, ``change_requested``, ``missing``
    (the board went on without it) or ``awaited`` (no answer yet)."""
    latest = plans.latest_signoffs(session, review.id)
    states: dict[str, SignoffState] = {}
    for agency in plans.owner_agencies(session, review.id):
        row = latest.get(agency.id)
        states[agency.name] = "awaited" if row is None else row.decision.value
    return states


def proceed_without_signoff(
    rt: Runtime, reference: str, agency: str, reason: str, actor: str
) -> None:
    """Go on without an owner agency's sign-off: the reason is required; the agency's
    obligation is closed as ``waived`` (not met) with the reason, its sign-off is recorded as
    ``missing`` (which the reports count), and it is audited."""
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        owner = _owner(session, review, agency)
        obligation = store.agency_obligation(session, review, AgencyDuty.SIGNOFF, owner)
        if obligation is not None and obligation.status is ObligationStatus.MET:
            raise ActionRefused(f"{owner.name} has already signed off {reference}")
        go_on_without(session, rt, review, owner, reason, actor)


def go_on_without(
    session: Session, rt: Runtime, review: Review, owner: Agency, reason: str, actor: str
) -> bool:
    """:func:`proceed_without_signoff` inside the caller's transaction, for an owner known to
    be on the plan. Doing it again for an agency already recorded missing records nothing
    (returns False), so the sign-off stage can be replayed."""
    text = " ".join(reason.split())
    problems = []
    if not text:
        problems.append(FieldProblem("reason", "is empty: say why the plan goes on without it"))
    problems += _identity_problems(session, review, [("reason", text)])
    if problems:
        raise InputRejected(problems)
    if signoff_state(session, review).get(owner.name) == "missing":
        return False
    obligation = store.agency_obligation(session, review, AgencyDuty.SIGNOFF, owner)
    if obligation is not None and obligation.status is ObligationStatus.OPEN:
        obligation.status = ObligationStatus.WAIVED
        obligation.note = f"proceeded without sign-off: {text}"
    _record_answer(session, review, owner, SignoffDecision.MISSING, text, actor, rt.now())
    store.record_audit(
        session,
        review_id=review.id,
        actor=actor,
        action="action_plan_signoff_missing",
        detail={"agency": owner.name, "reason": text},
        at=rt.now(),
    )
    _signed_off_when_complete(session, rt, review)
    return True


# --- quarterly progress -------------------------------------------------------------------


def open_progress_quarter(
    rt: Runtime, reference: str, quarter_number: int, due_on: date
) -> list[str]:
    """Ask each owner agency with open items for its ``quarter_number`` progress report, due
    ``due_on``: one ``action_progress`` obligation each (keyed per quarter) and one email with
    its link. A quarter with nothing open opens nothing. Returns the agencies asked."""
    with rt.sessions.begin() as session:
        return open_quarter(
            rt, session, store.get_review(session, reference), quarter_number, due_on
        )


def open_quarter(
    rt: Runtime, session: Session, review: Review, quarter_number: int, due_on: date
) -> list[str]:
    """:func:`open_progress_quarter` inside the caller's transaction (keyed: a replay opens
    and sends nothing twice)."""
    return [
        agency.name
        for agency in plans.owner_agencies(session, review.id)
        if _open_progress_for(rt, session, review, agency, quarter_number, due_on)
    ]


def _open_progress_for(
    rt: Runtime, session: Session, review: Review, agency: Agency, quarter: int, due_on: date
) -> bool:
    open_items = plans.open_items(session, review.id, agency_id=agency.id)
    if not open_items:
        return False
    store.upsert_obligation(
        session,
        key=progress_key(review.reference, agency.name, quarter),
        review_id=review.id,
        milestone=PROGRESS_MILESTONE,
        description=f"quarterly action plan progress report (quarter {quarter})",
        owed_by=agency.name,
        agency_id=agency.id,
        owed_to="performance committee",
        due_on=due_on,
        now=rt.now(),
    )
    _queue_link_email(
        rt,
        session,
        review,
        agency,
        kind="progress_request",
        purpose=f"progress_q{quarter}",
        due=due_on,
        quarter=quarter,
        items=len(open_items),
    )
    return True


@dataclass(frozen=True)
class ItemUpdate:
    """An owner agency's word on one of its items for the quarter."""

    number: int
    status: str
    evidence: str
    impact: str = ""


@dataclass(frozen=True)
class ProgressResult:
    reference: str
    agency: str
    quarter: int
    items: int
    next_quarter_due: date | None


def current_progress_quarter(session: Session, review: Review, agency: Agency) -> int | None:
    """The quarter whose progress report the agency still owes (its open obligation), if any."""
    prefix = agency_obligation_key(review.reference, AgencyDuty.PROGRESS, agency.name) + ":q"
    quarters = [
        int(o.key.removeprefix(prefix))
        for o in store.open_obligations(session, review.id, milestone=PROGRESS_MILESTONE)
        if o.key.startswith(prefix)
    ]
    return min(quarters) if quarters else None


def record_progress(
    rt: Runtime,
    reference: str,
    agency: str,
    quarter_number: int,
    updates: Sequence[ItemUpdate],
    *,
    submitted_by: str | None = None,
) -> ProgressResult:
    """Store an owner agency's progress report for the quarter: each of its open items' status,
    evidence and impact so far. All or nothing, every problem named by field (``item 3 status``):
    each open item once, a status the agency may give, evidence for each, no identity in the
    text. It updates the items (dated changes), meets that quarter's obligation, is audited,
    and, if the agency still has open items, opens its next quarter, due by the recurring
    ``action_progress`` rule."""
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        owner = _owner(session, review, agency)
        key = progress_key(reference, owner.name, quarter_number)
        obligation = next((o for o in store.obligations(session, review.id) if o.key == key), None)
        if obligation is None:
            raise ActionRefused(
                f"{owner.name} was not asked for a quarter {quarter_number} report on {reference}"
            )
        if plans.get_progress_report(session, review.id, owner.id, quarter_number) is not None:
            raise ActionRefused(
                f"{owner.name} has already reported quarter {quarter_number} on {reference}"
            )
        items = {i.number: i for i in plans.open_items(session, review.id, agency_id=owner.id)}
        problems = _check_updates(session, review, items, updates)
        if problems:
            raise InputRejected(problems)
        today, now, who = rt.today(), rt.now(), submitted_by or owner.name
        stored = []
        for update in updates:
            item = items[update.number]
            status = ActionStatus(update.status)
            if status is not ActionStatus.DONE and item.due_on < today:
                status = ActionStatus.OVERDUE  # past its date and not done, whatever was hoped
            plans.set_item_status(
                session, item, status, on=today, now=now, source=f"progress q{quarter_number}"
            )
            if status is ActionStatus.DONE and update.impact.strip():
                item.impact_evaluation = " ".join(update.impact.split())
            stored.append(
                {
                    "item": item.number,
                    "reported_status": update.status,
                    "status": status.value,
                    "evidence": " ".join(update.evidence.split()),
                    "impact": " ".join(update.impact.split()),
                }
            )
        report = {"quarter": quarter_number, "submitted_by": who, "updates": stored}
        plans.add_progress_report(
            session, review_id=review.id, agency_id=owner.id, now=now, **report
        )
        store.meet_obligation(session, key=key, on_date=today)
        store.record_audit(
            session,
            review.id,
            who,
            "action_progress_reported",
            {"agency": owner.name, "quarter": quarter_number, "items": len(stored)},
            now,
        )
        next_due = None
        if plans.open_items(session, review.id, agency_id=owner.id):
            next_due = next_quarter_due(rt, session, review, quarter_number, obligation.due_on)
            _open_progress_for(rt, session, review, owner, quarter_number + 1, next_due)
        return ProgressResult(reference, owner.name, quarter_number, len(stored), next_due)


def _check_updates(
    session: Session,
    review: Review,
    items: dict[int, ActionItem],
    updates: Sequence[ItemUpdate],
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    seen: set[int] = set()
    allowed = ", ".join(s.value for s in REPORTABLE)
    for update in updates:
        field = f"item {update.number}"
        if update.number not in items:
            problems.append(FieldProblem(field, "is not one of your open items"))
            continue
        if update.number in seen:
            problems.append(FieldProblem(field, "is reported twice"))
        seen.add(update.number)
        if update.status not in {s.value for s in REPORTABLE}:
            problems.append(
                FieldProblem(f"{field} status", f"{update.status!r} is not one of: {allowed}")
            )
        if not update.evidence.strip():
            problems.append(FieldProblem(f"{field} evidence", "is empty: say what shows progress"))
        if update.status == ActionStatus.DONE.value and not update.impact.strip():
            problems.append(
                FieldProblem(
                    f"{field} impact",
                    "is empty: for a done item, say what changed and how it was measured",
                )
            )
        problems += _identity_problems(
            session,
            review,
            [(f"{field} evidence", update.evidence), (f"{field} impact", update.impact)],
        )
    problems.extend(
        FieldProblem(f"item {number}", "is missing: report on each of your open items")
        for number in sorted(set(items) - seen)
    )
    return problems


def next_quarter_due(
    rt: Runtime, session: Session, review: Review, quarter_number: int, this_due: date
) -> date:
    """Quarter ``quarter_number + 1``'s due date: the recurring ``action_progress`` rule's
    occurrence counted from the plan's sign-off, or, with no sign-off recorded, one period
    after this quarter's due date."""
    base = store.review_events(session, review.id).get("action_plan_signed_off")
    regime = review.regime.value
    if base is not None:
        until = date(base.year + quarter_number + 2, 12, 31)  # past quarter n+1 for any period
        found = rt.deadlines.occurrences(regime, PROGRESS_MILESTONE, base, until)
        if len(found) > quarter_number:
            return found[quarter_number]
    until = date(this_due.year + 2, 12, 31)
    return rt.deadlines.occurrences(regime, PROGRESS_MILESTONE, this_due, until)[0]


def mark_overdue_items(session: Session, today: date, now: datetime | None = None) -> list[int]:
    """Turn items of open reviews that are past their due date (not done, not closed) to
    ``overdue``, each change dated ``today``. Returns their ids; a second pass finds none."""
    stamp = now or datetime.combine(today, time(0), tzinfo=UTC)
    changed = []
    for item in plans.items_past_due(session, today):
        plans.set_item_status(
            session, item, ActionStatus.OVERDUE, on=today, now=stamp, source="due date passed"
        )
        changed.append(item.id)
    return changed


def close_item(
    rt: Runtime,
    reference: str,
    item: int,
    reason: str,
    actor: str,
    impact_evaluation: str = "",
) -> None:
    """The performance committee closes an item, with its reason (and, if given, the impact
    evaluation: what changed and how it was measured). Audited; a blank reason, an unknown or
    already closed item is refused, naming the field."""
    text = " ".join(reason.split())
    impact = " ".join(impact_evaluation.split())
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        row = plans.get_item(session, review.id, item)
        problems = []
        if row is None:
            problems.append(FieldProblem("item", f"no item {item} in the plan for {reference}"))
        elif row.status is ActionStatus.CLOSED:
            problems.append(FieldProblem("item", f"item {item} is already closed"))
        if not text:
            problems.append(FieldProblem("reason", "is empty: say why the committee closes it"))
        problems += _identity_problems(
            session, review, [("reason", text), ("impact_evaluation", impact)]
        )
        if problems:
            raise InputRejected(problems)
        assert row is not None
        row.closed_reason = text
        if impact:
            row.impact_evaluation = impact
        plans.set_item_status(
            session, row, ActionStatus.CLOSED, on=rt.today(), now=rt.now(), source="committee"
        )
        store.record_audit(
            session,
            review.id,
            actor,
            "action_item_closed",
            {"item": item, "reason": text},
            rt.now(),
        )


def plan_facts(session: Session, review: Review) -> dict[str, Any]:
    """What the sign-off and monitoring gates' rules need to know of the plan
    (the plan fields of :class:`models.answers.GateFacts`)."""
    items = plans.item_views(session, review.id)
    answered = {i.recommendation for i in items}
    return {
        "plan_items": len(items),
        "unplanned_recommendations": [
            r.number
            for r in plans.recommendations(session, review.id)
            if r.not_implemented_reason is None and r.number not in answered
        ],
        "signoffs": dict(signoff_state(session, review)),
        "open_actions": [
            f"item {i.number} ({i.owner_agency}, {i.status.value.replace('_', ' ')})"
            for i in items
            if i.status not in plans.FINISHED
        ],
        "unevaluated_actions": [
            i.number
            for i in items
            if i.status is ActionStatus.DONE and not (i.impact_evaluation or "").strip()
        ],
    }


def plan_complete(session: Session, review: Review) -> bool:
    """Whether the plan is finished: every recommendation the board implements has at least
    one item, and every item is done or closed by the committee with a reason."""
    items = plans.action_items(session, review.id)
    answered = {i.recommendation_id for i in items}
    for recommendation in plans.recommendations(session, review.id):
        if recommendation.not_implemented_reason is None and recommendation.id not in answered:
            return False
    return all(
        i.status is ActionStatus.DONE or (i.status is ActionStatus.CLOSED and i.closed_reason)
        for i in items
    )
