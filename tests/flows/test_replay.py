"""A replay after a resume skips the stages an earlier execution finished: a stage runs in the
execution that passes its gate and once more in the next (in case that execution stopped
before the stage ended), never again however many gates follow."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from case_reviews.simulation.scenario import drive
from core.names import Gate
from flows.inputs import ChairDecision
from flows.review import ReplayDiverged, ask
from models import store
from tasks import stages
from tasks.common import CaseSummary

pytestmark = pytest.mark.prefect

COUNTED = ("chair_decision", "panel_notification", "reviewer_appointment", "timeline_requests")


def _counting(fn: Callable[..., Any], ran: Counter[str]) -> Callable[..., Any]:
    @functools.wraps(fn)  # the task's parameters are read from the wrapped signature
    def counted(*args: Any, **kwargs: Any) -> Any:
        ran[fn.__name__] += 1
        return fn(*args, **kwargs)

    return counted


def test_a_replay_runs_no_stage_an_earlier_execution_finished(case_factory, monkeypatch) -> None:
    ran: Counter[str] = Counter()
    for name in COUNTED:
        stage = getattr(stages, name)
        monkeypatch.setattr(stage, "fn", _counting(stage.fn, ran))
    case = case_factory()
    result = drive(
        case.rt, case.clock, case.start(), case.reference, "full", stop_at="draft_report"
    )
    assert result.state == "Suspended"
    # Nine executions after the chair's decision, each a replay from the top of the flow.
    assert len(result.gates) >= 9, result.gates
    assert ran == Counter(dict.fromkeys(COUNTED, 2)), ran
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.waiting_at == "draft_report"
        done = store.completed_stages(session, review.id)
    assert {"chair_decision", "panel_notification", "reviewer_appointment"} <= set(done)
    assert "timeline_requests" in done


def _case(**answered: dict[str, Any]) -> CaseSummary:
    return CaseSummary.model_validate(
        {
            "reference": "SCR-2026-001",
            "regime": "scr",
            "pseudonym": "Child T",
            "board_name": "Northbridge",
            "summary": "s",
            "harm": "death",
            "abuse_or_neglect": "known",
            "interagency_concerns": True,
            "criteria_met": True,
            "criteria": "met",
            "agencies": [],
            "parallel_proceedings": [],
            "notified_on": "2026-01-05",
            "has_panel_notification": False,
            "has_panel_copy": False,
        }
    ).model_copy(update={"answered": answered})


def test_replaying_until_every_gate_answered_before_has_been_passed() -> None:
    case = _case(chair_decision={}, reviewer_appointment={})
    assert case.replaying()
    case.met.add("chair_decision")
    assert case.replaying(), "the reviewer appointment, answered before, still lies ahead"
    case.met.add("reviewer_appointment")
    assert not case.replaying()
    assert not _case().replaying(), "a first execution replays nothing"


def test_a_replay_that_meets_a_new_gate_before_its_answered_ones_stops() -> None:
    """Say a board edited the route under a running review: the replay reaches a gate it never
    asked while a gate it did answer (and every stage before it, skipped) still lies ahead."""
    case = _case(monitoring={})
    with pytest.raises(ReplayDiverged, match=r"'chair_decision' before gates .*monitoring"):
        ask(case, Gate.CHAIR_DECISION, ChairDecision)  # raises before any task or suspension
