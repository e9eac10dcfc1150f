"""The performance committee's quarterly report as a task (:mod:`services.committee_reports`)."""

from __future__ import annotations

from prefect import task

from services.committee_reports import produce_last_quarter
from services.runtime import runtime


@task
def committee_reports() -> list[str]:
    """Every board's report for the quarter just ended, kept and queued to its committee.

    Idempotent: the stored PDF is content-addressed and the email is keyed per board and
    quarter, so a retry re-writes the files and sends nothing twice. Returns the file names
    (reports carry references and pseudonyms only)."""
    rt = runtime()
    return [path.name for path in produce_last_quarter(rt, rt.settings.documents_dir / "reports")]
