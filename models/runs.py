"""Which Prefect flow run is a review's run: claimed once, atomically (compare-and-set).

A review has at most one run (``review.flow_run_id``, unique since migration 0007). Whoever
claims it first (``reviews start`` or a run started by hand from the Prefect UI) wins; every
other claimant learns which run owns the review. The claim and its ``review_started`` audit
record are written in the caller's transaction, so they are stored together or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from core.names import review_key
from models.orm import Review
from models.store import get_review, record_audit


@dataclass(frozen=True)
class RunClaim:
    """The outcome of a claim: the review's run, and whether this claim made it so."""

    reference: str
    owner: str
    claimed_now: bool

    def is_owner(self, flow_run_id: str) -> bool:
        return self.owner == flow_run_id


def review_run_key(session: Session, reference: str) -> str:
    """The review's run key, drawn once (the first caller's draw wins; every caller, however
    concurrent, reads the same key). It is the Prefect idempotency key of the review's run, so
    it is unique across case stores sharing one Prefect server, where references are not.
    Does not commit; commit before using the key, so concurrent callers see it.
    """
    review = get_review(session, reference)
    session.execute(
        update(Review)
        .where(Review.id == review.id, Review.run_key.is_(None))
        .values(run_key=uuid.uuid4().hex)
        .execution_options(synchronize_session=False)
    )
    key = session.scalar(select(Review.run_key).where(Review.id == review.id))
    assert key is not None
    return key


def claim_review_run(
    session: Session, *, reference: str, flow_run_id: str, actor: str, at: datetime
) -> RunClaim:
    """Make ``flow_run_id`` the review's run if it has none; return who owns it either way.

    The update only matches a review without a run, so of any number of concurrent claims
    exactly one changes the row (the database serialises the writes); the winner records the
    one ``review_started`` audit row (keyed per review). Raises ``NotFound`` for an unknown
    reference. Does not commit.
    """
    review = get_review(session, reference)
    result = session.execute(
        update(Review)
        .where(Review.id == review.id, Review.flow_run_id.is_(None))
        .values(flow_run_id=flow_run_id)
        .execution_options(synchronize_session=False)
    )
    changed = cast("CursorResult[Any]", result).rowcount
    if changed:
        record_audit(
            session,
            review.id,
            actor,
            "review_started",
            {"flow_run_id": flow_run_id},
            at,
            key=review_key(reference, "review_started"),
        )
    session.refresh(review, ["flow_run_id"])
    owner = review.flow_run_id
    assert owner is not None  # set by us or by the claim that beat us
    return RunClaim(reference=reference, owner=owner, claimed_now=bool(changed))


def record_foreign_run(
    session: Session, *, reference: str, flow_run_id: str, owner: str, at: datetime
) -> None:
    """Audit (once per run) that ``flow_run_id`` tried to act on a review ``owner`` runs; it
    was refused and nothing it carried (e.g. a gate answer) was applied."""
    review = get_review(session, reference)
    record_audit(
        session,
        review.id,
        "case-reviews",
        "foreign_run_refused",
        {"flow_run_id": flow_run_id, "owner": owner},
        at,
        key=review_key(reference, f"foreign_run_refused:{flow_run_id}"),
    )
