"""The forms behind each gate's Resume button: each gate's answer (:mod:`models.answers`) made a
Prefect ``RunInput``, so the Prefect UI renders it and the server checks its schema at resume.

The fields, the case rules (``problems``) and who answered (``actor``) are the answer's own;
a form adds only what Prefect needs to show it, written for the person answering:

- a field the answer requires stays required when the gate pre-fills it (Prefect's
  ``with_initial_data`` makes a pre-filled field a default, which the UI labels "(Optional)"):
  the pre-filled value is the schema's ``default`` and the field stays in ``required``;
- an optional field (``X | None``) is shown as a plain ``X`` that may be left empty, not as a
  type toggle (whose "None" choice reads 'Property is type "None"');
- titles are sentence case ("Decided on"), and choices show their labels
  (:data:`models.answers.CHOICE_LABELS`), pre-filled choices too.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from prefect.input import RunInput
from pydantic import ConfigDict, create_model

from models import answers


def _plain(prop: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, null]`` as ``X`` (keeping the field's own title and description)."""
    options = prop.get("anyOf")
    if options is not None:
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1:
            prop = {**kept[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    if prop.get("default", ...) is None:
        prop = {k: v for k, v in prop.items() if k != "default"}
    if isinstance(prop.get("default"), str) and "enum" in prop:
        prop["default"] = answers.choice_label(prop["default"])
    return prop


def _for_the_person_answering(schema: dict[str, Any], form: type[Any]) -> None:
    answer = next(
        c for c in form.__mro__ if issubclass(c, answers.GateAnswer) and not issubclass(c, GateForm)
    )
    required = [n for n, f in answer.model_fields.items() if f.is_required()]
    for name, prop in list(schema.get("properties", {}).items()):
        prop = _plain(prop)
        prop["title"] = name.replace("_", " ").capitalize()
        if name in answer.always_asked:
            prop.setdefault("default", [] if prop.get("type") == "array" else "")
            required.append(name)
        schema["properties"][name] = prop
    schema["required"] = [n for n in schema.get("properties", {}) if n in required]


F = TypeVar("F", bound="GateForm")


class GateForm(answers.GateAnswer, RunInput):
    """Any gate's form: an answer the Prefect UI can render and the server can check."""

    model_config = ConfigDict(json_schema_extra=_for_the_person_answering)

    @classmethod
    def with_initial_data(cls: type[F], description: str | None = None, **kwargs: Any) -> type[F]:
        """This form with ``kwargs`` pre-filled. Unlike Prefect's, each pre-filled field keeps
        its description, limits and label handling (Prefect re-declares it from its bare
        type), so a pre-filled choice is shown by its label and read back from it."""
        fields: dict[str, Any] = {}
        for name, value in kwargs.items():
            info = copy.copy(cls.model_fields[name])
            info.default, info.default_factory = value, None
            fields[name] = (info.annotation, info)
        form: type[F] = create_model(cls.__name__, __base__=cls, **fields)
        if description is not None:
            form._description = description
        return form


class RapidReviewMeeting(answers.RapidReviewMeeting, GateForm):
    """The LCSPR rapid review meeting and the partners' recommendation."""


class PanelResponse(answers.PanelResponse, GateForm):
    """The national panel's response to the rapid review."""


class CommitteeRecommendation(answers.CommitteeRecommendation, GateForm):
    """The review committee's recommendation to the chair."""


class ChairDecision(answers.ChairDecision, GateForm):
    """The independent chair's decision whether to initiate a review."""


class ReviewerAppointment(answers.ReviewerAppointment, GateForm):
    """Lead reviewer(s) appointed and their independence confirmed."""


class TimelinesComplete(answers.TimelinesComplete, GateForm):
    """Every timeline is in, or the review proceeds without some, with a reason."""


class EventArranged(answers.EventArranged, GateForm):
    """An event's date, time, venue and contact, confirmed before anyone is invited."""


class EventHeld(answers.EventHeld, GateForm):
    """A method's event took place."""


class ForumHeld(answers.ForumHeld, GateForm):
    """The multi-agency professional forum took place under the performance committee."""


class AgencyReviewReceived(answers.AgencyReviewReceived, GateForm):
    """The agency under review sent its own review report back to the board."""


class FinalReportApproved(answers.FinalReportApproved, GateForm):
    """The chair approves the final report after it was presented to the board."""


class ActionPlanSignedOff(answers.ActionPlanSignedOff, GateForm):
    """Each owner agency signed off its own items (or the plan goes on without some, with a
    reason)."""


class PublicationDecision(answers.PublicationDecision, GateForm):
    """Publish on a date, or decide not to publish (the panel is told why)."""


class TermsOfReferenceSet(answers.TermsOfReferenceSet, GateForm):
    """The terms of reference, agreed after the reviewers are appointed."""


class DraftReportReady(answers.DraftReportReady, GateForm):
    """The draft is stored; the agencies check it for factual accuracy."""


class LearningSummaryForm(answers.LearningSummaryForm, GateForm):
    """The learning summary (Appendix E headings)."""


class AnonymisationCleared(answers.AnonymisationCleared, GateForm):
    """The final report may leave the board."""


class CommunicationsPlan(answers.CommunicationsPlan, GateForm):
    """The communications before publication."""


class PanelAdvice(answers.PanelAdvice, GateForm):
    """The national panel's advice on not publishing, and the final decision."""


class ReviewClosed(answers.ReviewClosed, GateForm):
    """Every action is done or closed with a reason; the performance committee closes the
    review."""
