"""``reviews documents …`` and ``reviews names …``: the review's documents, the anonymisation
check before anything leaves the board, and the names the board lists for a review."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from case_reviews.cli_common import attempt, fail, read_bytes, ready
from core.names import DocumentKind
from models import store
from models.documents import DocumentRefused
from services.documents import (
    DocumentCorrupt,
    DocumentUnreadable,
    add_document,
    add_review_name,
    anonymisation_hits,
    clear_anonymisation_hit,
    draft_comments,
    get_document,
    list_documents,
    list_review_names,
    record_anonymisation_override,
    record_takedown,
    release_check,
)

documents_app = typer.Typer(help="The review's documents.", no_args_is_help=True)
names_app = typer.Typer(
    help="Names the board lists for a review (family, practitioners): identity, kept apart.",
    no_args_is_help=True,
)

KINDS = ", ".join(k.value for k in DocumentKind)


def _kind(value: str) -> DocumentKind:
    try:
        return DocumentKind(value)
    except ValueError:
        fail(f"--kind: unknown kind {value!r} (known: {KINDS})")


KindOption = Annotated[str, typer.Option("--kind", help=f"One of: {KINDS}.")]


@documents_app.command("list")
def documents_list(reference: str) -> None:
    """Every version of every document of the review (metadata only)."""
    rt = ready()
    found = attempt(lambda: list_documents(rt, reference), store.NotFound)
    if not found:
        typer.echo(f"{reference}: no documents")
    for d in found:
        typer.echo(
            f"{d.kind.value:18} v{d.version:<3} {d.size:>10,} B  {d.sha256[:12]}  "
            f"{d.added_at:%d %b %Y %H:%M}  {d.added_by}  {d.filename}"
        )


@documents_app.command("add")
def documents_add(
    reference: str,
    kind: KindOption,
    file: Path,
    added_by: Annotated[
        str | None, typer.Option(help="Who added it (default: the configured operator).")
    ] = None,
) -> None:
    """Store FILE (PDF, Word .docx, Markdown or text) as the next version of a document."""
    document_kind = _kind(kind)
    rt = ready()
    data = read_bytes(file)
    stored = attempt(
        lambda: add_document(
            rt, reference, document_kind, file.name, data, added_by=added_by or rt.settings.operator
        ),
        DocumentRefused,
        store.NotFound,
    )
    typer.echo(
        f"{reference}: {stored.kind.value} version {stored.version} stored "
        f"({stored.size:,} bytes, sha256 {stored.sha256})"
    )


@documents_app.command("get")
def documents_get(
    reference: str,
    kind: KindOption,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the file.")],
    version: Annotated[int | None, typer.Option(help="The version (default: newest).")] = None,
) -> None:
    """Write a document version to a file. Reading an unredacted report is audited."""
    document_kind = _kind(kind)
    rt = ready()
    try:
        stored, data = get_document(
            rt, reference, document_kind, version, actor=rt.settings.operator
        )
    except store.NotFound as exc:
        fail(str(exc))
    except DocumentCorrupt as exc:
        fail(str(exc), code=1)
    try:
        output.write_bytes(data)
    except OSError as exc:
        fail(f"-o: {output} cannot be written ({exc.strerror})")
    typer.echo(f"{reference}: {stored.kind.value} version {stored.version} written to {output}")


@documents_app.command("check")
def documents_check(
    reference: str,
    kind: KindOption,
    version: Annotated[int | None, typer.Option(help="The version (default: newest).")] = None,
) -> None:
    """The anonymisation check: where the document holds the subject's identity, a listed name
    or hidden data (tracked changes, comments, personal properties), one 'place: kind' line per
    hit. Exits 0 when nothing stands, 1 while a hit stands without a clearance or an override,
    2 when the document could not be checked."""
    document_kind = _kind(kind)
    rt = ready()
    try:
        hits = anonymisation_hits(rt, reference, document_kind, version)
        check = release_check(rt, reference, document_kind) if version is None else None
    except store.NotFound as exc:
        fail(str(exc))
    except (DocumentUnreadable, DocumentCorrupt) as exc:
        fail(f"{reference} {exc}" if isinstance(exc, DocumentUnreadable) else str(exc))
    for hit in hits:
        typer.echo(str(hit))
    standing = [h for h in hits if h.cleared_by is None]
    if not standing:
        what = "found nothing" if not hits else "found only hits cleared as not identifying"
        typer.echo(f"{reference} {document_kind.value}: the anonymisation check {what}")
        return
    if check is not None and check.may_leave:
        typer.echo(f"{reference} {document_kind.value}: {check.why}")
        return
    typer.echo(
        f"{reference} {document_kind.value}: {len(standing)} hits stand; add a redacted version, "
        "clear a harmless hit ('reviews documents clear') or record an override "
        "('reviews documents override')",
        err=True,
    )
    raise typer.Exit(1)


@documents_app.command("clear")
def documents_clear(
    reference: str,
    kind: KindOption,
    version: Annotated[int, typer.Option(help="The exact version the clearance is for.")],
    place: Annotated[str, typer.Option(help="The place as 'documents check' names it.")],
    reason: Annotated[str, typer.Option(help="Why the hit there is not identifying.")],
) -> None:
    """Clear the check's hits at one place of one version as not identifying (a harmless word),
    with a reason; audited. A new version starts uncleared."""
    document_kind = _kind(kind)
    rt = ready()
    cleared = attempt(
        lambda: clear_anonymisation_hit(
            rt, reference, document_kind, version, place, reason, actor=rt.settings.operator
        ),
        DocumentRefused,
        DocumentUnreadable,
        store.NotFound,
    )
    for hit in cleared:
        typer.echo(f"{reference}: cleared {hit.place}: {hit.found} (version {version})")
    if not cleared:
        typer.echo(f"{reference}: the hits at {place!r} were already cleared")


@documents_app.command("override")
def documents_override(
    reference: str,
    kind: KindOption,
    version: Annotated[int, typer.Option(help="The exact version the override is for.")],
    reason: Annotated[str, typer.Option(help="Why this version may leave the board.")],
) -> None:
    """Record a reasoned override of the anonymisation check for one version (audited)."""
    document_kind = _kind(kind)
    rt = ready()
    attempt(
        lambda: record_anonymisation_override(
            rt, reference, document_kind, version, reason, rt.settings.operator
        ),
        DocumentRefused,
        store.NotFound,
    )
    typer.echo(f"{reference}: override recorded for {document_kind.value} version {version}")


@documents_app.command("comments")
def documents_comments(reference: str) -> None:
    """The agencies' factual-accuracy comments on the draft report, section by section."""
    rt = ready()
    lines = [str(c) for c in attempt(lambda: draft_comments(rt, reference), store.NotFound)]
    typer.echo("\n".join(lines) or f"{reference}: no comments on the draft")


