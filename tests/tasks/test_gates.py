"""Rules a gate applies to an answer beyond its form (no Prefect needed: the task's function)."""

from __future__ import annotations

from datetime import date

from case_reviews.simulation.scenario import answer
from models.answers import ChairDecision
from services.runtime import Runtime
from tasks.gates import check_answer
from tests.helpers import add_example_referral, load_example_board


def test_identity_in_a_gate_answer_is_refused_before_it_reaches_any_email(
    sqlite_rt: Runtime,
) -> None:
    load_example_board(sqlite_rt)
    reference = add_example_referral(sqlite_rt)
    decided = answer("chair_decision", "full", date(2026, 11, 30)) | {
        "rationale": "Tobias died after injuries at 12 Larkspur Row; agencies missed signs."
    }
    assert check_answer.fn(reference, ChairDecision.model_validate(decided)) == [
        "rationale: contains the subject's real address and name; use the pseudonym (Child T)"
    ]


def test_a_clean_answer_and_its_dates_pass(sqlite_rt: Runtime) -> None:
    load_example_board(sqlite_rt)
    reference = add_example_referral(sqlite_rt)
    # Even a date field on the subject's birthday is a date, not free text.
    decided = answer("chair_decision", "full", date(2022, 5, 14))
    assert check_answer.fn(reference, ChairDecision.model_validate(decided)) == []
