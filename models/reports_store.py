"""The figures of the performance committee's quarterly report and the board's annual report
pack, computed from the case store (session in, no commit; nothing here renders).

Every figure is pseudonymised: references, regimes, pseudonyms, agency names and the board's own
words (recommendations, actions, reasons); never the subject's identity.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import action_plan_store as plans
from models.orm import (
    ActionItem,
    ActionSignoff,
    ActionStatus,
    ActionStatusChange,
    Agency,
    AuditEvent,
    Board,
    Decision,
    Obligation,
    ObligationStatus,
    Recommendation,
    Referral,
    Regime,
    Review,
    ReviewDelay,
    ReviewEvent,
    ReviewStatus,
    ReviewTheme,
    SignoffDecision,
)

Rag = Literal["red", "amber", "green"]

AMBER_WINDOW = timedelta(days=90)
"""An item not started and due within this long after the quarter is amber."""

CLOCKS: dict[str, str] = {
    "chair_decision": "chair decision",
    "panel_notification": "panel notification",
    "rapid_review": "rapid review",
    "review_completion": "completion",
    "panel_copy": "publication (copy to the panel before publication)",
}
"""The statutory clocks the annual report accounts for, with the words it uses."""


# --- quarters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2027Q1`` (or ``2027-Q1``, ``2027q1``); ValueError naming what is expected."""
        match = re.fullmatch(r"(\d{4})-?[Qq]([1-4])", text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a quarter: use YYYYQn, e.g. 2027Q1")
        return cls(int(match[1]), int(match[2]))

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        following = self.next().start
        return following - timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + self.number // 4, self.number % 4 + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - (self.number == 1), (self.number - 2) % 4 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


# --- shared -----------------------------------------------------------------------------------


def _status_at(changes: list[ActionStatusChange], day: date) -> ActionStatus | None:
    """The status after the last change on or before ``day`` (None: the item did not exist)."""
    status = None
    for change in changes:
        if change.on_date > day:
            break
        status = change.to_status
    return status


def _effective(status: ActionStatus, due_on: date, day: date) -> ActionStatus:
    # An item past its date and not finished is overdue, whether or not a sweep has marked it.
    if status not in plans.FINISHED and due_on < day:
        return ActionStatus.OVERDUE
    return status


def rag(status: ActionStatus, due_on: date, day: date) -> Rag:
    """Red: overdue. Amber: at risk, or not started and due within 90 days. Green otherwise
    (on track, done, closed, or not started with time in hand)."""
    if status is ActionStatus.OVERDUE:
        return "red"
    if status is ActionStatus.AT_RISK:
        return "amber"
    if status is ActionStatus.NOT_STARTED and due_on <= day + AMBER_WINDOW:
        return "amber"
    return "green"


def _board_reviews(session: Session, board_id: int) -> list[Review]:
    return list(
        session.scalars(
            select(Review).where(Review.board_id == board_id).order_by(Review.reference)
        )
    )


def _closed_on(session: Session, board_id: int) -> dict[int, date]:
    """When each closed review of the board was closed (its ``review_closed`` audit record)."""
    return {
        review_id: at.date()
        for review_id, at in session.execute(
            select(AuditEvent.review_id, AuditEvent.at)
            .join(Review, Review.id == AuditEvent.review_id)
            .where(Review.board_id == board_id, AuditEvent.action == "review_closed")
        ).tuples()
        if review_id is not None
    }


def _changes_by_item(
    session: Session, item_ids: Iterable[int]
) -> dict[int, list[ActionStatusChange]]:
    found: dict[int, list[ActionStatusChange]] = defaultdict(list)
    for change in plans.status_changes(session, item_ids):
        found[change.item_id].append(change)
    return found


def _agency_names(session: Session, board_id: int) -> dict[int, str]:
    query = select(Agency.id, Agency.name).where(Agency.board_id == board_id)
    return {agency_id: name for agency_id, name in session.execute(query).tuples()}


def _events(session: Session, review_ids: list[int], name: str) -> dict[int, date]:
    query = select(ReviewEvent.review_id, ReviewEvent.on_date).where(
        ReviewEvent.review_id.in_(review_ids), ReviewEvent.name == name
    )
    return {review_id: on for review_id, on in session.execute(query).tuples()}


# --- the quarterly report ---------------------------------------------------------------------


class QuarterItem(BaseModel):
    reference: str
    item: int
    recommendation: int
    action: str
    owner: str
    due_on: date
    status: ActionStatus
    status_last_quarter: ActionStatus | None
    rag: Rag
    changed: str
    evidence: str
    impact: str


class PlanSummary(BaseModel):
    reference: str
    regime: Regime
    pseudonym: str
    items: int
    red: int
    amber: int
    green: int
    done_or_closed: int


class QuarterlyReport(BaseModel):
    board: str
    quarter: str
    start: date
    end: date
    plans: list[PlanSummary]
    items: list[QuarterItem]
    overdue: list[QuarterItem]
    may_close: list[QuarterItem]
    progress_reports_received: int


def quarterly_report(session: Session, board: Board, quarter: Quarter) -> QuarterlyReport:
    """Every open plan of the board as at the quarter's end: each item's status and RAG, its
    status at the end of the previous quarter (what changed), the latest evidence and impact
    its owner reported, the overdue items with their owner, and the items the committee may
    close (reported done, not yet closed)."""
    end, last_end = quarter.end, quarter.previous().end
    names = _agency_names(session, board.id)
    summaries: list[PlanSummary] = []
    rows: list[QuarterItem] = []
    closed = _closed_on(session, board.id)
    # Open at the quarter's end: a review closed since still shows in that quarter's report.
    reviews = [
        r
        for r in _board_reviews(session, board.id)
        if r.status is ReviewStatus.OPEN or (r.id in closed and closed[r.id] > end)
    ]
    reports = plans.progress_reports(session, [r.id for r in reviews])
    received = sum(1 for r in reports if quarter.start <= r.submitted_at.date() <= end)
    latest_word: dict[tuple[int, int], dict[str, str]] = {}
    for report in reports:
        if report.submitted_at.date() <= end:
            for update in report.updates:
                latest_word[(report.review_id, int(update["item"]))] = update
    for review in reviews:
        items = plans.action_items(session, review.id)
        if not items:
            continue
        numbers = {r.id: r.number for r in plans.recommendations(session, review.id)}
        changes = _changes_by_item(session, [i.id for i in items])
        plan_rows: list[QuarterItem] = []
        for item in items:
            status = _status_at(changes[item.id], end)
            if status is None:
                continue  # added after the quarter
            status = _effective(status, item.due_on, end)
            before = _status_at(changes[item.id], last_end)
            before = _effective(before, item.due_on, last_end) if before is not None else None
            if before is None:
                changed = "new this quarter"
            elif before is not status:
                changed = f"{before.value.replace('_', ' ')} → {status.value.replace('_', ' ')}"
            else:
                changed = "no change"
            word = latest_word.get((review.id, item.number), {})
            plan_rows.append(
                QuarterItem(
                    reference=review.reference,
                    item=item.number,
                    recommendation=numbers[item.recommendation_id],
                    action=item.action,
                    owner=names[item.agency_id],
                    due_on=item.due_on,
                    status=status,
                    status_last_quarter=before,
                    rag=rag(status, item.due_on, end),
                    changed=changed,
                    evidence=word.get("evidence", ""),
                    impact=word.get("impact", ""),
                )
            )
        if not plan_rows:
            continue
        count = Counter(r.rag for r in plan_rows)
        summaries.append(
            PlanSummary(
                reference=review.reference,
                regime=review.regime,
                pseudonym=review.pseudonym,
                items=len(plan_rows),
                red=count["red"],
                amber=count["amber"],
                green=count["green"],
                done_or_closed=sum(1 for r in plan_rows if r.status in plans.FINISHED),
            )
        )
        rows.extend(plan_rows)
    return QuarterlyReport(
        board=board.name,
        quarter=str(quarter),
        start=quarter.start,
        end=end,
        plans=summaries,
        items=rows,
        overdue=[r for r in rows if r.status is ActionStatus.OVERDUE],
        may_close=[r for r in rows if r.status is ActionStatus.DONE],
        progress_reports_received=received,
    )


# --- the annual report pack -------------------------------------------------------------------


class CountRow(BaseModel):
    regime: str
    outcome: str
    count: int


class ClockRow(BaseModel):
    reference: str
    regime: str
    clock: str
    due_on: date
    met_on: date | None
    result: Literal["met", "missed", "pending"]
    days_late: int | None
    reason: str


class ClockSummary(BaseModel):
    clock: str
    met: int
    missed: int
    pending: int


class PublishedRow(BaseModel):
    reference: str
    regime: str
    pseudonym: str
    published_on: date


class DelayRow(BaseModel):
    """A recorded delay that ran during the year (open ones run on)."""

    reference: str
    regime: str
    pseudonym: str
    reason: str
    start: date
    end: date | None
    days_in_year: int
    learning_meanwhile: str


class AgencyActions(BaseModel):
    agency: str
    items: int
    completed_in_year: int
    overdue_at_year_end: int
    signoffs_missing: int


class ThemeRow(BaseModel):
    theme: str
    year: int
    reviews: int


class SarFinding(BaseModel):
    reference: str
    pseudonym: str
    number: int
    finding: str
    intended_outcome: str
    actions: str
    not_implemented_reason: str | None


class AnnualReport(BaseModel):
    board: str
    year: int
    as_of: date
    referrals: list[CountRow]
    decisions: list[CountRow]
    clocks: list[ClockSummary]
    clock_misses: list[ClockRow]
    clock_rows: list[ClockRow]
    published: list[PublishedRow]
    delays: list[DelayRow]
    actions_completed: int
    actions_overdue: int
    actions_open: int
    agencies: list[AgencyActions]
    themes: list[ThemeRow]
    themes_this_year: dict[str, int]
    sar_concluded: list[SarFinding]
    sar_ongoing: list[str]
    sar_not_implemented: list[SarFinding]


def _in_year(day: date | None, year: int) -> bool:
    return day is not None and day.year == year


def annual_report(session: Session, board: Board, year: int, today: date) -> AnnualReport:
    """The figures a board's annual report needs for ``year`` (as of ``today`` when the year is
    not over): referrals and decisions by regime and outcome; each statutory clock due in the
    year met, missed (late, or still open past its date) or pending, with the reason recorded
    for each miss; reviews published; actions completed in the year and overdue at its end, by
    owner agency; the learning themes by year; and, for SARs, what the Care Act 2014 Schedule 2
    para 4 asks: findings of reviews concluded in the year, reviews ongoing at its end, what
    was done to implement findings, and findings not implemented with the reasons. Each
    recorded delay that ran in the year is listed with its reason and the learning captured
    meanwhile."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    as_of = min(last, today)
    reviews = _board_reviews(session, board.id)
    by_id = {r.id: r for r in reviews}
    ids = list(by_id)

    referrals = Counter(
        by_id[review_id].regime.value
        for review_id, notified in session.execute(
            select(Referral.review_id, Referral.notified_on).where(Referral.review_id.in_(ids))
        ).tuples()
        if _in_year(notified, year)
    )
    decisions = Counter(
        (by_id[d.review_id].regime.value, d.outcome)
        for d in session.scalars(
            select(Decision).where(Decision.review_id.in_(ids), Decision.kind == "chair_decision")
        )
        if _in_year(d.decided_at.date(), year)
    )

    reasons = plans.clock_miss_reasons(session, ids)
    clock_rows: list[ClockRow] = []
    for obligation in session.scalars(
        select(Obligation)
        .where(
            Obligation.review_id.in_(ids),
            # The statutory clocks only: the board's own, and the local authority's LCSPR
            # notification (owed through its agency); never an agency's timeline or sign-off.
            Obligation.milestone.in_(list(CLOCKS)),
            Obligation.due_on >= first,
            Obligation.due_on <= last,
        )
        .order_by(Obligation.due_on, Obligation.id)
    ):
        review = by_id[obligation.review_id]
        met_on = obligation.met_on if obligation.status is ObligationStatus.MET else None
        if obligation.status is ObligationStatus.WAIVED:
            continue  # closed with the review (e.g. no review): not a clock the board ran
        if met_on is not None:
            result: Literal["met", "missed", "pending"] = (
                "met" if met_on <= obligation.due_on else "missed"
            )
        else:
            result = "missed" if obligation.due_on < as_of else "pending"
        late = None
        if result == "missed":
            late = ((met_on or as_of) - obligation.due_on).days
        clock_rows.append(
            ClockRow(
                reference=review.reference,
                regime=review.regime.value,
                clock=CLOCKS[obligation.milestone],
                due_on=obligation.due_on,
                met_on=met_on,
                result=result,
                days_late=late,
                reason=(
                    reasons.get((review.id, obligation.milestone), "no reason recorded")
                    if result == "missed"
                    else ""
                ),
            )
        )
    clocks = []
    for label in CLOCKS.values():
        mine = Counter(r.result for r in clock_rows if r.clock == label)
        if mine:
            clocks.append(
                ClockSummary(
                    clock=label, met=mine["met"], missed=mine["missed"], pending=mine["pending"]
                )
            )

    published = sorted(
        (
            PublishedRow(
                reference=by_id[rid].reference,
                regime=by_id[rid].regime.value,
                pseudonym=by_id[rid].pseudonym,
                published_on=on,
            )
            for rid, on in _events(session, ids, "publication").items()
            if _in_year(on, year)
        ),
        key=lambda p: (p.published_on, p.reference),
    )

    delays = []
    for delay in session.scalars(
        select(ReviewDelay)
        .where(ReviewDelay.review_id.in_(ids), ReviewDelay.start <= as_of)
        .order_by(ReviewDelay.start, ReviewDelay.id)
    ):
        ran_to = min(delay.end or as_of, as_of)
        if ran_to < first:
            continue
        review = by_id[delay.review_id]
        delays.append(
            DelayRow(
                reference=review.reference,
                regime=review.regime.value,
                pseudonym=review.pseudonym,
                reason=delay.reason,
                start=delay.start,
                end=delay.end,
                days_in_year=(ran_to - max(delay.start, first)).days + 1,
                learning_meanwhile=delay.learning,
            )
        )

    items = list(session.scalars(select(ActionItem).where(ActionItem.review_id.in_(ids))))
    changes = _changes_by_item(session, [i.id for i in items])
    names = _agency_names(session, board.id)
    completed: set[int] = set()
    overdue: set[int] = set()
    still_open: set[int] = set()
    for item in items:
        if any(
            c.to_status in plans.FINISHED and _in_year(c.on_date, year) for c in changes[item.id]
        ):
            completed.add(item.id)
        status = _status_at(changes[item.id], as_of)
        if status is None:
            continue
        status = _effective(status, item.due_on, as_of)
        if status is ActionStatus.OVERDUE:
            overdue.add(item.id)
        if status not in plans.FINISHED:
            still_open.add(item.id)
    missing = Counter(
        row.agency_id
        for row in session.scalars(
            select(ActionSignoff).where(
                ActionSignoff.review_id.in_(ids), ActionSignoff.decision == SignoffDecision.MISSING
            )
        )
        if _in_year(row.recorded_at.date(), year)
    )
    owners = sorted({i.agency_id for i in items} | set(missing), key=lambda a: names[a])
    agencies = [
        AgencyActions(
            agency=names[agency_id],
            items=sum(1 for i in items if i.agency_id == agency_id),
            completed_in_year=sum(
                1 for i in items if i.agency_id == agency_id and i.id in completed
            ),
            overdue_at_year_end=sum(
                1 for i in items if i.agency_id == agency_id and i.id in overdue
            ),
            signoffs_missing=missing[agency_id],
        )
        for agency_id in owners
    ]

    reports = _events(session, ids, "final_report")
    theme_counts: Counter[tuple[str, int]] = Counter()
    for tag in session.scalars(select(ReviewTheme).where(ReviewTheme.review_id.in_(ids))):
        review = by_id[tag.review_id]
        theme_counts[(tag.theme, (reports.get(review.id) or review.created_at.date()).year)] += 1
    themes = [
        ThemeRow(theme=theme, year=y, reviews=n)
        for (theme, y), n in sorted(theme_counts.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]
    this_year = dict(
        sorted(
            ((t.theme, t.reviews) for t in themes if t.year == year),
            key=lambda kv: (-kv[1], kv[0]),
        )
    )

    sar_concluded: list[SarFinding] = []
    sar_not_implemented: list[SarFinding] = []
    sar_ongoing: list[str] = []
    for review in reviews:
        if review.regime is not Regime.SAR:
            continue
        reported = reports.get(review.id)
        if reported is None or reported > last:
            if review.created_at.date() <= last and review.status is ReviewStatus.OPEN:
                sar_ongoing.append(review.reference)
            continue
        recs = plans.recommendations(session, review.id)
        sar_items = [i for i in items if i.review_id == review.id]
        for rec in recs:
            finding = _sar_finding(review, rec, sar_items, changes, as_of)
            if _in_year(reported, year):
                sar_concluded.append(finding)
            if rec.not_implemented_reason and _in_year(rec.not_implemented_on, year):
                sar_not_implemented.append(finding)

    return AnnualReport(
        board=board.name,
        year=year,
        as_of=as_of,
        referrals=[
            CountRow(regime=regime, outcome="received", count=n)
            for regime, n in sorted(referrals.items())
        ],
        decisions=[
            CountRow(regime=regime, outcome=outcome, count=n)
            for (regime, outcome), n in sorted(decisions.items())
        ],
        clocks=clocks,
        clock_misses=[r for r in clock_rows if r.result == "missed"],
        clock_rows=clock_rows,
        published=published,
        delays=delays,
        actions_completed=len(completed),
        actions_overdue=len(overdue),
        actions_open=len(still_open),
        agencies=agencies,
        themes=themes,
        themes_this_year=this_year,
        sar_concluded=sar_concluded,
        sar_ongoing=sar_ongoing,
        sar_not_implemented=sar_not_implemented,
    )


def _sar_finding(
    review: Review,
    rec: Recommendation,
    items: list[ActionItem],
    changes: dict[int, list[ActionStatusChange]],
    as_of: date,
) -> SarFinding:
    done = []
    for item in items:
        if item.recommendation_id != rec.id:
            continue
        status = _status_at(changes[item.id], as_of) or ActionStatus.NOT_STARTED
        status = _effective(status, item.due_on, as_of)
        done.append(f"{item.action} ({status.value.replace('_', ' ')})")
    return SarFinding(
        reference=review.reference,
        pseudonym=review.pseudonym,
        number=rec.number,
        finding=rec.text,
        intended_outcome=rec.intended_outcome,
        actions="; ".join(done) or "no action recorded",
        not_implemented_reason=rec.not_implemented_reason,
    )
