"""Drive review flow runs through the Prefect API: start, execute until suspended, resume.

Used by ``reviews start``, ``reviews simulate`` and the tests. Execution here is in-process
(``run_flow``), the same engine a served runner uses in its subprocess.
"""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import Pause
from prefect.flow_engine import load_flow_and_flow_run, run_flow
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL

from deployments.connection import server_health
from deployments.serve import REVIEW_DEPLOYMENT
from models import store
from services.runtime import Runtime


class ReviewAlreadyStarted(RuntimeError):
    """The review has a flow run already."""


class PrefectUnavailable(RuntimeError):
    """The Prefect API did not answer."""


def create_review_run(reference: str, deployment: str = REVIEW_DEPLOYMENT) -> UUID:
    """Create a flow run of the ``review`` deployment for ``reference``; returns its id."""
    # Answer "not reachable" at once (the client would retry for seconds), and never let the
    # client start a temporary server of its own (it does when no API URL is set).
    api_url = str(PREFECT_API_URL.value() or "")
    if not api_url:
        raise PrefectUnavailable("no Prefect server is configured")
    why = server_health(api_url)
    if why is not None:
        raise PrefectUnavailable(f"the Prefect server is not reachable at {api_url} ({why})")
    try:
        with get_client(sync_client=True) as client:
            found = client.read_deployment_by_name(deployment)
            run = client.create_flow_run_from_deployment(
                found.id, parameters={"reference": reference}
            )
    except Exception as exc:  # httpx and Prefect raise several kinds for "not reachable"
        if exc.__class__.__name__ in {"ConnectError", "ConnectTimeout", "RemoteProtocolError"}:
            raise PrefectUnavailable(f"the Prefect server is not reachable: {exc}") from exc
        raise
    run_id: UUID = run.id
    return run_id


def read_run(flow_run_id: UUID) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def state_name(flow_run_id: UUID) -> str:
    """'Suspended', 'Completed', 'Scheduled'… of the run."""
    state = read_run(flow_run_id).state
    return str(state.name) if state is not None else "unknown"


def execute(flow_run_id: UUID) -> str:
    """Run the flow run in this process until it suspends or ends; returns the state name."""
    flow_run, review_flow = load_flow_and_flow_run(flow_run_id)
    # Pause means suspended: the server holds the state and this process is free.
    with contextlib.suppress(Pause):
        run_flow(review_flow, flow_run=flow_run)
    return state_name(flow_run_id)


def resume(flow_run_id: UUID, run_input: dict[str, Any]) -> None:
    """Answer the gate the run is suspended at. Raises RuntimeError with the server's reason
    when the input does not fit the form; the run then stays suspended."""
    resume_flow_run(flow_run_id, run_input=run_input)


def start_review(rt: Runtime, reference: str) -> UUID:
    """Start the ``review`` flow for a stored referral and remember its run.

    Refuses, by name, a review that does not exist or already has a run. If Prefect is down
    the referral stays stored (nothing is changed) and can be started later.
    """
    with rt.sessions() as session:
        review = store.get_review(session, reference)  # NotFound names the reference
        if review.flow_run_id is not None:
            raise ReviewAlreadyStarted(
                f"{reference} was started already (flow run {review.flow_run_id})"
            )
    run_id = create_review_run(reference)
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        review.flow_run_id = str(run_id)
        store.record_audit(
            session,
            review_id=review.id,
            actor=rt.settings.operator,
            action="review_started",
            detail={"flow_run_id": str(run_id)},
            at=rt.now(),
        )
    return run_id


def run_ui_url(rt: Runtime, flow_run_id: UUID | str) -> str:
    """The run's page in the Prefect UI."""
    return rt.settings.run_url(flow_run_id)
