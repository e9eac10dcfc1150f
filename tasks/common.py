"""The pseudonymised case the flow and its gate forms see: :class:`CaseSummary`.

Every helper takes the session and never commits; the task around it owns the transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from models import store
from models.orm import Board, Review
from models.schemas import fields_of
from services.runtime import Runtime


class CaseSummary(BaseModel):
    """What the flow, the gate forms and the emails may know of a case: pseudonymised."""

    reference: str
    regime: str
    pseudonym: str
    board_name: str
    summary: str
    harm: str
    abuse_or_neglect: str
    interagency_concerns: bool
    criteria_met: bool
    criteria: str = Field(description="The statutory criteria applied: met by which test, or not.")
    below_threshold_route: str | None = Field(
        default=None, description="Where the pack routes a case below the threshold."
    )
    agencies: list[str]
    parallel_proceedings: list[str]
    notified_on: date
    has_panel_notification: bool
    has_panel_copy: bool
    answered: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        exclude=True,
        description="The answers this run's gates took before this execution (set by the "
        "flow; accepted answers, so free of identity).",
    )
    met: set[str] = Field(
        default_factory=set,
        exclude=True,
        description="The answered gates this execution has passed so far (kept by the flow).",
    )

    def replaying(self) -> bool:
        """Whether this execution is still behind a gate this run answered before: the steps
        before that gate completed in the execution that reached it, so a replay skips them."""
        return any(gate not in self.met for gate in self.answered)


def case_summary(session: Session, rt: Runtime, review: Review) -> CaseSummary:
    referral = store.get_referral(session, review.id)
    board = session.get_one(Board, review.board_id)
    pack = rt.deadlines.pack(review.regime.value)
    assessment = store.criteria_assessment(session, review, rt.deadlines)
    milestones = {rule.milestone for rule in pack.rules}
    parallel = [
        name
        for name, flag in (
            ("criminal investigation", referral.criminal_investigation),
            ("court proceedings", referral.court_proceedings),
            ("inquest", referral.inquest),
        )
        if flag
    ]
    return CaseSummary(
        **fields_of(referral, CaseSummary),
        reference=review.reference,
        regime=review.regime.value,
        pseudonym=review.pseudonym,
        board_name=board.name,
        criteria_met=assessment.met if assessment else True,
        criteria=assessment.summary if assessment else "no statutory criteria in the rule pack",
        below_threshold_route=assessment.route if assessment else None,
        agencies=[a.name for a in store.involved_agencies(session, review.id)],
        parallel_proceedings=parallel,
        has_panel_notification="panel_notification" in milestones,
        has_panel_copy="panel_copy" in milestones,
    )
