"""The review's documents: files under the documents folder, metadata in the case store.

* **Adding** checks the file (type, size, not empty), writes it once under its SHA-256
  (a temporary file renamed into place, so a reader never sees half a file, and identical
  content is stored once), and records a new version: nothing is ever overwritten.
* **Reading** a kind that may hold identity (the unredacted reports, the agencies' comments)
  is audited, with who read which version.
* **The anonymisation check** reads a document's text place by place and looks for the
  subject's identity and every name the board lists for the review. A document may leave the
  board when its newest version has no hits, or an override with a reason was recorded for
  exactly that version and content.
* **Panel copies** go as an expiring signed link (served by the portal, each download audited)
  or as an attachment to an outbox message; either way the record keeps which version and hash
  went to whom, and when.

Identity text never reaches a log, a hit or an exception message: hits say where and what kind.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from core.files import private_dir
from core.markup import escape_markdown
from core.names import AgencyDuty, DocumentKind, agency_obligation_key, obligation_key
from models import documents_store, store
from models.documents import (
    LEARNING_SUMMARY_HEADINGS,
    DocumentRefused,
    DocumentView,
    DraftCommentView,
    Hit,
    LearningSummary,
    ListedName,
    ReleaseCheck,
    ReviewNameView,
    TermsOfReference,
    Unreadable,
    blob_path,
    find_hits,
    hidden_data_hits,
    media_type_of,
    read_document,
)
from models.identity_guard import KnownIdentity
from models.orm import Board, Document, Review
from notifications.outbox import queue_message
from notifications.pdf import html_to_pdf
from notifications.render import RenderedEmail, render_page
from services.links import TIMELINE_LINK, LinkRefused, portal_serializer
from services.runtime import Runtime

DOCUMENT_LINK_SALT = "document-link"
_COMMENT_AUTHOR = re.compile(r"(?<=comment \d)(\d*) by [^:→]*?(?=(, its author)?:| →)")
DRAFT_CHECK_SALT = "draft-check"
MAX_DRAFT_COMMENTS = 40


class DocumentNotCleared(PermissionError):
    """The document may not leave the board: the anonymisation check found identity in it and
    no override was recorded for that version."""


class DocumentUnreadable(ValueError):
    """A stored document cannot be read completely, so the anonymisation check cannot pass it
    (one line: the version and what is wrong)."""


class DocumentCorrupt(RuntimeError):
    """The stored file is missing or its content no longer matches its recorded SHA-256."""


# --- storing and reading files ---------------------------------------------------------------


def _write_blob(root: Path, data: bytes) -> str:
    """Store ``data`` under its SHA-256 (once) and return the hash."""
    sha256 = hashlib.sha256(data).hexdigest()
    target = blob_path(root, sha256)
    if target.is_file():
        return sha256
    private_dir(target.parent)  # mkstemp makes the file itself 0600
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return sha256


def store_file(rt: Runtime, data: bytes) -> str:
    """Keep ``data`` in the documents folder under its SHA-256 (once) and return the hash: for
    board documents that belong to no single review (the committee's and annual reports)."""
    return _write_blob(rt.settings.documents_dir, data)


def _read_blob(root: Path, sha256: str) -> bytes:
    path = blob_path(root, sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DocumentCorrupt(f"the stored file {sha256[:12]}… is missing") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise DocumentCorrupt(f"the stored file {sha256[:12]}… does not match its hash")
    return data


def _identity(session: Session, review: Review) -> KnownIdentity | None:
    if not documents_store.has_subject_identity(session, review.id):
        return None
    return store.known_identity(session, review.id)


def _refuse_unreadable(name: str, media_type: str, data: bytes) -> None:
    """:class:`DocumentRefused` naming the file when the check could not read it all."""
    try:
        read_document(media_type, data)
    except Unreadable as why:
        raise DocumentRefused(f"file: {name} {why}") from None


def add_document(
    rt: Runtime,
    reference: str,
    kind: DocumentKind,
    filename: str,
    data: bytes,
    *,
    added_by: str,
    replay_key: str | None = None,
) -> DocumentView:
    """Check and store ``data`` as the next version of ``kind``; audited.

    Refused (:class:`DocumentRefused`, naming the field; nothing stored) when the file is empty,
    too large, of a type not accepted, cannot be read completely (encrypted, damaged, truncated,
    a scan with no text layer, a zip bomb: see :func:`read_document`), or its name holds the
    subject's identity or a listed name (names are shown in lists and logs: the file's name
    must carry the pseudonym only).
    With ``replay_key`` (a flow's stage storing what it made) the audit record is keyed, and a
    second call under that key returns the version the first stored instead of a new one.
    """
    media_type = media_type_of(filename, data, max_bytes=rt.settings.document_max_bytes)
    name = Path(filename).name[:255]
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        earlier = store.audit_detail(session, replay_key) if replay_key else None
        if earlier is not None:
            document = documents_store.get_document(
                session, review_id=review.id, kind=kind, version=int(earlier["version"])
            )
            return documents_store.view(document, reference)
        hits = find_hits(
            [("file name", name)],
            _identity(session, review),
            documents_store.listed_names(session, review.id),
        )
        if hits:
            raise DocumentRefused(f"file: its name holds the {hits[0].found}; rename it")
        _refuse_unreadable(name, media_type, data)
        # The file is in place before its row commits: a failed commit leaves only an unused
        # file (content-addressed, harmless), never a row without its file.
        sha256 = _write_blob(rt.settings.documents_dir, data)
        document = documents_store.add_document(
            session,
            review_id=review.id,
            kind=kind,
            filename=name,
            media_type=media_type,
            size=len(data),
            sha256=sha256,
            added_by=added_by,
            added_at=rt.now(),
        )
        store.record_audit(
            session,
            review.id,
            added_by,
            "document_added",
            {"kind": kind.value, "version": document.version, "sha256": sha256},
            rt.now(),
            key=replay_key,
        )
        return documents_store.view(document, reference)


def list_documents(rt: Runtime, reference: str) -> list[DocumentView]:
    """Every version of every document of the review (metadata only: not audited)."""
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        return [
            documents_store.view(d, reference)
            for d in documents_store.documents(session, review.id)
        ]


def get_document(
    rt: Runtime,
    reference: str,
    kind: DocumentKind,
    version: int | None = None,
    *,
    actor: str,
    audit_key: str | None = None,
) -> tuple[DocumentView, bytes]:
    """A document version (the newest by default) and its content. Reading a kind that may
    hold identity is audited (who, which version, which hash) in the same transaction; a
    stage's read gives ``audit_key``, so its replays record no second read."""
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        document = documents_store.get_document(
            session, review_id=review.id, kind=kind, version=version
        )
        data = _read_blob(rt.settings.documents_dir, document.sha256)
        if kind.may_hold_identity:
            _audit_read(rt, session, document, actor=actor, how="read", key=audit_key)
        return documents_store.view(document, reference), data


def _audit_read(
    rt: Runtime,
    session: Session,
    document: Document,
    *,
    actor: str,
    how: str,
    key: str | None = None,
) -> None:
    store.record_audit(
        session,
        document.review_id,
        actor,
        "document_read",
        {
            "kind": document.kind.value,
            "version": document.version,
            "sha256": document.sha256,
            "how": how,
        },
        rt.now(),
        key=key,
    )


# --- names the board lists for the review ----------------------------------------------------


def add_review_name(rt: Runtime, reference: str, name: str, role: str, *, actor: str) -> bool:
    """List a family member's or practitioner's name for the review's anonymisation check.
    Blank fields are refused; a name already listed is left as it is (returns False)."""
    name, role = " ".join(name.split()), " ".join(role.split())
    if not name:
        raise DocumentRefused("--name: is required")
    if not role:
        raise DocumentRefused("--role: is required (e.g. mother, social worker)")
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        added = documents_store.add_review_name(
            session, review_id=review.id, name=name, role=role, added_by=actor, added_at=rt.now()
        )
        if added is not None:
            store.record_audit(
                session, review.id, actor, "review_name_added", {"role": role}, rt.now()
            )
        return added is not None


def list_review_names(rt: Runtime, reference: str, *, actor: str) -> list[ReviewNameView]:
    """The names listed for the review: identity, so every listing is audited."""
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_audit(
            session, review.id, actor, "review_names_revealed", {"reference": reference}, rt.now()
        )
        return documents_store.review_names(session, review.id)


# --- the anonymisation check -----------------------------------------------------------------


def _safe_place(place: str, identity: KnownIdentity | None, names: list[ListedName]) -> str:
    """The place with any word of it that is itself identity (a comment's author, an attached
    file's name) replaced by "[…]": hits are shown, audited and may reach a gate."""
    if not find_hits([("", place)], identity, names):
        return place
    return "".join(
        "[…]" if token.strip() and find_hits([("", token)], identity, names) else token
        for token in re.split(r"(\s+|[,;:→])", place)
    )


def _hits(rt: Runtime, session: Session, review: Review, document: Document) -> list[Hit]:
    """Every hit of the version: identity by place (each marked if cleared), then hidden data.
    :class:`DocumentUnreadable` when the file cannot be read completely."""
    data = _read_blob(rt.settings.documents_dir, document.sha256)
    try:
        reading = read_document(document.media_type, data)
    except Unreadable as why:
        raise DocumentUnreadable(
            f"{document.kind.value} version {document.version}: could not be checked: it {why}"
        ) from None
    identity = _identity(session, review)
    names = documents_store.listed_names(session, review.id)
    places = [(_safe_place(p, identity, names), text) for p, text in reading.places]
    cleared = documents_store.clearances(session, document)
    hits = [
        h.model_copy(update={"cleared_by": cleared[(h.place, h.found)]})
        if (h.place, h.found) in cleared
        else h
        for h in find_hits(places, identity, names)
    ]
    return hits + hidden_data_hits(reading.hidden)


def anonymisation_hits(
    rt: Runtime, reference: str, kind: DocumentKind, version: int | None = None
) -> list[Hit]:
    """Where a document version (the newest by default) holds the subject's name, date of
    birth, NHS number or address, or a listed name: each hit with its place. The check is
    audited with the number of hits (a machine read, shown to no one)."""
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        document = documents_store.get_document(
            session, review_id=review.id, kind=kind, version=version
        )
        hits = _hits(rt, session, review, document)
        store.record_audit(
            session,
            review.id,
            "anonymisation check",
            "anonymisation_checked",
            {
                "kind": kind.value,
                "version": document.version,
                "sha256": document.sha256,
                "hits": len(hits),
            },
            rt.now(),
        )
        return hits


def record_anonymisation_override(
    rt: Runtime, reference: str, kind: DocumentKind, version: int, reason: str, actor: str
) -> None:
    """Record that this version may leave the board despite the check's hits, and why.
    The reason is required; the override is bound to the version's hash, and audited."""
    reason = reason.strip()
    if not reason:
        raise DocumentRefused("--reason: is required: say why this version may leave the board")
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        document = documents_store.get_document(
            session, review_id=review.id, kind=kind, version=version
        )
        if (
            documents_store.add_override(
                session, document=document, reason=reason, actor=actor, at=rt.now()
            )
            is None
        ):
            raise DocumentRefused(
                f"--version: an override is already recorded for version {version}"
            )
        store.record_audit(
            session,
            review.id,
            actor,
            "anonymisation_overridden",
            {"kind": kind.value, "version": version, "sha256": document.sha256, "reason": reason},
            rt.now(),
        )


def clear_anonymisation_hit(
    rt: Runtime,
    reference: str,
    kind: DocumentKind,
    version: int,
    place: str,
    reason: str,
    *,
    actor: str,
) -> list[Hit]:
    """Record that the check's hits at ``place`` of this version are not identifying (a
    harmless word), and why; audited. Bound to the version's hash, so a new version starts
    uncleared. Refused (naming the field) without a reason, for a place with no hit, or for
    hidden data (which must be removed from the file). Returns the hits cleared."""
    reason = " ".join(reason.split())
    if not reason:
        raise DocumentRefused("--reason: is required: say why the hit is not identifying")
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        document = documents_store.get_document(
            session, review_id=review.id, kind=kind, version=version
        )
        at_place = [h for h in _hits(rt, session, review, document) if h.place == place.strip()]
        if not at_place:
            raise DocumentRefused(f"--place: version {version} has no hit at {place.strip()!r}")
        if not any(h.clearable for h in at_place):
            raise DocumentRefused(
                f"--place: {place.strip()!r} is hidden data: remove it from the file and add "
                "a new version"
            )
        cleared = [h for h in at_place if h.clearable and h.cleared_by is None]
        for hit in cleared:
            documents_store.add_clearance(
                session,
                document=document,
                place=hit.place,
                found=hit.found,
                reason=reason,
                actor=actor,
                at=rt.now(),
            )
            store.record_audit(
                session,
                review.id,
                actor,
                "anonymisation_hit_cleared",
                {
                    "kind": kind.value,
                    "version": version,
                    "sha256": document.sha256,
                    "place": hit.place,
                    "found": hit.found,
                    "reason": reason,
                },
                rt.now(),
            )
        return cleared


def _clearance(rt: Runtime, session: Session, review: Review, document: Document) -> ReleaseCheck:
    found = _hits(rt, session, review, document)
    hits = [h for h in found if h.cleared_by is None]
    base: dict[str, Any] = {
        "reference": review.reference,
        "kind": document.kind,
        "version": document.version,
        "sha256": document.sha256,
        "hits": hits,
    }
    if not hits:
        why = "the anonymisation check found nothing"
        if found:
            why = f"the anonymisation check's {len(found)} hits were cleared as not identifying"
        return ReleaseCheck(**base, may_leave=True, why=why)
    override = documents_store.override_for(session, document)
    if override is not None:
        why = f"{len(hits)} hits overridden by {override.actor} on {override.at:%d %b %Y}"
        return ReleaseCheck(**base, may_leave=True, why=why)
    why = f"{len(hits)} hits stand: add a redacted version, clear a harmless hit or override"
    return ReleaseCheck(**base, may_leave=False, why=why)


def release_check(rt: Runtime, reference: str, kind: DocumentKind) -> ReleaseCheck:
    """Whether the newest version of ``kind`` may leave the board (no hits, or an override
    recorded for that exact version and content)."""
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        try:
            document = documents_store.get_document(session, review_id=review.id, kind=kind)
        except store.NotFound:
            return ReleaseCheck(
                reference=reference,
                kind=kind,
                version=None,
                sha256=None,
                may_leave=False,
                why=f"no {kind.value} is stored",
            )
        return _clearance(rt, session, review, document)


# --- documents made from forms ----------------------------------------------------------------


def _form_context(session: Session, reference: str) -> tuple[Review, dict[str, Any]]:
    review = store.get_review(session, reference)
    board = session.get_one(Board, review.board_id)
    return review, {
        "reference": review.reference,
        "pseudonym": review.pseudonym,
        "board_name": board.name,
    }


def _check_form(session: Session, review: Review, form: TermsOfReference | LearningSummary) -> None:
    problems = form.identity_problems(
        _identity(session, review), documents_store.listed_names(session, review.id)
    )
    if problems:
        raise DocumentRefused("\n".join(problems))


def terms_of_reference_markdown(rt: Runtime, reference: str, tor: TermsOfReference) -> str:
    """The terms of reference rendered from their template (Markdown)."""
    with rt.sessions() as session:
        review, context = _form_context(session, reference)
        _check_form(session, review, tor)
    return render_page("terms_of_reference.md.j2", tor=tor, **context).strip() + "\n"


def store_terms_of_reference(
    rt: Runtime,
    reference: str,
    tor: TermsOfReference,
    added_by: str,
    *,
    replay_key: str | None = None,
) -> DocumentView:
    """Render the terms of reference to Markdown and store them as the next version of the
    ``terms_of_reference`` document. Answers naming the subject or a listed name are refused,
    each naming its field (the document goes to the agencies)."""
    markdown = terms_of_reference_markdown(rt, reference, tor)
    return add_document(
        rt,
        reference,
        DocumentKind.TERMS_OF_REFERENCE,
        f"{reference}-terms-of-reference.md",
        markdown.encode("utf-8"),
        added_by=added_by,
        replay_key=replay_key,
    )


def learning_summary_html(rt: Runtime, reference: str, summary: LearningSummary) -> str:
    """The learning summary as an HTML page, under the learning summary's headings."""
    with rt.sessions() as session:
        review, context = _form_context(session, reference)
        _check_form(session, review, summary)
    return render_page(
        "learning_summary.html.j2", summary=summary, headings=LEARNING_SUMMARY_HEADINGS, **context
    )


def store_learning_summary(
    rt: Runtime,
    reference: str,
    summary: LearningSummary,
    added_by: str,
    *,
    replay_key: str | None = None,
) -> DocumentView:
    """Render the learning summary to HTML, then to PDF (WeasyPrint), and store the PDF as
    the next version of the ``learning_summary`` document."""
    pdf = html_to_pdf(learning_summary_html(rt, reference, summary))
    return add_document(
        rt,
        reference,
        DocumentKind.LEARNING_SUMMARY,
        f"{reference}-learning-summary.pdf",
        pdf,
        added_by=added_by,
        replay_key=replay_key,
    )


# --- sending a document out of the board -----------------------------------------------------


def _cleared_document(
    rt: Runtime, session: Session, reference: str, kind: DocumentKind, version: int | None
) -> tuple[Review, Document]:
    review = store.get_review(session, reference)
    document = documents_store.get_document(
        session, review_id=review.id, kind=kind, version=version
    )
    check = _clearance(rt, session, review, document)
    if not check.may_leave:
        raise DocumentNotCleared(
            f"{reference} {kind.value} version {document.version}: {check.why}"
        )
    return review, document


def _serializer(rt: Runtime) -> URLSafeSerializer:
    return portal_serializer(rt, DOCUMENT_LINK_SALT)


def panel_copy_link(
    rt: Runtime, reference: str, kind: DocumentKind, version: int, expires_on: date
) -> str:
    """A signed link to download one document version until ``expires_on`` (from the portal).
    Refused (:class:`DocumentNotCleared`) unless that version passes the anonymisation check
    or has an override."""
    with rt.sessions() as session:
        _review, document = _cleared_document(rt, session, reference, kind, version)
        token = _serializer(rt).dumps(
            {"d": document.id, "s": document.sha256, "x": expires_on.isoformat()}
        )
    return f"{rt.settings.portal_url.rstrip('/')}/d/{token}"


@dataclass(frozen=True)
class DocumentDownload:
    document: DocumentView
    data: bytes


def download_by_link(rt: Runtime, token: str) -> DocumentDownload:
    """The document a link grants, its download audited; :class:`LinkRefused` for an expired
    or tampered link (the link's expiry is read against the runtime's clock)."""
    try:
        data: Any = _serializer(rt).loads(token)
        document_id, sha256, expires = int(data["d"]), str(data["s"]), str(data["x"])
        expires_on = date.fromisoformat(expires)
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkRefused(f"bad document token: {exc.__class__.__name__}") from None
    if expires_on < rt.today():
        raise LinkRefused(f"document link expired on {expires}")
    with rt.sessions.begin() as session:
        try:
            document, reference = documents_store.document_with_reference(session, document_id)
        except store.NotFound:
            raise LinkRefused("no such document") from None
        if document.sha256 != sha256:
            raise LinkRefused("document content changed")
        content = _read_blob(rt.settings.documents_dir, document.sha256)
        _audit_read(rt, session, document, actor="download link", how="link")
        return DocumentDownload(documents_store.view(document, reference), content)


def queue_with_document(
    rt: Runtime,
    session: Session,
    *,
    reference: str,
    kind: DocumentKind,
    version: int | None,
    key: str,
    message_kind: str,
    recipient: str,
    email: RenderedEmail,
) -> DocumentView:
    """Queue ``email`` to ``recipient`` with a document version attached (the newest by
    default), and record which version and hash went to whom. Refused
    (:class:`DocumentNotCleared`) unless the version may leave the board. Idempotent by
    ``key``; the caller owns the transaction. The record's time is when it was queued; the
    outbox row keeps when it was delivered. A replay (``key`` already queued) returns the
    version that went, without checking or recording anything again."""
    queued = documents_store.attached_to(session, key)
    if queued is not None:
        return documents_store.view(queued, reference)
    review, document = _cleared_document(rt, session, reference, kind, version)
    queue_message(
        session,
        key=key,
        review_id=review.id,
        kind=message_kind,
        recipient=recipient,
        email=email,
        now=rt.now(),
        identity=_identity(session, review),
        attachment_document_id=document.id,
    )
    sent: dict[str, Any] = {"recipient": recipient, "sent_at": rt.now(), "via": "attachment"}
    documents_store.record_document_sent(
        session, review_id=review.id, document_id=document.id, **sent
    )
    return documents_store.view(document, reference)


# --- what the review flow's gates read --------------------------------------------------------


def _without_author(line: str) -> str:
    return _COMMENT_AUTHOR.sub(r"\1", line)


def release_blocked(
    rt: Runtime, session: Session, review: Review, kinds: Sequence[str]
) -> dict[str, list[str]]:
    """For each of ``kinds`` whose newest version may not leave the board: why, one line per
    anonymisation hit (its version, place and kind, never the text), or that none is stored.
    These lines go to the gate's form in Prefect, so a comment's author is left out."""
    blocked: dict[str, list[str]] = {}
    for kind in map(DocumentKind, kinds):
        try:
            document = documents_store.get_document(session, review_id=review.id, kind=kind)
        except store.NotFound:
            blocked[kind.value] = [f"no {kind.value} is stored"]
            continue
        check = _clearance(rt, session, review, document)
        if not check.may_leave:
            blocked[kind.value] = [
                f"version {check.version}, {_without_author(str(hit))}" for hit in check.hits
            ]
    return blocked


def final_report_notes(session: Session, review: Review) -> list[str]:
    """Markdown lines for the final report gate: the stored report versions and every
    agency's factual-accuracy comments on the draft (checked for identity when given)."""
    versions = [
        d
        for d in documents_store.documents(session, review.id)
        if d.kind is DocumentKind.FINAL_REPORT
    ]
    lines = ["", "### Final report versions stored"]
    lines += [
        f"- version {d.version}: {d.size:,} bytes, sha256 {d.sha256[:12]}, added "
        f"{d.added_at:%d %b %Y} by {escape_markdown(d.added_by)}"
        for d in versions
    ] or [f"- none yet: 'reviews documents add {review.reference} --kind final_report FILE'"]
    comments = documents_store.draft_comments(session, review.id)
    awaited = [
        o.owed_by
        for o in store.open_obligations(session, review.id, milestone=DRAFT_CHECK_MILESTONE)
    ]
    lines += ["", "### Agencies' factual-accuracy comments on the draft"]
    lines += [f"- {escape_markdown(str(c))}" for c in comments] or ["- none received"]
    if awaited:
        lines.append(f"- not yet answered: {escape_markdown(', '.join(awaited))}")
    return lines


# --- the case group's factual-accuracy check of the draft --------------------------------------

DRAFT_CHECK_MILESTONE = "draft_check"


DRAFT_CHECK_LINK = replace(TIMELINE_LINK, path="c", salt=DRAFT_CHECK_SALT)
draft_check_link = DRAFT_CHECK_LINK.link
read_draft_check_token = DRAFT_CHECK_LINK.read


def record_draft_comments(
    rt: Runtime,
    reference: str,
    agency_name: str,
    comments: Sequence[tuple[str, str]],
    *,
    submitted_by: str,
) -> int:
    """Record an agency's comments on the newest draft, section by section, and meet its
    draft-check obligation (the reminders stop); audited. Refused (:class:`DocumentRefused`,
    naming the entry) when there are none, an entry lacks its section or comment, or a comment
    holds the subject's identity or a listed name (the comments are shown to the chair)."""
    entries = [
        (" ".join(section.split())[:200], comment.strip())
        for section, comment in comments
        if section.strip() or comment.strip()
    ]
    if not entries:
        raise DocumentRefused("comments: give at least one section and its comment")
    if len(entries) > MAX_DRAFT_COMMENTS:
        raise DocumentRefused(f"comments: at most {MAX_DRAFT_COMMENTS} entries")
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        agency = store.find_agency(session, review.board_id, agency_name)
        if agency is None:
            raise store.NotFound(f"--agency: no agency called {agency_name!r}")
        places = [(f"entry {n}", f"{s}\n{c}") for n, (s, c) in enumerate(entries, 1)]
        problems = [
            f"entry {n}: {'section' if not section else 'comment'} is required"
            for n, (section, comment) in enumerate(entries, 1)
            if not section or not comment
        ]
        hits = find_hits(
            places, _identity(session, review), documents_store.listed_names(session, review.id)
        )
        problems += [f"{h.place}: holds the {h.found}; use the pseudonym" for h in hits]
        if problems:
            raise DocumentRefused("\n".join(sorted(problems)))
        draft = documents_store.get_document(
            session, review_id=review.id, kind=DocumentKind.DRAFT_REPORT
        )
        documents_store.add_draft_comments(
            session,
            review_id=review.id,
            agency_id=agency.id,
            draft_version=draft.version,
            comments=entries,
            submitted_by=submitted_by,
            submitted_at=rt.now(),
        )
        store.meet_obligation(
            session,
            key=agency_obligation_key(reference, AgencyDuty.DRAFT_CHECK, agency.name),
            on_date=rt.today(),
        )
        store.record_audit(
            session,
            review_id=review.id,
            actor=submitted_by,
            action="draft_comments_received",
            detail={"agency": agency.name, "draft_version": draft.version, "entries": len(entries)},
            at=rt.now(),
        )
    return len(entries)


def draft_comments(rt: Runtime, reference: str) -> list[DraftCommentView]:
    """Every agency's comments on the review's drafts."""
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        return documents_store.draft_comments(session, review.id)


# --- publication and after ---------------------------------------------------------------------


def record_takedown(rt: Runtime, reference: str, on: date, *, actor: str) -> None:
    """Record that the published report came off the website on ``on`` (it stays available on
    request); the published-until reminders stop. Refused before publication, or in the future."""
    if on > rt.today():
        raise DocumentRefused("--on: is in the future")
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        published = store.review_events(session, review.id).get("publication")
        if published is None:
            raise DocumentRefused(f"{reference}: the report was not published")
        if on < published:
            raise DocumentRefused(f"--on: is before publication ({published.isoformat()})")
        if not store.record_event(session, review_id=review.id, name="taken_down", on_date=on):
            raise DocumentRefused(f"{reference}: a takedown is already recorded")
        key = obligation_key(reference, "published_until")
        store.meet_obligation(session, key=key, on_date=on, note="taken down; available on request")
        store.record_audit(
            session,
            review_id=review.id,
            actor=actor,
            action="report_taken_down",
            detail={"on": on.isoformat()},
            at=rt.now(),
        )
