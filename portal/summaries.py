"""The agency's rapid review summary page (LCSPR), reached only through its signed summary link
(``/s/<token>``; a timeline or action link does not open it). A refusal names the field and
keeps what the agency typed; any bad, expired or foreign link gets the bare 403 page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from core.names import AgencyDuty
from models import participation_store as participation
from models import store
from notifications.render import environment
from portal.actions import GrantedRoute
from portal.linked import NOTHING_SENT, Answer, Linked, typed_fields
from services.links import LinkGrant
from services.rapid_review import (
    SUMMARY_FIELDS,
    SummaryRefused,
    read_summary_token,
    submit_summary,
)
from services.runtime import runtime

TEMPLATES = Jinja2Templates(env=environment(Path(__file__).with_name("templates")))

router = APIRouter(route_class=GrantedRoute)


def grant(token: str) -> LinkGrant:
    """The review and agency the summary link grants (raises LinkRefused)."""
    return read_summary_token(runtime(), token)


Grant = Annotated[LinkGrant, Depends(grant)]


def _page(
    request: Request, token: str, granted: LinkGrant, answer: Answer = NOTHING_SENT
) -> HTMLResponse:
    rt = runtime()
    with rt.sessions() as session:
        linked = Linked.load(session, granted)
        review, agency = linked.review, linked.agency
        obligation = store.agency_obligation(
            session, review, AgencyDuty.RAPID_REVIEW_SUMMARY, agency
        )
        versions = participation.summary_versions(session, review.id, agency.id)
        latest = versions[-1] if versions else None
        last_sent = {f: getattr(latest, f) for f in SUMMARY_FIELDS} if latest is not None else {}
        context = linked.context(token, answer) | {
            "due": obligation.due_on if obligation else None,
            "open": "rapid_review_held" not in store.review_events(session, review.id),
            "fields": SUMMARY_FIELDS,
            "sent": len(versions),
            "typed": answer.typed or last_sent,
        }
    return TEMPLATES.TemplateResponse(
        request, "summary.html", context, status_code=answer.status_code
    )


@router.get("/s/{token}", response_class=HTMLResponse)
def summary_page(request: Request, token: str, granted: Grant) -> HTMLResponse:
    """The agency's own summary request, with the form (pre-filled with what it last sent)."""
    return _page(request, token, granted)


@router.post("/s/{token}", response_class=HTMLResponse)
async def send_summary(request: Request, token: str, granted: Grant) -> HTMLResponse:
    """Take the agency's summary: all of it, or (naming each field) none of it."""
    typed = await typed_fields(request)
    return await run_in_threadpool(_send, request, token, granted, typed)


def _send(request: Request, token: str, granted: LinkGrant, typed: dict[str, str]) -> HTMLResponse:
    try:
        received = submit_summary(runtime(), granted, typed)
    except store.InputRejected as exc:
        return _page(request, token, granted, Answer.refused(exc.problems, typed))
    except SummaryRefused as exc:
        return _page(request, token, granted, Answer.refused([exc], typed, status_code=409))
    notice = f"Received: {received.agency}'s summary, version {received.version}. Thank you."
    return _page(request, token, granted, Answer(notice=notice))
