"""The first task of every review run: :func:`claim_run`, so one review has one run.

A run created by ``reviews start`` has claimed the review already; a run started by hand from
the Prefect UI's Run button claims it here if no run has. Any other run (a second UI start, a
run the store does not know) ends at once, before anything else happens, naming the run that
owns the review. Because Prefect runs the flow body again from the top after every resume,
this check also stands before every gate answer is applied: an answer given to a run that is
not the review's run is refused and audited, never applied.
"""

from __future__ import annotations

from prefect import task
from prefect.runtime import flow_run

from models import runs
from services.runtime import runtime


class NotTheReviewsRun(RuntimeError):
    """This flow run is not the review's run; the message names the run that is."""


@task
def claim_run(reference: str) -> str:
    """Make this flow run the review's run if it has none; return the run id.

    Raises :class:`NotTheReviewsRun` (and audits it once per run) when another run owns the
    review, which ends this run at once. Keyed in the store: a replay repeats nothing.
    """
    rt = runtime()
    me = str(flow_run.id)
    with rt.sessions.begin() as session:
        claim = runs.claim_review_run(
            session, reference=reference, flow_run_id=me, actor="prefect ui", at=rt.now()
        )
        if not claim.is_owner(me):
            runs.record_foreign_run(
                session, reference=reference, flow_run_id=me, owner=claim.owner, at=rt.now()
            )
    if not claim.is_owner(me):
        raise NotTheReviewsRun(
            f"{reference} is run by flow run {claim.owner}; this run ({me}) ends here and "
            "nothing it was given is applied"
        )
    return me
