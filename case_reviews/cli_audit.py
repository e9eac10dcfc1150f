"""``reviews audit REF``: the review's audit trail in words, open or closed."""

from __future__ import annotations

from typing import Annotated

import typer

from case_reviews.cli_common import attempt, json_text, ready
from models import store
from services.audit import audit_trail

audit_app = typer.Typer()


@audit_app.command("audit")
def audit(reference: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every decision, answer, reveal, read and change recorded for one review, open or
    closed: when, who (and how it was given) and what, in words."""
    trail = attempt(lambda: audit_trail(ready(), reference), store.NotFound)
    if as_json:
        typer.echo(json_text(trail))
        return
    typer.echo(f"{trail.reference} ({trail.regime}, {trail.status}): {len(trail.entries)} entries")
    for entry in trail.entries:
        typer.echo(f"{entry.at:%Y-%m-%d %H:%M}  {entry.who} ({entry.how})")
        typer.echo(f"    {entry.what}")
