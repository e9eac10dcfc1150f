"""The LCSPR rapid review stage (Working Together 2023 ch.5), one task per step: agency
summaries asked through the portal, the meeting's report to the national panel (which meets the
15-working-day ``rapid_review`` clock), and the panel's response.

Each task works inside :func:`tasks.context.review_step` and keys what it writes (event names,
obligation keys, message keys, stage keys), so a replay after a resume repeats nothing.
"""

from __future__ import annotations

from prefect import task

from core.names import AgencyDuty, Stage, obligation_key
from models import answers, store
from models import participation_store as participation
from tasks.common import CaseSummary
from tasks.context import review_step
from tasks.stages import StageResult, ask_through_portal, record_recommendation


@task
def agency_summary_requests(reference: str) -> StageResult:
    """Ask each involved agency, through its own portal link, for a short summary by the
    pack's ``agency_summary`` rule, with an obligation the sweep chases until it arrives
    (once: the request event, obligations and messages are keyed)."""
    with review_step(reference) as step:
        _due, queued = ask_through_portal(step, AgencyDuty.RAPID_REVIEW_SUMMARY)
    return StageResult(reference=reference, stage=Stage.RAPID_REVIEW, messages_queued=queued)


@task
def rapid_review_report(
    reference: str, case: CaseSummary, answer: answers.RapidReviewMeeting
) -> StageResult:
    """Record the meeting and the partners' recommendation (which the chair's form shows),
    close the summaries still awaited (waived, with the audited reason), send the rapid review
    report to the national panel and meet the ``rapid_review`` clock on the day it went
    (once)."""
    with review_step(reference) as step:
        session, review = step.session, step.review
        store.record_event(
            session, review_id=review.id, name="rapid_review_held", on_date=answer.held_on
        )
        for obligation in store.open_obligations(session, review.id, milestone="agency_summary"):
            step.waive(obligation, "agency_summary_waived", answer.reason, actor=answer.recorded_by)
        record_recommendation(
            step,
            "full_review" if answer.recommends_lcspr else "no_review",
            answer.rationale,
            f"safeguarding partners (rapid review; recorded by {answer.recorded_by})",
        )
        received = len(participation.agencies_with_summaries(session, review.id))
        asked = len(store.obligations(session, review.id, milestone="agency_summary"))
        queued = step.email(
            "rapid_review_report",
            recipient=step.board.national_panel_email,
            key="rapid_review_report",
            **answer.model_dump(),
            summaries=f"{received} of {asked}",
            summary=case.summary.strip(),
        )
        store.record_event(
            session, review_id=review.id, name="rapid_review_sent", on_date=step.today()
        )
        sent_on = store.review_events(session, review.id)["rapid_review_sent"]
        note = "rapid review report sent to the national panel"
        key = obligation_key(reference, "rapid_review")
        store.meet_obligation(session, key=key, on_date=sent_on, note=note)
        step.complete(
            Stage.RAPID_REVIEW,
            {"recommends_lcspr": answer.recommends_lcspr, "sent_on": sent_on.isoformat()},
        )
    return StageResult(reference=reference, stage=Stage.RAPID_REVIEW, messages_queued=int(queued))


@task
def panel_response(reference: str, answer: answers.PanelResponse) -> StageResult:
    """Record the national panel's response to the rapid review (once)."""
    with review_step(reference) as step:
        store.record_event(
            step.session,
            review_id=step.review.id,
            name="panel_responded",
            on_date=answer.received_on,
        )
        step.complete(Stage.PANEL_RESPONSE, {"view": answer.view})
    return StageResult(reference=reference, stage=Stage.PANEL_RESPONSE, note=answer.view)
