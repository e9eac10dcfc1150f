"""What every page behind an agency's signed link shares: the review and agency the link grants,
what the agency typed, and how the page answers (refusals naming each field, or a notice)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from models import store
from models.orm import Agency, Board, Review
from services.links import LinkGrant


@dataclass(frozen=True)
class Answer:
    """How the page answers what the agency sent: its problems (each naming its field), or a
    notice of what was accepted, and what it typed (shown again, so nothing is lost)."""

    errors: list[str] = field(default_factory=list)
    notice: str | None = None
    status_code: int = 200
    typed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def refused(cls, problems: list[Any], typed: dict[str, str], status_code: int = 400) -> Answer:
        return cls(errors=[str(p) for p in problems], status_code=status_code, typed=typed)


NOTHING_SENT = Answer()
"""The page as first opened."""


@dataclass(frozen=True)
class Linked:
    """The review, agency and board a link grants."""

    review: Review
    agency: Agency
    board: Board

    @classmethod
    def load(cls, session: Session, granted: LinkGrant) -> Linked:
        review = store.get_review(session, granted.reference)
        board = session.get_one(Board, review.board_id)
        return cls(review, session.get_one(Agency, granted.agency_id), board)

    def context(self, token: str, answer: Answer) -> dict[str, Any]:
        """The page context every linked page starts from (pseudonym only)."""
        return {
            "token": token,
            "reference": self.review.reference,
            "pseudonym": self.review.pseudonym,
            "agency": self.agency.name,
            "board": self.board.name,
            "errors": answer.errors,
            "notice": answer.notice,
            "typed": answer.typed,
        }


async def typed_fields(request: Request) -> dict[str, str]:
    """The text fields of the posted form, as the agency typed them."""
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}
