"""Data access for recommendations, action plans, sign-offs, progress reports, learning themes
and clock-miss reasons.

Every function takes the session and never commits: the caller owns the transaction, so a
refused plan leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.action_plan import PlanItem, check_plan
from models.orm import (
    ActionItem,
    ActionSignoff,
    ActionStatus,
    ActionStatusChange,
    Agency,
    ClockMiss,
    Obligation,
    ProgressReport,
    Recommendation,
    Review,
    ReviewStatus,
    ReviewTheme,
)
from models.schemas import fields_of
from models.store import FieldProblem, InputRejected, add_row, record_audit, review_events

FINISHED = frozenset({ActionStatus.DONE, ActionStatus.CLOSED})
"""An item in one of these needs no more progress reports."""


class ActionItemView(BaseModel):
    """An action plan item as the CLI, the portal and the reports show it (no identity)."""

    id: int
    number: int
    recommendation: int
    action: str
    owner_agency: str
    intended_outcome: str
    due_on: date
    impact_measure: str
    status: ActionStatus
    closed_reason: str | None
    impact_evaluation: str | None


class RecommendationView(BaseModel):
    number: int
    text: str
    intended_outcome: str
    timescale: str
    not_implemented_reason: str | None


# --- recommendations --------------------------------------------------------------------------


def _blank(value: str) -> bool:
    return not value.strip()


def add_recommendation(
    session: Session,
    *,
    review: Review,
    number: int,
    text: str,
    intended_outcome: str,
    timescale: str,
    actor: str,
    now: datetime,
) -> Recommendation:
    """Record a recommendation with its intended outcome and timescale (audited). Refuses,
    naming the field, a number below 1 or already used, and blank text."""
    problems: list[FieldProblem] = []
    if number < 1:
        problems.append(FieldProblem("number", "must be 1 or more"))
    elif get_recommendation(session, review.id, number) is not None:
        problems.append(FieldProblem("number", f"recommendation {number} is already recorded"))
    for field, value in (
        ("text", text),
        ("outcome", intended_outcome),
        ("timescale", timescale),
    ):
        if _blank(value):
            problems.append(FieldProblem(field, "is empty"))
    if problems:
        raise InputRejected(problems)
    row = Recommendation(
        review_id=review.id,
        number=number,
        text=" ".join(text.split()),
        intended_outcome=" ".join(intended_outcome.split()),
        timescale=" ".join(timescale.split()),
        recorded_at=now,
    )
    session.add(row)
    record_audit(session, review.id, actor, "recommendation_recorded", {"number": number}, now)
    session.flush()
    return row


def get_recommendation(session: Session, review_id: int, number: int) -> Recommendation | None:
    return session.scalar(
        select(Recommendation).where(
            Recommendation.review_id == review_id, Recommendation.number == number
        )
    )


def recommendations(session: Session, review_id: int) -> list[Recommendation]:
    """The review's recommendations in number order."""
    return list(
        session.scalars(
            select(Recommendation)
            .where(Recommendation.review_id == review_id)
            .order_by(Recommendation.number)
        )
    )


def recommendation_views(session: Session, review_id: int) -> list[RecommendationView]:
    return [
        RecommendationView.model_validate(r, from_attributes=True)
        for r in recommendations(session, review_id)
    ]


def decline_recommendation(
    session: Session, *, review: Review, number: int, reason: str, actor: str, now: datetime
) -> Recommendation:
    """Record the board's decision not to implement a recommendation, with its reason
    (audited). Refuses an unknown number or a blank reason, naming the field."""
    row = get_recommendation(session, review.id, number)
    problems = []
    if row is None:
        problems.append(FieldProblem("number", f"no recommendation {number} on {review.reference}"))
    if _blank(reason):
        problems.append(FieldProblem("reason", "is empty: say why it will not be implemented"))
    if problems:
        raise InputRejected(problems)
    assert row is not None
    row.not_implemented_reason = " ".join(reason.split())
    row.not_implemented_on = now.date()
    detail = {"number": number, "reason": row.not_implemented_reason}
    record_audit(session, review.id, actor, "recommendation_not_implemented", detail, now)
    return row


