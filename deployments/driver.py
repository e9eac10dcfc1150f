"""Drive review flow runs through the Prefect API: start, execute until suspended, resume.

Used by ``reviews start``, ``reviews simulate`` and the tests. Execution here is in-process
(``run_flow``), the same engine a served runner uses in its subprocess.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import Pause
from prefect.flow_engine import load_flow_and_flow_run, run_flow
from prefect.settings import PREFECT_API_URL
from prefect.states import Cancelled

from deployments.connection import server_health
from deployments.serve import REVIEW_DEPLOYMENT
from models import store
from models.runs import claim_review_run, review_run_key
from services.prefect_client import prefect_client
from services.resume import ResumeOutcome, resume_gate
from services.runtime import Runtime


class ReviewAlreadyStarted(RuntimeError):
    """The review has a flow run already (``owner``)."""

    def __init__(self, message: str, owner: str | None = None) -> None:
        super().__init__(message)
        self.owner = owner


class PrefectUnavailable(RuntimeError):
    """The Prefect API did not answer."""


class PrefectUnauthorized(RuntimeError):
    """The Prefect API refused this client: no or the wrong ``PREFECT_API_AUTH_STRING``."""


class AnswerNotTaken(RuntimeError):
    """A gate answer was not taken; ``outcome`` says why (form refused it, or run not waiting)."""

    def __init__(self, outcome: ResumeOutcome) -> None:
        detail = outcome.reason if outcome.status == "rejected" else outcome.describe()
        super().__init__(f"Cannot resume this run: {detail}")
        self.outcome = outcome


UNAUTHORIZED = (
    "the Prefect API refused this client (HTTP 401): set PREFECT_API_AUTH_STRING to the "
    "server's PREFECT_SERVER_API_AUTH_STRING (the demo keeps it in var/prefect-auth-string)"
)


@contextlib.contextmanager
def prefect_errors() -> Iterator[None]:
    """Turn "cannot reach Prefect" and "Prefect refused our credentials" into one-line errors
    (:class:`PrefectUnavailable`, :class:`PrefectUnauthorized`) instead of tracebacks."""
    try:
        yield
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise PrefectUnauthorized(UNAUTHORIZED) from None
        raise
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
        raise PrefectUnavailable(f"the Prefect server is not reachable: {exc}") from None
    except RuntimeError as exc:
        # Prefect's client checks the server version first and wraps its 401 in this.
        if "401" in str(exc) or "Unauthorized" in str(exc):
            raise PrefectUnauthorized(UNAUTHORIZED) from None
        raise


def create_review_run(
    reference: str, run_key: str | None = None, deployment: str = REVIEW_DEPLOYMENT
) -> UUID:
    """Create the flow run of the ``review`` deployment for ``reference``; returns its id.

    With ``run_key`` (the review's :func:`models.runs.review_run_key`) Prefect uses it as the
    idempotency key: concurrent or repeated calls for one review return the same run.
    """
    # Answer "not reachable" at once (the client would retry for seconds), and never let the
    # client start a temporary server of its own (it does when no API URL is set).
    api_url = str(PREFECT_API_URL.value() or "")
    if not api_url:
        raise PrefectUnavailable("no Prefect server is configured")
    why = server_health(api_url)
    if why is not None:
        raise PrefectUnavailable(f"the Prefect server is not reachable at {api_url} ({why})")
    with prefect_errors(), prefect_client() as client:
        found = client.read_deployment_by_name(deployment)
        run = client.create_flow_run_from_deployment(
            found.id,
            parameters={"reference": reference},
            idempotency_key=f"review:{reference}:{run_key}" if run_key else None,
        )
    run_id: UUID = run.id
    return run_id


def read_run(flow_run_id: UUID) -> FlowRun:
    with prefect_client() as client:
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


def resume(flow_run_id: UUID, run_input: dict[str, Any], *, check: bool = True) -> ResumeOutcome:
    """Answer the gate the run is suspended at; return what Prefect did with the answer.

    With ``check`` (the default) anything but an accepted answer raises
    :class:`AnswerNotTaken`: the form refused it (the run stays suspended, the server's reason
    is in the message) or the run was no longer waiting (someone else's answer was taken).
    """
    with prefect_errors():
        outcome = resume_gate(flow_run_id, run_input)
    if check and not outcome.accepted:
        raise AnswerNotTaken(outcome)
    return outcome


def start_review(rt: Runtime, reference: str) -> UUID:
    """Start the ``review`` flow for a stored referral and remember its run: atomically.

    Prefect's idempotency key makes every start of one reference create the same run, and the
    store's compare-and-set claim (:func:`models.runs.claim_review_run`) makes exactly one
    start record it, with one ``review_started`` audit row. Every other start, concurrent or
    later, is refused with :class:`ReviewAlreadyStarted` naming the run. If a run started by
    hand in the Prefect UI owns the review already, the run created here is cancelled (it would
    end at its first task anyway). If Prefect is down the referral stays stored (nothing is
    changed) and can be started later.
    """
    with rt.sessions() as session:
        review = store.get_review(session, reference)  # NotFound names the reference
        if review.flow_run_id is not None:
            raise ReviewAlreadyStarted(
                f"{reference} was started already (flow run {review.flow_run_id})",
                review.flow_run_id,
            )
    with rt.sessions.begin() as session:
        run_key = review_run_key(session, reference)
    run_id = create_review_run(reference, run_key)
    with rt.sessions.begin() as session:
        claim = claim_review_run(
            session,
            reference=reference,
            flow_run_id=str(run_id),
            actor=rt.settings.operator,
            at=rt.now(),
        )
    if claim.claimed_now:
        return run_id
    if not claim.is_owner(str(run_id)):
        _cancel(run_id, f"{reference} is run by flow run {claim.owner}")
    raise ReviewAlreadyStarted(
        f"{reference} was started already (flow run {claim.owner})", claim.owner
    )


def _cancel(flow_run_id: UUID, message: str) -> None:
    with prefect_errors(), prefect_client() as client:
        client.set_flow_run_state(flow_run_id, Cancelled(message=message), force=True)


def run_ui_url(rt: Runtime, flow_run_id: UUID | str) -> str:
    """The run's page in the Prefect UI."""
    return rt.settings.run_url(flow_run_id)
