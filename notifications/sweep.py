"""What the daily sweep queues: reminders, escalations and the weekly digest.

:func:`services.sweep.run_sweep` runs the whole pass (this, then the timeline gates, then
delivery); this module only selects and queues, inside the caller's transaction.

1. On a working day, select the open obligations the policy chases with one indexed query
   (``status``, ``due_on``), work out the round each has reached, and queue one message per
   recipient (a digest when a recipient has several items), escalating overdue items to the
   safeguarding lead and the business manager (the chair for the board's own deadlines).
   Each round is logged with its messages in the same transaction, so a round is sent once.
2. On the week's first working day (from the policy's weekday), queue the business manager's
   weekly digest of every open obligation, red/amber/green.
Each letter belongs to one board and carries that board's name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from core.clock import LONDON
from core.deadlines import WorkingCalendar
from models import store
from models.action_plan_store import board_overdue_items
from notifications.outbox import queue_message
from notifications.reminders import ReminderPolicy, Round, rag, round_due
from notifications.render import render


class _Candidate(NamedTuple):
    """The columns the sweep needs of one open obligation (no ORM objects: there are many)."""

    obligation_id: int
    description: str
    owed_by: str
    due_on: date
    created_at: datetime
    review_id: int
    reference: str
    pseudonym: str
    agency_name: str | None
    contact_email: str | None
    lead_email: str | None
    board_name: str
    business_manager_email: str
    chair_email: str


@dataclass
class _Item:
    candidate: _Candidate
    round: Round
    context: dict[str, Any]


def _item(
    candidate: _Candidate,
    reached: Round,
    today: date,
    days_overdue: dict[date, int],
    calendar: WorkingCalendar,
) -> _Item:
    """An item and what the templates show of it, worked out once however many get it."""
    due = candidate.due_on
    overdue = due < today
    if overdue and due not in days_overdue:
        days_overdue[due] = calendar.working_days_between(due, today)
    return _Item(
        candidate,
        reached,
        {
            "reference": candidate.reference,
            "pseudonym": candidate.pseudonym,
            "what": candidate.description,
            "owed_by": candidate.owed_by,
            "due": due,
            "state": "overdue" if overdue else reached.kind,
            "days_overdue": days_overdue[due] if overdue else 0,
        },
    )


@dataclass
class _Letter:
    """Everything one recipient gets today: one message."""

    board_name: str
    recipient: str
    label: str
    escalation_role: str | None
    items: list[_Item] = field(default_factory=list)
    note: str = ""


def _candidates(session: Session, today: date, policy: ReminderPolicy) -> list[_Candidate]:
    # A round can come at most this many calendar days before the due date.
    horizon = today + timedelta(days=2 * max(policy.before_working_days, default=0) + 14)
    return list(map(_Candidate._make, store.reminder_candidates(session, horizon, policy.chase)))


def _letters(
    rows: list[_Candidate],
    sent_rounds: set[tuple[int, str]],
    today: date,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
) -> tuple[dict[str, _Letter], list[tuple[_Item, bool]]]:
    letters: dict[str, _Letter] = {}
    due_items: list[tuple[_Item, bool]] = []

    board = ""

    def letter(recipient: str, label: str, role: str | None) -> _Letter:
        # One letter per board, recipient and role: a person on two boards gets each board's
        # items under that board's name.
        key = f"{board}|{recipient}|{role or ''}"
        if key not in letters:
            letters[key] = _Letter(board, recipient, label, role)
        return letters[key]

    known_rounds: dict[date, list[Round]] = {}
    days_overdue: dict[date, int] = {}
    for c in rows:
        board = c.board_name
        opened = c.created_at.astimezone(LONDON).date()
        reached = round_due(c.due_on, opened, today, policy, calendar, known_rounds)
        if reached is None or (c.obligation_id, reached.name) in sent_rounds:
            continue
        item = _item(c, reached, today, days_overdue, calendar)
        due_items.append((item, reached.escalated))
        if c.agency_name is not None:
            primary = c.contact_email or c.lead_email
            if primary is None:
                missing = letter(c.business_manager_email, "business manager", None)
                missing.items.append(item)
                missing.note = (
                    f"No contact email is recorded for {c.agency_name}: please chase them "
                    "directly and record a contact."
                )
            else:
                letter(primary, c.agency_name, None).items.append(item)
            if reached.escalated:
                if c.lead_email and c.lead_email != primary:
                    letter(
                        c.lead_email,
                        f"{c.agency_name} safeguarding lead",
                        "the agency's safeguarding lead",
                    ).items.append(item)
                letter(
                    c.business_manager_email, "business manager", "the board's business manager"
                ).items.append(item)
        else:
            letter(c.business_manager_email, "business manager", None).items.append(item)
            if reached.escalated:
                letter(c.chair_email, "chair", "the board's independent chair").items.append(item)
    return letters, due_items


def queue_reminders(
    session: Session,
    *,
    now: datetime,
    today: date,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
) -> tuple[int, int]:
    """Queue today's reminders and log their rounds. Returns (messages, rounds)."""
    rows = _candidates(session, today, policy)
    if not rows:
        return 0, 0
    sent_rounds = store.sent_reminder_rounds(session, [c.obligation_id for c in rows])
    letters, due_items = _letters(rows, sent_rounds, today, policy, calendar)
    keys_by_obligation: dict[int, list[str]] = defaultdict(list)
    queued = 0
    for letter in letters.values():
        items = letter.items
        review_ids = {i.candidate.review_id for i in items}
        # Several messages may go to one address in a day (say a new item after the first
        # sweep); number them so each has its own key.
        prefix = (
            f"reminders:{today.isoformat()}:{letter.escalation_role or 'owner'}:{letter.recipient}:"
        )
        key = f"{prefix}{store.count_messages(session, key_prefix=prefix) + 1}"
        contexts = [i.context for i in items]
        email = render(
            "reminder",
            board_name=letter.board_name,
            reference=items[0].candidate.reference if len(review_ids) == 1 else "",
            pseudonym=items[0].candidate.pseudonym if len(review_ids) == 1 else "",
            items=contexts,
            escalation=letter.escalation_role is not None,
            escalation_role=letter.escalation_role or "",
            recipient_label=letter.label,
            overdue_count=sum(1 for c in contexts if c["state"] == "overdue"),
            note=letter.note,
        )
        kind = (
            "escalation"
            if letter.escalation_role
            else "overdue_notice"
            if any(c["state"] == "overdue" for c in contexts)
            else "reminder"
        )
        queued += queue_message(
            session,
            key=key,
            review_id=items[0].candidate.review_id if len(review_ids) == 1 else None,
            kind=kind,
            recipient=letter.recipient,
            email=email,
            now=now,
            identity=store.known_identities(session, review_ids),
        )
        for item in items:
            keys_by_obligation[item.candidate.obligation_id].append(key)
    if due_items:
        store.record_reminder_rounds(
            session,
            [
                {
                    "obligation_id": item.candidate.obligation_id,
                    "round": item.round.name,
                    "escalated": escalated,
                    "on_date": today,
                    "outbox_keys": keys_by_obligation[item.candidate.obligation_id],
                }
                for item, escalated in due_items
            ],
        )
    return queued, len(due_items)


