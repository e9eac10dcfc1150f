"""A review's audit trail in words: who did what, when, and how it was given.

The trail is stored as action names and JSON details (``models.orm.AuditEvent``); people read
it here, in the CLI (``reviews audit``) and on the workspace's review page. Each action has a
sentence; an action without one is still shown, its details spelt out field by field, so a
new action is never hidden. Nothing here writes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.deadlines.engine import load_rule_packs
from models.orm import AuditEvent, WorkspaceUser

# The system's own actors: a stage of the flow, the sweep, the recovery loop.
SYSTEM_ACTORS = frozenset({"case-reviews", "publication", "sweep", "recovery"})

# Sentences by action; ``{field}`` takes the detail's field in words (see :func:`_words`).
_SENTENCES: dict[str, str] = {
    "referral_recorded": "Referral recorded as {regime}; criteria {criteria}",
    "local_authority_notification_recorded": (
        "Local authority's serious incident notification recorded: sent on {sent_on} to {to}"
    ),
    "review_started": "Review started (Prefect run {flow_run_id})",
    "stage_completed": "Stage done: {stage}",
    "gate_answered": "Answered {gate} (ask {attempt}): {answer}",
    "gate_answer_refused": "Answer to {gate} (ask {attempt}) refused: {problems}",
    "identity_revealed": "Subject's identity revealed",
    "review_names_revealed": "Names listed for the review revealed",
    "review_name_added": "Name listed for the anonymisation check ({role})",
    "document_added": "Document added: {kind}, version {version}",
    "document_read": "Document opened: {kind}, version {version} (by {how})",
    "anonymisation_checked": "Anonymisation check of {kind}, version {version}",
    "anonymisation_overridden": "Anonymisation hit cleared on {kind}, version {version}: {reason}",
    "timeline_submitted": "Timeline from {agency}, version {version}: {events} events",
    "agency_summary_submitted": "Rapid review summary from {agency}, version {version}",
    "timelines_gate_resumed": "Every timeline in: the timelines gate resumed",
    "signoff_gate_resumed": "Every sign-off in: the sign-off gate resumed",
    "method_chosen": "Method chosen: {method}",
    "draft_check_requested": (
        "Draft report version {draft_version} sent to agencies to check by {check_by}"
    ),
    "draft_comments_received": "Comments on draft version {draft_version} from {agency}",
    "recommendation_recorded": "Recommendation {number} recorded",
    "recommendation_not_implemented": "Recommendation {number} marked not implemented: {reason}",
    "action_plan_loaded": "Action plan loaded: items {items} (from {source})",
    "action_plan_signoff_recorded": "Action plan {decision} by {agency}",
    "action_plan_signoff_missing": "Action plan sign-off missing: {agencies}",
    "action_progress_reported": "Progress for quarter {quarter} from {agency}",
    "action_item_closed": "Action {item} closed",
    "themes_tagged": "Learning themes tagged: {themes}",
    "clock_miss_recorded": "Missed clock recorded: {milestone}: {reason}",
    "clock_stopped": "Clock stopped from {start} to {end}: {reason}",
    "delay_recorded": "Delay recorded from {start}: {reason}",
    "family_involvement_recorded": "Family involvement: {step} on {on}",
    "communications_plan": "Communications plan recorded",
    "report_taken_down": "Published report taken down on {on}",
    "board_report_stored": "Board report stored: {report}",
    "run_recovered": "Prefect run recovered after a crash",
    "run_recovery_exhausted": "Prefect run left stopped after repeated crashes ({reason}); the "
    "business manager was told",
    "run_failed": "Prefect run failed ({reason}); the business manager was told",
    "run_recovered_by_hand": "Prefect run brought back by hand (it was {was})",
    "foreign_run_refused": "A second run for this review was refused",
    "review_closed": "Review closed: {note}",
}


def _words(value: Any) -> str:
    """A detail's value as a person reads it: lists joined, dates spelt out, names of fields
    and enum values with spaces, nested answers as ``field: value`` pairs."""
    if value is None or value == "" or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        pairs = [(k, v) for k, v in value.items() if v not in (None, "", [], {})]
        return "; ".join(f"{_label(k)}: {_words(v)}" for k, v in pairs) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, datetime):
        return f"{value:%-d %B %Y %H:%M}"
    if isinstance(value, date):
        return f"{value:%-d %B %Y}"
    text = str(value)
    if _is_iso_date(text):
        return f"{date.fromisoformat(text):%-d %B %Y}"
    # Enum-like values (``full_review``) read as words; free text keeps its own spelling.
    return text.replace("_", " ") if text.isidentifier() else text


def _label(key: object) -> str:
    return str(key).replace("_", " ")


def _is_iso_date(text: str) -> bool:
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class _InWords(dict[str, str]):
    """The detail in words for ``str.format_map``; a field it lacks reads "none"."""

    def __missing__(self, key: str) -> str:
        return "none"


@functools.cache
def _regime_titles() -> dict[str, str]:
    return {code: pack.title for code, pack in load_rule_packs().items()}


def describe(action: str, detail: Mapping[str, Any]) -> str:
    """One sentence for an audit event. Long details (a method's steps, a hash) are left to
    the JSON; an action without a sentence of its own spells its details out."""
    sentence = _SENTENCES.get(action)
    if sentence is None:
        shown = {k: v for k, v in detail.items() if k not in {"sha256", "steps"}}
        return f"{_label(action).capitalize()}: {_words(shown)}"
    words = _InWords({k: _words(v) for k, v in detail.items()})
    if isinstance(detail.get("regime"), str):
        words["regime"] = _regime_titles().get(detail["regime"], words["regime"])
    return sentence.format_map(words)


def how_given(action: str, actor: str, workspace_users: frozenset[str]) -> str:
    """How the actor's part came in: the system, a portal link, a form, a sign-in, the CLI."""
    if actor in SYSTEM_ACTORS or actor.startswith("case-reviews "):
        return "the system"
    if actor.endswith("(portal)"):
        return "the agency's portal link"
    if actor == "download link":
        return "a signed document link"
    if action in {"gate_answered", "gate_answer_refused"}:
        return "the name typed in the gate's form in the Prefect UI"
    if actor in workspace_users:
        return "signed in to the workspace"
    # The CLI records its operator's name (REVIEWS_OPERATOR); a stage records the name its
    # form was given. Neither is a sign-in, and the trail says so.
    return "the name given with the record (no sign-in)"


class AuditEntry(BaseModel):
    """One line of a review's trail: when, who, how it was given, and what, in words."""

    at: datetime
    who: str
    how: str
    action: str
    what: str
    detail: dict[str, Any]


def review_audit(session: Session, review_id: int) -> list[AuditEvent]:
    """Every audit event of the review, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.review_id == review_id).order_by(AuditEvent.id)
        )
    )


def workspace_usernames(session: Session) -> frozenset[str]:
    """Everyone who can sign in to the workspace (to tell a sign-in from the CLI's operator)."""
    return frozenset(session.scalars(select(WorkspaceUser.username)))


def entries(events: Iterable[AuditEvent], workspace_users: frozenset[str]) -> list[AuditEntry]:
    """The events as :class:`AuditEntry` lines."""
    return [
        AuditEntry(
            at=e.at,
            who=e.actor,
            how=how_given(e.action, e.actor, workspace_users),
            action=e.action,
            what=describe(e.action, e.detail or {}),
            detail=dict(e.detail or {}),
        )
        for e in events
    ]