@documents_app.command("takedown")
def documents_takedown(
    reference: str,
    on: Annotated[str, typer.Option("--on", help="The day it came off the website.")],
) -> None:
    """Record that the published report was taken down (then available on request); the
    published-until reminders stop. Audited."""
    try:
        day = date.fromisoformat(on)
    except ValueError:
        fail(f"--on: {on!r} is not a date (expected YYYY-MM-DD)")
    rt = ready()
    attempt(
        lambda: record_takedown(rt, reference, day, actor=rt.settings.operator),
        DocumentRefused,
        store.NotFound,
    )
    typer.echo(f"{reference}: taken down on {day.isoformat()}; available on request")


PersonName = Annotated[str, typer.Option(help="The person's name as the report might write it.")]
PersonRole = Annotated[str, typer.Option(help="Who they are, e.g. mother, social worker.")]


@names_app.command("add")
def names_add(reference: str, name: PersonName, role: PersonRole) -> None:
    """List a family member's or practitioner's name for the review's anonymisation check."""
    rt = ready()
    added = attempt(
        lambda: add_review_name(rt, reference, name, role, actor=rt.settings.operator),
        DocumentRefused,
        store.NotFound,
    )
    typer.echo(f"{reference}: name listed ({role})" if added else f"{reference}: already listed")


@names_app.command("list")
def names_list(reference: str) -> None:
    """The names listed for the review, with their roles. Recorded in the audit trail."""
    rt = ready()
    listed = attempt(
        lambda: list_review_names(rt, reference, actor=rt.settings.operator), store.NotFound
    )
    if not listed:
        typer.echo(f"{reference}: no names listed")
    for entry in listed:
        typer.echo(f"{entry.name:40} {entry.role}")