def _digest_day(today: date, policy: ReminderPolicy, calendar: WorkingCalendar) -> bool:
    """Is today the first working day on or after this week's digest weekday?"""
    target = today - timedelta(days=today.weekday() - policy.weekly_digest_weekday)
    if today < target:
        return False
    first = target if calendar.is_working_day(target) else calendar.add_working_days(target, 1)
    return first == today


def queue_weekly_digest(
    session: Session,
    *,
    now: datetime,
    today: date,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
) -> bool:
    """Queue the business manager's weekly red/amber/green digest (once a week per board)."""
    if not _digest_day(today, policy, calendar):
        return False
    queued_any = False
    for board in store.boards(session):
        rows = store.board_open_obligations(session, board.id)
        items = [
            {
                "rag": rag(o.due_on, today, policy, calendar),
                "reference": r.reference,
                "pseudonym": r.pseudonym,
                "what": o.description,
                "owed_by": o.owed_by,
                "due": o.due_on,
            }
            for o, r in rows
        ]
        counts = {c: sum(1 for i in items if i["rag"] == c) for c in ("red", "amber", "green")}
        overdue = board_overdue_items(session, board.id)
        overdue_reviews = {r.id for _, r, _ in overdue}
        late_actions = [
            {
                "reference": r.reference,
                "pseudonym": r.pseudonym,
                "number": item.number,
                "action": item.action,
                "owner": owner,
                "due": item.due_on,
            }
            for item, r, owner in overdue
        ]
        year, week, _ = today.isocalendar()
        queued_any |= queue_message(
            session,
            key=f"weekly_digest:{year}-W{week:02d}:{board.business_manager_email}",
            review_id=None,
            kind="weekly_digest",
            recipient=board.business_manager_email,
            email=render(
                "weekly_digest",
                board_name=board.name,
                reference="",
                pseudonym="",
                items=items,
                counts=counts,
                week_of=today,
                amber_days=policy.amber_within_working_days,
                overdue_actions=late_actions,
            ),
            now=now,
            identity=store.known_identities(session, {r.id for _, r in rows} | overdue_reviews),
        )
    return queued_any