# --- action items -----------------------------------------------------------------------------


def action_items(
    session: Session, review_id: int, *, agency_id: int | None = None
) -> list[ActionItem]:
    """The review's items (of one owner agency), in number order."""
    query = select(ActionItem).where(ActionItem.review_id == review_id)
    if agency_id is not None:
        query = query.where(ActionItem.agency_id == agency_id)
    return list(session.scalars(query.order_by(ActionItem.number)))


def open_items(
    session: Session, review_id: int, *, agency_id: int | None = None
) -> list[ActionItem]:
    """Items neither done nor closed."""
    return [
        i for i in action_items(session, review_id, agency_id=agency_id) if i.status not in FINISHED
    ]


def get_item(session: Session, review_id: int, number: int) -> ActionItem | None:
    return session.scalar(
        select(ActionItem).where(ActionItem.review_id == review_id, ActionItem.number == number)
    )


def item_views(
    session: Session, review_id: int, *, agency_id: int | None = None
) -> list[ActionItemView]:
    """The items as views, with the recommendation's number and the owner's name."""
    numbers = {r.id: r.number for r in recommendations(session, review_id)}
    names = {a: n for a, n in session.execute(select(Agency.id, Agency.name)).tuples()}
    return [
        ActionItemView(
            **fields_of(i, ActionItemView),
            recommendation=numbers[i.recommendation_id],
            owner_agency=names[i.agency_id],
        )
        for i in action_items(session, review_id, agency_id=agency_id)
    ]


def owner_agencies(session: Session, review_id: int) -> list[Agency]:
    """The agencies that own at least one item of the review's plan, by name."""
    return list(
        session.scalars(
            select(Agency)
            .where(
                Agency.id.in_(select(ActionItem.agency_id).where(ActionItem.review_id == review_id))
            )
            .order_by(Agency.name)
        )
    )


