"""``reviews backup DIR`` and ``reviews restore DIR``: the case store and its documents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from case_reviews.cli_common import fail, ready
from services.backup import BackupRefused, BackupSummary, backup, restore
from services.runtime import runtime

backup_app = typer.Typer()


def _describe(verb: str, summary: BackupSummary) -> str:
    return (
        f"{verb} {summary.directory}: the {summary.database} case store at revision "
        f"{summary.revision or 'none'} and {summary.documents} document files "
        f"({summary.bytes / 2**20:.1f} MB)"
    )


@backup_app.command("backup")
def backup_command(directory: Path) -> None:
    """Copy the case store (SQLite's online backup, or pg_dump) and the documents into DIR, a
    new or empty directory, with a manifest of every file's SHA-256. Safe while the demo,
    the sweep or runs are writing."""
    rt = ready()
    try:
        summary = backup(rt.settings, directory, now=rt.now())
    except BackupRefused as exc:
        fail(str(exc))
    typer.echo(_describe("backed up to", summary))


@backup_app.command("restore")
def restore_command(
    directory: Path,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a case store that holds reviews.")
    ] = False,
) -> None:
    """Bring a backup back as the case store and its documents, checked against its manifest
    first, then migrate it to this release. Stop the stack first: a run or the sweep writing
    meanwhile would mix its rows into the restored store."""
    rt = runtime()
    try:
        summary = restore(rt.settings, directory, replace=replace)
    except BackupRefused as exc:
        fail(str(exc))
    typer.echo(_describe("restored from", summary))
