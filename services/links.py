"""Agencies' signed portal links: one review and one agency each, valid until a date.

Expiry is read against the runtime's clock (itsdangerous's own timestamp would read the wall
clock). No Prefect here: the CLI prints links without loading it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from core.names import LINK_GRACE, AgencyDuty
from core.secrets import check_portal_secret
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


def portal_serializer(rt: Runtime, salt: str) -> URLSafeSerializer:
    """What signs and reads every portal link of kind ``salt``. Refuses (InsecureSetting,
    naming the setting) the published default or a short key: a link signed with it could be
    forged by anyone, and one the portal would refuse."""
    secret = rt.settings.portal_secret.get_secret_value()
    check_portal_secret(secret)
    return URLSafeSerializer(secret, salt=salt)


def make_token(
    rt: Runtime, reference: str, agency_id: int, expires_on: date, *, salt: str = LINK_SALT
) -> str:
    """A signed token naming one review and one agency, valid until ``expires_on``. Each kind
    of portal page signs with its own ``salt``, so one kind of link cannot open another."""
    data = {"r": reference, "a": agency_id, "x": expires_on.isoformat()}
    return str(portal_serializer(rt, salt).dumps(data))


def read_signed(rt: Runtime, token: str, *, salt: str) -> LinkGrant:
    """The review and agency a token signed with ``salt`` names, or :class:`LinkRefused`
    (tampered, another kind of link, or expired against the runtime's clock)."""
    try:
        data: Any = portal_serializer(rt, salt).loads(token)
        reference, agency_id, expires = str(data["r"]), int(data["a"]), str(data["x"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkRefused(f"bad token: {exc.__class__.__name__}") from None
    if date.fromisoformat(expires) < rt.today():
        raise LinkRefused(f"expired on {expires}")
    return LinkGrant(reference, agency_id)


@dataclass(frozen=True)
class LinkKind:
    """One kind of agency page (``/<path>/<token>``): its own salt, so one kind of link cannot
    open another, and which of a review's agencies it may open for."""

    path: str
    salt: str
    may_open: Callable[[Session, Review], set[int | None]]
    refusal: str  # why a signed link for another agency is refused (for our logs)

    def link(self, rt: Runtime, reference: str, agency_id: int, due: date) -> str:
        """The agency's link, usable until four weeks after ``due``."""
        token = make_token(rt, reference, agency_id, due + LINK_GRACE, salt=self.salt)
        return f"{rt.settings.portal_url.rstrip('/')}/{self.path}/{token}"

    def read(self, rt: Runtime, token: str) -> LinkGrant:
        """The review and agency the link grants, or :class:`LinkRefused` (tampered, expired,
        another kind of link, or an agency it may not open for)."""
        grant = read_signed(rt, token, salt=self.salt)
        with rt.sessions() as session:
            try:
                review = store.get_review(session, grant.reference)
            except store.NotFound:
                raise LinkRefused("no such review") from None
            if grant.agency_id not in self.may_open(session, review):
                raise LinkRefused(self.refusal)
        return grant


TIMELINE_LINK = LinkKind(
    "t",
    LINK_SALT,
    lambda session, review: {a.id for a in store.involved_agencies(session, review.id)},
    "agency not on the review",
)
portal_link = TIMELINE_LINK.link
read_token = TIMELINE_LINK.read


def timeline_due(session: Session, review: Review, agency: Agency) -> date | None:
    """The agency's timeline deadline on the review, once timelines were requested."""
    obligation = store.agency_obligation(session, review, AgencyDuty.TIMELINE, agency)
    return obligation.due_on if obligation is not None else None
