"""Queries over the review's documents, the names it lists, anonymisation overrides and what
was sent. Session in, no commit: the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.names import DocumentKind
from models.documents import DocumentView, DraftCommentView, ListedName, ReviewNameView
from models.orm import (
    Agency,
    AnonymisationClearance,
    AnonymisationOverride,
    Document,
    DocumentSent,
    DraftComment,
    OutboxMessage,
    Review,
    ReviewName,
    SubjectIdentity,
)
from models.store import NotFound, add_row, rows


def view(document: Document, reference: str) -> DocumentView:
    return DocumentView.model_validate(
        {**{c: getattr(document, c) for c in DocumentView.model_fields if c != "reference"}}
        | {"reference": reference}
    )


def next_version(session: Session, *, review_id: int, kind: DocumentKind) -> int:
    newest = session.scalar(
        select(func.max(Document.version)).where(
            Document.review_id == review_id, Document.kind == kind
        )
    )
    return (newest or 0) + 1


def add_document(
    session: Session, *, review_id: int, kind: DocumentKind, **fields: Any
) -> Document:
    """A new version of ``kind`` for the review (never an overwrite): ``fields`` are the other
    :class:`Document` columns."""
    version = next_version(session, review_id=review_id, kind=kind)
    return add_row(session, Document(review_id=review_id, kind=kind, version=version, **fields))


def documents(session: Session, review_id: int) -> list[Document]:
    """Every version of every document of the review, by kind then version."""
    return rows(
        session,
        Document,
        Document.review_id == review_id,
        order_by=(Document.kind, Document.version),
    )


def get_document(
    session: Session, *, review_id: int, kind: DocumentKind, version: int | None = None
) -> Document:
    """The given version of ``kind`` (the newest when ``version`` is None), or NotFound."""
    query = select(Document).where(Document.review_id == review_id, Document.kind == kind)
    if version is None:
        found = session.scalar(query.order_by(Document.version.desc()).limit(1))
    else:
        found = session.scalar(query.where(Document.version == version))
    if found is None:
        which = "any version" if version is None else f"version {version}"
        raise NotFound(f"--kind {kind.value}: the review has no {which} of it")
    return found


def document_with_reference(session: Session, document_id: int) -> tuple[Document, str]:
    """A document by id with its review's reference (for a link or an attachment)."""
    row = session.execute(
        select(Document, Review.reference)
        .join(Review, Review.id == Document.review_id)
        .where(Document.id == document_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no document with id {document_id}")
    return row[0], row[1]


def add_review_name(
    session: Session, *, review_id: int, name: str, role: str, added_by: str, added_at: datetime
) -> ReviewName | None:
    """List ``name`` for the review; None if it is already listed."""
    existing = session.scalar(
        select(ReviewName.id).where(ReviewName.review_id == review_id, ReviewName.name == name)
    )
    if existing is not None:
        return None
    row = ReviewName(
        review_id=review_id, name=name, role=role, added_by=added_by, added_at=added_at
    )
    session.add(row)
    session.flush()
    return row


def review_names(session: Session, review_id: int) -> list[ReviewNameView]:
    rows = session.scalars(
        select(ReviewName).where(ReviewName.review_id == review_id).order_by(ReviewName.id)
    )
    return [ReviewNameView.model_validate(r) for r in rows]


def listed_names(session: Session, review_id: int) -> list[ListedName]:
    """What the anonymisation check looks for besides the subject."""
    return [ListedName(name=n.name, role=n.role) for n in review_names(session, review_id)]


def has_subject_identity(session: Session, review_id: int) -> bool:
    return (
        session.scalar(select(SubjectIdentity.id).where(SubjectIdentity.review_id == review_id))
        is not None
    )


def add_override(
    session: Session, *, document: Document, reason: str, actor: str, at: datetime
) -> AnonymisationOverride | None:
    """Record an override for this document version; None if one is already recorded."""
    if override_for(session, document) is not None:
        return None
    row = AnonymisationOverride(
        document_id=document.id, sha256=document.sha256, reason=reason, actor=actor, at=at
    )
    session.add(row)
    session.flush()
    return row


def override_for(session: Session, document: Document) -> AnonymisationOverride | None:
    """The override of exactly this version and content, if any."""
    return session.scalar(
        select(AnonymisationOverride).where(
            AnonymisationOverride.document_id == document.id,
            AnonymisationOverride.sha256 == document.sha256,
        )
    )


def add_clearance(
    session: Session,
    *,
    document: Document,
    place: str,
    found: str,
    reason: str,
    actor: str,
    at: datetime,
) -> AnonymisationClearance:
    """Record that the hit ``found`` at ``place`` of this document version is not identifying."""
    row = AnonymisationClearance(
        document_id=document.id,
        sha256=document.sha256,
        place=place,
        found=found,
        reason=reason,
        actor=actor,
        at=at,
    )
    session.add(row)
    session.flush()
    return row


def clearances(session: Session, document: Document) -> dict[tuple[str, str], str]:
    """(place, found) → who cleared it, for exactly this version and content."""
    found = session.scalars(
        select(AnonymisationClearance).where(
            AnonymisationClearance.document_id == document.id,
            AnonymisationClearance.sha256 == document.sha256,
        )
    )
    return {(row.place, row.found): row.actor for row in found}


def record_document_sent(
    session: Session,
    *,
    review_id: int,
    document_id: int,
    recipient: str,
    sent_at: datetime,
    via: str = "attachment",
) -> bool:
    """Record that a document version (and its hash) went to ``recipient`` ``via`` an
    attachment or a link. Idempotent: False if that was already recorded."""
    existing = session.scalar(
        select(DocumentSent.id).where(
            DocumentSent.document_id == document_id,
            DocumentSent.recipient == recipient,
            DocumentSent.via == via,
        )
    )
    if existing is not None:
        return False
    document = session.get_one(Document, document_id)
    session.add(
        DocumentSent(
            review_id=review_id,
            document_id=document_id,
            sha256=document.sha256,
            recipient=recipient,
            via=via,
            sent_at=sent_at,
        )
    )
    session.flush()
    return True


def documents_sent(session: Session, review_id: int) -> list[DocumentSent]:
    order = (DocumentSent.sent_at, DocumentSent.id)
    return rows(session, DocumentSent, DocumentSent.review_id == review_id, order_by=order)


def add_draft_comments(
    session: Session,
    *,
    review_id: int,
    agency_id: int,
    draft_version: int,
    comments: list[tuple[str, str]],
    submitted_by: str,
    submitted_at: datetime,
) -> None:
    """Record an agency's comments, one row per (section, comment)."""
    session.add_all(
        DraftComment(
            review_id=review_id,
            agency_id=agency_id,
            draft_version=draft_version,
            section=section,
            comment=comment,
            submitted_by=submitted_by,
            submitted_at=submitted_at,
        )
        for section, comment in comments
    )
    session.flush()


def draft_comments(session: Session, review_id: int) -> list[DraftCommentView]:
    """Every agency's comments on the review's drafts, by agency then as submitted."""
    rows = session.execute(
        select(DraftComment, Agency.name)
        .join(Agency, Agency.id == DraftComment.agency_id)
        .where(DraftComment.review_id == review_id)
        .order_by(Agency.name, DraftComment.id)
    ).tuples()
    return [
        DraftCommentView(
            agency=agency,
            draft_version=row.draft_version,
            section=row.section,
            comment=row.comment,
            submitted_at=row.submitted_at,
        )
        for row, agency in rows
    ]


def newest_versions(session: Session, review_id: int) -> dict[DocumentKind, int]:
    """The newest version of each kind of document the review has."""
    rows = session.execute(
        select(Document.kind, func.max(Document.version))
        .where(Document.review_id == review_id)
        .group_by(Document.kind)
    ).tuples()
    return {kind: version for kind, version in rows}


def attached_to(session: Session, message_key: str) -> Document | None:
    """The document queued as the attachment of the message ``message_key``, if it is queued."""
    return session.scalar(
        select(Document)
        .join(OutboxMessage, OutboxMessage.attachment_document_id == Document.id)
        .where(OutboxMessage.key == message_key)
    )
