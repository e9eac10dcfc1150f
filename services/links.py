"""Agencies' signed portal links: one review and one agency each, valid until a date.

Expiry is read against the runtime's clock (itsdangerous's own timestamp would read the wall
clock). No Prefect here: the CLI prints links without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from core.names import LINK_GRACE, AgencyDuty
from models import store
from models.orm import Agency, Review
from services.runtime import Runtime

LINK_SALT = "timeline-link"


__all__ = ["LINK_GRACE", "LinkGrant", "LinkRefused", "make_token", "portal_link", "read_token"]


class LinkRefused(PermissionError):
    """An expired, tampered or foreign link. The message is for our logs, never the page."""


@dataclass(frozen=True)
class LinkGrant:
    reference: str
    agency_id: int


def _serializer(rt: Runtime) -> URLSafeSerializer:
    return URLSafeSerializer(rt.settings.portal_secret.get_secret_value(), salt=LINK_SALT)


def make_token(rt: Runtime, reference: str, agency_id: int, expires_on: date) -> str:
    """A signed token naming one review and one agency, valid until ``expires_on``."""
    return str(_serializer(rt).dumps({"r": reference, "a": agency_id, "x": expires_on.isoformat()}))


def portal_link(rt: Runtime, reference: str, agency_id: int, due: date) -> str:
    token = make_token(rt, reference, agency_id, due + LINK_GRACE)
    return f"{rt.settings.portal_url.rstrip('/')}/t/{token}"


def read_token(rt: Runtime, token: str) -> LinkGrant:
    """The review and agency a token grants, or :class:`LinkRefused` (expired, tampered, or
    for an agency no longer on the review). Expiry is read against the runtime's clock."""
    try:
        data: Any = _serializer(rt).loads(token)
        reference, agency_id, expires = str(data["r"]), int(data["a"]), str(data["x"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkRefused(f"bad token: {exc.__class__.__name__}") from None
    if date.fromisoformat(expires) < rt.today():
        raise LinkRefused(f"expired on {expires}")
    with rt.sessions() as session:
        try:
            review = store.get_review(session, reference)
        except store.NotFound:
            raise LinkRefused("no such review") from None
        if agency_id not in {a.id for a in store.involved_agencies(session, review.id)}:
            raise LinkRefused("agency not on the review")
    return LinkGrant(reference, agency_id)


def timeline_due(session: Session, review: Review, agency: Agency) -> date | None:
    """The agency's timeline deadline on the review, once timelines were requested."""
    obligation = store.agency_obligation(session, review, AgencyDuty.TIMELINE, agency)
    return obligation.due_on if obligation is not None else None
