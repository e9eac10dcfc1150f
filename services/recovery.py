"""Crashed review runs come back by themselves: :func:`recover_crashed_runs`.

A runner or worker killed mid-run leaves its run ``Running`` with no process. Prefect's
heartbeats and the zombie automation (:mod:`deployments.automations`) mark it ``Crashed``;
this step then reschedules it, so the runner picks it up and the flow replays from the top:
every task is keyed in the case store and every answered gate returns its stored answer, so the
replay repeats nothing and the review is back at its gate. A run that keeps crashing is
rescheduled at most ``MAX_RECOVERIES`` times, then left for a person (audited).
"""

from __future__ import annotations

from uuid import UUID

from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import StateType
from prefect.states import Scheduled
from sqlalchemy import func, select

from core.names import review_key
from models import store
from models.orm import AuditEvent, Review, ReviewStatus
from services.prefect_client import prefect_client
from services.runtime import Runtime

MAX_RECOVERIES = 3


def _open_runs(rt: Runtime) -> list[tuple[int, str, str]]:
    with rt.sessions() as session:
        rows = session.execute(
            select(Review.id, Review.reference, Review.flow_run_id).where(
                Review.status == ReviewStatus.OPEN, Review.flow_run_id.is_not(None)
            )
        ).all()
    return [(row.id, row.reference, str(row.flow_run_id)) for row in rows]


def run_states(rt: Runtime) -> dict[str, str]:
    """Each open review's run state name (``Suspended``, ``Running``, ``Crashed``…)."""
    ids = {UUID(run_id): reference for _id, reference, run_id in _open_runs(rt)}
    if not ids:
        return {}
    with prefect_client() as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(ids))), limit=len(ids)
        )
    return {ids[r.id]: str(r.state.name) if r.state else "unknown" for r in runs}


def recover_crashed_runs(rt: Runtime) -> list[str]:
    """Reschedule every open review's run that Prefect marked ``Crashed``; return their
    references. Each recovery is audited; after ``MAX_RECOVERIES`` a run is left alone and
    that is audited once (``run_recovery_exhausted``) for the business manager."""
    recovered = []
    open_runs = _open_runs(rt)
    if not open_runs:
        return []
    with prefect_client() as client:
        for review_id, reference, run_id in open_runs:
            state = client.read_flow_run(UUID(run_id)).state
            if state is None or state.type != StateType.CRASHED:
                continue
            with rt.sessions.begin() as session:
                done = (
                    session.scalar(
                        select(func.count())
                        .select_from(AuditEvent)
                        .where(
                            AuditEvent.review_id == review_id,
                            AuditEvent.action == "run_recovered",
                        )
                    )
                    or 0
                )
                if done >= MAX_RECOVERIES:
                    store.record_audit(
                        session,
                        review_id,
                        "case-reviews",
                        "run_recovery_exhausted",
                        {"flow_run_id": run_id, "crashes": done + 1},
                        rt.now(),
                        key=review_key(reference, f"run_recovery_exhausted:{run_id}"),
                    )
                    continue
                store.record_audit(
                    session,
                    review_id,
                    "case-reviews",
                    "run_recovered",
                    {"flow_run_id": run_id, "crashed": state.message or ""},
                    rt.now(),
                    key=review_key(reference, f"run_recovered:{run_id}:{done + 1}"),
                )
                # Inside the transaction: if Prefect refuses, the audit row is not kept.
                client.set_flow_run_state(
                    UUID(run_id),
                    Scheduled(message="rescheduled after a crash: resumes at its gate"),
                    force=True,
                )
            recovered.append(reference)
    return recovered


__all__ = ["MAX_RECOVERIES", "recover_crashed_runs", "run_states"]
