"""Data access for who took part in a review beyond the gates: the agencies' rapid review
summaries (LCSPR) and the family's involvement.

Every function takes the session and never commits: the caller owns the transaction. The family
member's name, when given, is identity: it goes to ``review_name`` (with the other names the
anonymisation check looks for), and nothing here returns it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import store
from models.orm import AgencySummary, FamilyInvolvement, Review, ReviewName
from models.schemas import FamilyStepIn, FamilyStepView

# --- agency summaries (LCSPR rapid review) --------------------------------------------------


def summary_versions(session: Session, review_id: int, agency_id: int) -> list[AgencySummary]:
    """Every version of an agency's rapid review summary, oldest first."""
    return list(
        session.scalars(
            select(AgencySummary)
            .where(AgencySummary.review_id == review_id, AgencySummary.agency_id == agency_id)
            .order_by(AgencySummary.version)
        )
    )


def add_agency_summary(
    session: Session,
    *,
    review_id: int,
    agency_id: int,
    involvement: str,
    immediate_actions: str,
    learning: str,
    submitted_by: str,
    submitted_at: datetime,
) -> AgencySummary:
    """Store the next version of an agency's summary (earlier versions are kept)."""
    row = AgencySummary(
        review_id=review_id,
        agency_id=agency_id,
        version=len(summary_versions(session, review_id, agency_id)) + 1,
        involvement=involvement,
        immediate_actions=immediate_actions,
        learning=learning,
        submitted_by=submitted_by,
        submitted_at=submitted_at,
    )
    session.add(row)
    session.flush()
    return row


def agencies_with_summaries(session: Session, review_id: int) -> set[int]:
    """The agencies that have sent at least one summary for the review."""
    return set(
        session.scalars(
            select(AgencySummary.agency_id).where(AgencySummary.review_id == review_id).distinct()
        )
    )


def awaited_summaries(session: Session, review_id: int) -> list[str]:
    """Agencies whose rapid review summary is still awaited (their obligation is open)."""
    return [
        o.owed_by for o in store.open_obligations(session, review_id, milestone="agency_summary")
    ]


# --- family involvement -----------------------------------------------------------------------


def record_family_step(
    session: Session, *, review: Review, step: FamilyStepIn, actor: str, now: datetime
) -> FamilyInvolvement:
    """Record one step of the family's involvement (who recorded it, when, how); audited
    without the family member's name, which goes to ``review_name`` when given."""
    name_id = None
    if step.member_name:
        name = session.scalar(
            select(ReviewName).where(
                ReviewName.review_id == review.id, ReviewName.name == step.member_name
            )
        )
        if name is None:
            name = ReviewName(
                review_id=review.id,
                name=step.member_name,
                role=f"family: {step.relationship}",
                added_by=actor,
                added_at=now,
            )
            session.add(name)
            session.flush()
        name_id = name.id
    fields = step.model_dump(include={"step", "on_date", "how", "note", "recorded_by"})
    row = store.add_row(
        session,
        FamilyInvolvement(review_id=review.id, review_name_id=name_id, recorded_at=now, **fields),
    )
    store.record_audit(
        session,
        review.id,
        actor,
        "family_involvement_recorded",
        {
            "step": step.step,
            "on": step.on_date.isoformat(),
            "how": step.how,
            "by": step.recorded_by,
            "family_member_recorded": name_id is not None,
        },
        now,
    )
    return row


def family_steps(session: Session, review_id: int) -> list[FamilyStepView]:
    """The family's involvement so far, in date order, without any family member's name."""
    rows = session.scalars(
        select(FamilyInvolvement)
        .where(FamilyInvolvement.review_id == review_id)
        .order_by(FamilyInvolvement.on_date, FamilyInvolvement.id)
    )
    return [FamilyStepView.model_validate(r) for r in rows]