def load_plan(
    session: Session,
    *,
    review: Review,
    items: Sequence[PlanItem],
    actor: str,
    source: str,
    now: datetime,
) -> list[ActionItem]:
    """Add ``items`` to the review's plan, after :func:`models.action_plan.check_plan` against
    the board's agencies, the recorded recommendations, the final report's date and the items
    already in the plan. New items are numbered on from the last one, start ``not_started``,
    and the load is audited. Raises :class:`PlanRejected` with nothing stored."""
    agencies = {
        a.name: a.id
        for a in session.scalars(select(Agency).where(Agency.board_id == review.board_id))
    }
    recorded = {r.number: r.id for r in recommendations(session, review.id)}
    by_id = {v: k for k, v in recorded.items()}
    existing = [(by_id[i.recommendation_id], i.action) for i in action_items(session, review.id)]
    checked = check_plan(
        items,
        agencies=list(agencies),
        recommendations=set(recorded),
        report_on=review_events(session, review.id).get("final_report"),
        existing=existing,
    )
    last = session.scalar(
        select(func.max(ActionItem.number)).where(ActionItem.review_id == review.id)
    )
    added: list[ActionItem] = []
    for offset, entry in enumerate(checked):
        row = ActionItem(
            review_id=review.id,
            recommendation_id=recorded[entry.item.recommendation],
            number=(last or 0) + offset + 1,
            action=entry.item.action,
            agency_id=agencies[entry.agency],
            intended_outcome=entry.item.intended_outcome,
            due_on=entry.item.due_date,
            impact_measure=entry.item.impact_measure,
            status=ActionStatus.NOT_STARTED,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        added.append(row)
    session.flush()
    for row in added:
        session.add(
            ActionStatusChange(
                item_id=row.id,
                from_status=None,
                to_status=ActionStatus.NOT_STARTED,
                on_date=now.date(),
                source=source,
            )
        )
    record_audit(
        session,
        review.id,
        actor,
        "action_plan_loaded",
        {"items": [r.number for r in added], "source": source},
        now,
    )
    session.flush()
    return added


def set_item_status(
    session: Session,
    item: ActionItem,
    status: ActionStatus,
    *,
    on: date,
    now: datetime,
    source: str,
) -> bool:
    """Move an item to ``status`` and record the change (dated, with its source). Returns
    False, recording nothing, when the item already has that status."""
    if item.status is status:
        return False
    session.add(
        ActionStatusChange(
            item_id=item.id, from_status=item.status, to_status=status, on_date=on, source=source
        )
    )
    item.status = status
    item.updated_at = now
    session.flush()
    return True


def status_changes(session: Session, item_ids: Iterable[int]) -> list[ActionStatusChange]:
    """Every recorded change of the given items, oldest first."""
    return list(
        session.scalars(
            select(ActionStatusChange)
            .where(ActionStatusChange.item_id.in_(list(item_ids)))
            .order_by(ActionStatusChange.on_date, ActionStatusChange.id)
        )
    )


def items_past_due(session: Session, today: date) -> list[ActionItem]:
    """Items of open reviews due before ``today`` that are neither finished nor overdue yet."""
    return list(
        session.scalars(
            select(ActionItem)
            .join(Review, Review.id == ActionItem.review_id)
            .where(
                Review.status == ReviewStatus.OPEN,
                ActionItem.due_on < today,
                ActionItem.status.not_in([*FINISHED, ActionStatus.OVERDUE]),
            )
            .order_by(ActionItem.review_id, ActionItem.number)
        )
    )


def board_overdue_items(session: Session, board_id: int) -> list[tuple[ActionItem, Review, str]]:
    """Overdue items of the board's open reviews, with their review and owner's name, oldest
    due first (for the business manager's weekly digest)."""
    return list(
        session.execute(
            select(ActionItem, Review, Agency.name)
            .join(Review, Review.id == ActionItem.review_id)
            .join(Agency, Agency.id == ActionItem.agency_id)
            .where(
                Review.board_id == board_id,
                Review.status == ReviewStatus.OPEN,
                ActionItem.status == ActionStatus.OVERDUE,
            )
            .order_by(ActionItem.due_on, Review.reference, ActionItem.number)
        ).tuples()
    )


# --- sign-off ---------------------------------------------------------------------------------


def add_signoff(session: Session, *, now: datetime, **fields: Any) -> ActionSignoff:
    """Record one answer of an owner agency (earlier answers are kept; the newest counts):
    ``fields`` are the other :class:`ActionSignoff` columns."""
    return add_row(session, ActionSignoff(recorded_at=now, **fields))


def latest_signoffs(session: Session, review_id: int) -> dict[int, ActionSignoff]:
    """Each agency's newest sign-off answer on the review, by agency id."""
    latest: dict[int, ActionSignoff] = {}
    for row in session.scalars(
        select(ActionSignoff)
        .where(ActionSignoff.review_id == review_id)
        .order_by(ActionSignoff.recorded_at, ActionSignoff.id)
    ):
        latest[row.agency_id] = row
    return latest


# --- progress ---------------------------------------------------------------------------------


def get_progress_report(
    session: Session, review_id: int, agency_id: int, quarter: int
) -> ProgressReport | None:
    return session.scalar(
        select(ProgressReport).where(
            ProgressReport.review_id == review_id,
            ProgressReport.agency_id == agency_id,
            ProgressReport.quarter == quarter,
        )
    )


def add_progress_report(session: Session, *, now: datetime, **fields: Any) -> ProgressReport:
    """Record an owner agency's progress report for one quarter: ``fields`` are the other
    :class:`ProgressReport` columns."""
    return add_row(session, ProgressReport(submitted_at=now, **fields))


def progress_reports(
    session: Session, review_ids: Iterable[int], *, agency_id: int | None = None
) -> list[ProgressReport]:
    """Progress reports of the given reviews, oldest first."""
    query = select(ProgressReport).where(ProgressReport.review_id.in_(list(review_ids)))
    if agency_id is not None:
        query = query.where(ProgressReport.agency_id == agency_id)
    return list(session.scalars(query.order_by(ProgressReport.submitted_at, ProgressReport.id)))


def quarters_opened(session: Session, review_id: int, milestone: str) -> int:
    """How many quarters of progress the review has asked for (its highest quarter)."""
    keys = session.scalars(
        select(Obligation.key).where(
            Obligation.review_id == review_id, Obligation.milestone == milestone
        )
    )
    return max((int(k.rsplit(":q", 1)[1]) for k in keys if ":q" in k), default=0)


# --- learning themes and clock misses ---------------------------------------------------------


def tag_review(
    session: Session,
    *,
    review: Review,
    themes: Sequence[str],
    known: Sequence[str],
    actor: str,
    now: datetime,
) -> list[str]:
    """Tag the review with ``themes`` from the board's list ``known`` (matched case-blind;
    a theme already tagged is kept once). Returns the themes newly tagged, as the list spells
    them; refuses, naming each, a theme not on the list (nothing tagged)."""
    by_name = {k.casefold(): k for k in known}
    problems = [
        FieldProblem(f"theme[{i}]", f"{t!r} is not on the board's theme list ({', '.join(known)})")
        for i, t in enumerate(themes)
        if " ".join(t.split()).casefold() not in by_name
    ]
    if not themes:
        problems.append(FieldProblem("theme", "give at least one theme"))
    if problems:
        raise InputRejected(problems)
    present = set(review_themes(session, review.id))
    added: list[str] = []
    for theme in themes:
        name = by_name[" ".join(theme.split()).casefold()]
        if name in present or name in added:
            continue
        session.add(ReviewTheme(review_id=review.id, theme=name, tagged_by=actor, tagged_at=now))
        added.append(name)
    if added:
        record_audit(session, review.id, actor, "themes_tagged", {"themes": added}, now)
    session.flush()
    return added


def review_themes(session: Session, review_id: int) -> list[str]:
    return list(
        session.scalars(
            select(ReviewTheme.theme)
            .where(ReviewTheme.review_id == review_id)
            .order_by(ReviewTheme.theme)
        )
    )


def record_clock_miss(
    session: Session,
    *,
    review: Review,
    milestone: str,
    reason: str,
    known_milestones: Sequence[str],
    actor: str,
    now: datetime,
) -> ClockMiss:
    """Record (or replace) why the review missed ``milestone``'s clock (audited). Refuses a
    milestone the review has no clock for and a blank reason, naming the field."""
    problems = []
    if milestone not in known_milestones:
        problems.append(
            FieldProblem(
                "milestone",
                f"{review.reference} has no {milestone!r} clock "
                f"(its clocks: {', '.join(known_milestones) or 'none yet'})",
            )
        )
    if _blank(reason):
        problems.append(FieldProblem("reason", "is empty: say why the clock was missed"))
    if problems:
        raise InputRejected(problems)
    row = session.scalar(
        select(ClockMiss).where(ClockMiss.review_id == review.id, ClockMiss.milestone == milestone)
    )
    if row is None:
        row = ClockMiss(review_id=review.id, milestone=milestone)
        session.add(row)
    row.reason = " ".join(reason.split())
    row.recorded_by = actor
    row.recorded_at = now
    detail = {"milestone": milestone, "reason": row.reason}
    record_audit(session, review.id, actor, "clock_miss_recorded", detail, now)
    return row


def clock_miss_reasons(session: Session, review_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    """Recorded miss reasons by (review id, milestone)."""
    return {
        (row.review_id, row.milestone): row.reason
        for row in session.scalars(
            select(ClockMiss).where(ClockMiss.review_id.in_(list(review_ids)))
        )
    }
