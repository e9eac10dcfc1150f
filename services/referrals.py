"""Recording a referral with the runtime's clock, deadlines and operator: the one path the CLI,
the demo and the simulation share (the store does the checks and the writing)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import store
from models.orm import Review
from models.schemas import ReferralIn
from services.runtime import Runtime


def record_referral(
    rt: Runtime, session: Session, referral: ReferralIn, *, board_id: int, actor: str | None = None
) -> Review:
    """Store ``referral`` for the board (see :func:`models.store.add_referral`); the caller owns
    the transaction. ``actor`` defaults to the configured operator."""
    return store.add_referral(
        session,
        referral,
        board_id=board_id,
        actor=actor or rt.settings.operator,
        now=rt.now(),
        deadlines=rt.deadlines,
    )
