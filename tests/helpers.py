"""Small helpers shared by tests."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from sqlalchemy import func, select

from case_reviews.examples import BOARD, referral_file
from models import store
from models.orm import Base
from models.schemas import BoardIn, ReferralIn
from services.runtime import Runtime


def example_board() -> dict[str, Any]:
    board: dict[str, Any] = yaml.safe_load(BOARD.read_text())
    return board


def example_referral(name: str = "scr-child-t") -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(referral_file(name).read_text()))


def load_example_board(rt: Runtime) -> int:
    with rt.sessions.begin() as session:
        return store.load_board(session, BoardIn.model_validate(example_board())).id


def add_example_referral(rt: Runtime, name: str = "scr-child-t", **changes: Any) -> str:
    data = example_referral(name)
    data.update(changes)
    with rt.sessions.begin() as session:
        board = store.get_board(session)
        review = store.add_referral(
            session,
            ReferralIn.model_validate(data),
            board_id=board.id,
            actor="test",
            now=rt.now(),
            deadlines=rt.deadlines,
        )
        return review.reference


def row_counts(rt: Runtime) -> dict[str, int]:
    """How many rows each table holds: a snapshot to show nothing was stored half-way."""
    with rt.sessions() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }
