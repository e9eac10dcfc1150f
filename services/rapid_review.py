"""The LCSPR rapid review's agency summaries (Working Together 2023 ch.5): each involved agency's
own signed link (``/s/<token>``, a salt of its own, so a timeline link does not open it) and
the one way a summary is taken, for the portal and the simulation alike.

A summary meets the agency's ``agency_summary`` obligation, so the sweep stops chasing it; the
rapid review meeting's gate lists who has not sent one.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.limits import TEXT_MAX
from core.names import AgencyDuty
from models import participation_store as participation
from models import store
from models.identity_guard import identity_leaks
from models.store import FieldProblem, InputRejected
from services.links import LinkGrant, LinkKind
from services.runtime import Runtime

SUMMARY_FIELDS = {
    "involvement": "your agency's involvement with the child and family",
    "immediate_actions": "immediate safeguarding actions taken",
    "learning": "early learning: what went well and what might have been done differently",
}


class SummaryRefused(ValueError):
    """The summary cannot be taken now (none is asked of this agency, or the meeting is held)."""


@dataclass(frozen=True)
class SummaryReceived:
    reference: str
    agency: str
    version: int
    all_in: bool


SUMMARY_LINK = LinkKind(
    "s",
    "rapid-review-summary-link",
    lambda session, review: {
        o.agency_id for o in store.obligations(session, review.id, milestone="agency_summary")
    },
    "no summary asked of this agency",
)
summary_link = SUMMARY_LINK.link
read_summary_token = SUMMARY_LINK.read


def submit_summary(rt: Runtime, grant: LinkGrant, answers: dict[str, str]) -> SummaryReceived:
    """Store a new version of the summary of the agency the link grants (sent through the
    portal), meet its obligation and audit it, in one transaction. Refuses
    (:class:`InputRejected`, naming each field; nothing stored) a blank field, an over-long one,
    or one holding the subject's identity; refuses (:class:`SummaryRefused`) once the rapid
    review meeting is recorded."""
    reference = grant.reference
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        agency = next(
            (a for a in store.involved_agencies(session, review.id) if a.id == grant.agency_id),
            None,
        )
        if agency is None:
            raise store.NotFound(f"agency {grant.agency_id} is not on {reference}")
        submitted_by = f"{agency.name} (portal)"
        obligation = store.agency_obligation(
            session, review, AgencyDuty.RAPID_REVIEW_SUMMARY, agency
        )
        if obligation is None:
            raise SummaryRefused(f"no rapid review summary is asked of {agency.name}")
        if "rapid_review_held" in store.review_events(session, review.id):
            raise SummaryRefused(
                "the rapid review meeting has been held; contact the business manager"
            )
        identity = store.known_identity(session, review.id)
        problems = []
        for field in SUMMARY_FIELDS:
            text = answers.get(field, "").strip()
            if not text:
                problems.append(FieldProblem(field, "is required"))
            elif len(text) > TEXT_MAX:
                problems.append(FieldProblem(field, f"is longer than {TEXT_MAX} characters"))
            elif leaks := identity_leaks(text, identity):
                problems.append(
                    FieldProblem(
                        field,
                        f"contains the subject's real {' and '.join(sorted(leaks))}; "
                        f"use the pseudonym ({review.pseudonym})",
                    )
                )
        if problems:
            raise InputRejected(problems)
        row = participation.add_agency_summary(
            session,
            review_id=review.id,
            agency_id=agency.id,
            involvement=answers["involvement"].strip(),
            immediate_actions=answers["immediate_actions"].strip(),
            learning=answers["learning"].strip(),
            submitted_by=submitted_by,
            submitted_at=rt.now(),
        )
        store.meet_agency_obligation(
            session, review, AgencyDuty.RAPID_REVIEW_SUMMARY, agency, rt.today()
        )
        detail = {"agency": agency.name, "version": row.version}
        store.record_audit(
            session, review.id, submitted_by, "agency_summary_submitted", detail, rt.now()
        )
        all_in = not participation.awaited_summaries(session, review.id)
        return SummaryReceived(reference, agency.name, row.version, all_in)


__all__ = [
    "SUMMARY_FIELDS",
    "SummaryReceived",
    "SummaryRefused",
    "read_summary_token",
    "submit_summary",
    "summary_link",
]
