"""Queries over the review's documents, the names it lists, anonymisation overrides and what
was sent. Session in, no commit: the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.names import DocumentKind
from models.documents import DocumentView, ListedName, ReviewNameView
from models.orm import (
    AnonymisationOverride,
    Document,
    DocumentSent,
    Review,
    ReviewName,
    SubjectIdentity,
)
from models.store import NotFound


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
    session: Session,
    *,
    review_id: int,
    kind: DocumentKind,
    filename: str,
    media_type: str,
    size: int,
    sha256: str,
    added_by: str,
    added_at: datetime,
) -> Document:
    """A new version of ``kind`` for the review (never an overwrite)."""
    document = Document(
        review_id=review_id,
        kind=kind,
        version=next_version(session, review_id=review_id, kind=kind),
        filename=filename,
        media_type=media_type,
        size=size,
        sha256=sha256,
        added_by=added_by,
        added_at=added_at,
    )
    session.add(document)
    session.flush()
    return document


def documents(session: Session, review_id: int) -> list[Document]:
    """Every version of every document of the review, by kind then version."""
    return list(
        session.scalars(
            select(Document)
            .where(Document.review_id == review_id)
            .order_by(Document.kind, Document.version)
        )
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
    return list(
        session.scalars(
            select(DocumentSent)
            .where(DocumentSent.review_id == review_id)
            .order_by(DocumentSent.sent_at, DocumentSent.id)
        )
    )
