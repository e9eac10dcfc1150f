"""The key a gate suspends under, so that a run recovered while it waited asks again.

Prefect refuses a second suspension under a pause key the run has used, and hands back the
input stored under it; when the run was stopped (crashed, failed, or rescheduled by
``reviews recover``) while it waited at a gate nobody had answered, there is no input, and the
replay met an empty form. Such a key is *spent*: used by the run, with no answer stored. The
gate then asks again under ``{key}-reopened-2`` (``-3``…): the same choice on every later
replay, because the run's used keys and stored answers only ever grow.
"""

from __future__ import annotations

from uuid import UUID

from prefect import get_client
from prefect.context import FlowRunContext
from prefect.input import read_flow_run_input
from prefect.input.run_input import keyset_from_paused_state
from prefect.states import Suspended


def _has_answer(run_id: UUID, pause_key: str) -> bool:
    keyset = keyset_from_paused_state(Suspended(pause_key=pause_key))
    return read_flow_run_input(keyset["response"], flow_run_id=run_id) is not None


def gate_key(base: str) -> str:
    """``base``, or the first re-opened key after it that is not spent (see module docs)."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return base
    run_id = context.flow_run.id
    with get_client(sync_client=True) as client:
        used = client.read_flow_run(run_id).empirical_policy.pause_keys or set()
    key, reopened = base, 1
    while key in used and not _has_answer(run_id, key):
        reopened += 1
        key = f"{base}-reopened-{reopened}"
    return key
