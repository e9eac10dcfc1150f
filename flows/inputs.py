"""The forms behind each gate's Resume button: each gate's answer (:mod:`models.answers`) made a
Prefect ``RunInput``, so the Prefect UI renders it and the server checks its schema at resume.

The fields, the case rules (``problems``) and who answered (``actor``) are the answer's own;
a form adds only what Prefect needs to show it.
"""

from __future__ import annotations

from prefect.input import RunInput

from models import answers


class GateForm(answers.GateAnswer, RunInput):
    """Any gate's form: an answer the Prefect UI can render and the server can check."""


class CommitteeRecommendation(answers.CommitteeRecommendation, GateForm):
    """The review committee's recommendation to the chair."""


class ChairDecision(answers.ChairDecision, GateForm):
    """The independent chair's decision whether to initiate a review."""


class ReviewerAppointment(answers.ReviewerAppointment, GateForm):
    """Lead reviewer(s) appointed and their independence confirmed."""


class TimelinesComplete(answers.TimelinesComplete, GateForm):
    """Every timeline is in, or the review proceeds without some, with a reason."""


class LearningEventHeld(answers.LearningEventHeld, GateForm):
    """The learning event took place."""


class RecallSessionHeld(answers.RecallSessionHeld, GateForm):
    """Practitioners reconvened and tested the draft findings."""


class FinalReportApproved(answers.FinalReportApproved, GateForm):
    """The chair approves the final report after it was presented to the board."""


class ActionPlanSignedOff(answers.ActionPlanSignedOff, GateForm):
    """Member agencies signed off the action plan (or the chair overrides, with a reason)."""


class PublicationDecision(answers.PublicationDecision, GateForm):
    """Publish on a date, or decide not to publish (the panel is told why)."""


class ReviewClosed(answers.ReviewClosed, GateForm):
    """Every action is done; the performance committee closes the review."""
