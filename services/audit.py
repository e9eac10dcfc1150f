"""A review's audit trail, open or closed, in words (``reviews audit``, the workspace)."""

from __future__ import annotations

from pydantic import BaseModel

from models import audit_trail as trail_store
from models import store
from models.audit_trail import AuditEntry
from services.runtime import Runtime


class AuditTrail(BaseModel):
    """Every decision, answer, reveal, read and change recorded for one review, oldest first."""

    reference: str
    regime: str
    status: str
    entries: list[AuditEntry]


def audit_trail(rt: Runtime, reference: str) -> AuditTrail:
    """The review's trail (see :mod:`models.audit_trail`); reading it is not itself audited
    (it shows who did what, never the identity). Raises ``store.NotFound`` for an unknown
    reference."""
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        users = trail_store.workspace_usernames(session)
        return AuditTrail(
            reference=review.reference,
            regime=review.regime.value,
            status=review.status.value,
            entries=trail_store.entries(trail_store.review_audit(session, review.id), users),
        )
