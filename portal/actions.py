"""The owner agency's action pages: its own items of a review's action plan, reached only
through its signed action link (``/a/<token>``; a timeline link does not open them).

The agency signs off its items or asks for a change (with a comment), and, each quarter it is
asked, reports each open item's status, evidence and impact so far. A refusal names the field
and keeps what the agency typed. Any bad, expired or foreign link gets the bare 403 page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from core.names import AgencyDuty, progress_key
from models import action_plan_store as plans
from models import store
from models.orm import Agency, Board, ObligationStatus
from notifications.render import environment
from services.action_plans import (
    REPORTABLE,
    ActionRefused,
    ItemUpdate,
    current_progress_quarter,
    read_action_token,
    record_progress,
    record_signoff,
    signoff_state,
)
from services.links import LinkGrant, LinkRefused
from services.runtime import runtime

TEMPLATES = Jinja2Templates(env=environment(Path(__file__).with_name("templates")))


def _forbidden() -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><title>Link not valid</title><h1>This link is not valid</h1>"
        "<p>It may have expired. Please ask the board's business manager for a new one.</p>",
        status_code=403,
    )


class GrantedRoute(APIRoute):
    """A route whose link check (the ``grant`` dependency) answers a refused link with the
    bare 403 page, so no route checks the token by hand."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LinkRefused:
                return _forbidden()

        return guarded


router = APIRouter(route_class=GrantedRoute)


def grant(token: str) -> LinkGrant:
    """The review and owner agency the link grants (raises LinkRefused)."""
    return read_action_token(runtime(), token)


Grant = Annotated[LinkGrant, Depends(grant)]


def _page(
    request: Request,
    token: str,
    granted: LinkGrant,
    *,
    errors: list[str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    rt = runtime()
    with rt.sessions() as session:
        review = store.get_review(session, granted.reference)
        agency = session.get_one(Agency, granted.agency_id)
        board = session.get_one(Board, review.board_id)
        items = plans.item_views(session, review.id, agency_id=agency.id)
        signoff = store.agency_obligation(session, review, AgencyDuty.SIGNOFF, agency)
        state = signoff_state(session, review).get(agency.name, "awaited")
        quarter = current_progress_quarter(session, review, agency)
        progress_due = None
        if quarter is not None:
            key = progress_key(review.reference, agency.name, quarter)
            progress_due = next(
                o.due_on for o in store.obligations(session, review.id) if o.key == key
            )
        context = {
            "token": token,
            "reference": review.reference,
            "pseudonym": review.pseudonym,
            "agency": agency.name,
            "board": board.name,
            "items": items,
            "open_items": [i for i in items if i.status not in plans.FINISHED],
            "signoff_open": signoff is not None and signoff.status is ObligationStatus.OPEN,
            "signoff_due": signoff.due_on if signoff is not None else None,
            "signoff_state": state,
            "quarter": quarter,
            "progress_due": progress_due,
            "statuses": [s.value for s in REPORTABLE],
            "errors": errors or [],
            "notice": notice,
            "typed": typed or {},
        }
    return TEMPLATES.TemplateResponse(request, "actions.html", context, status_code=status_code)


@router.get("/a/{token}", response_class=HTMLResponse)
def actions_page(request: Request, token: str, granted: Grant) -> HTMLResponse:
    """The agency's own items, its sign-off and, when asked, its quarterly progress form."""
    return _page(request, token, granted)


@router.post("/a/{token}/signoff", response_class=HTMLResponse)
async def signoff(request: Request, token: str, granted: Grant) -> HTMLResponse:
    """Sign off the agency's items, or ask for a change with a comment."""
    form = await request.form()
    typed = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_signoff, request, token, granted, typed)


def _signoff(
    request: Request, token: str, granted: LinkGrant, typed: dict[str, str]
) -> HTMLResponse:
    decision = typed.get("decision", "")
    if decision not in {"sign", "change"}:
        return _page(
            request,
            token,
            granted,
            errors=["decision: choose 'sign off' or 'ask for a change'"],
            status_code=400,
            typed=typed,
        )
    rt = runtime()
    with rt.sessions() as session:
        agency = session.get_one(Agency, granted.agency_id).name
    try:
        state = record_signoff(
            rt,
            granted.reference,
            agency,
            decision == "sign",
            typed.get("comment", ""),
            recorded_by=f"{agency} (portal)",
        )
    except store.InputRejected as exc:
        errors = [str(p) for p in exc.problems]
        return _page(request, token, granted, errors=errors, status_code=400, typed=typed)
    except ActionRefused as exc:
        return _page(request, token, granted, errors=[str(exc)], status_code=409, typed=typed)
    notice = (
        "Thank you: your agency's actions are signed off."
        if state == "signed"
        else "Thank you: your request for a change is recorded for the business manager."
    )
    return _page(request, token, granted, notice=notice)


@router.post("/a/{token}/progress", response_class=HTMLResponse)
async def progress(request: Request, token: str, granted: Grant) -> HTMLResponse:
    """This quarter's progress report: each open item's status, evidence and impact so far."""
    form = await request.form()
    typed = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_progress, request, token, granted, typed)


def _progress(
    request: Request, token: str, granted: LinkGrant, typed: dict[str, str]
) -> HTMLResponse:
    rt = runtime()
    with rt.sessions() as session:
        review = store.get_review(session, granted.reference)
        agency = session.get_one(Agency, granted.agency_id)
        quarter = current_progress_quarter(session, review, agency)
        numbers = [i.number for i in plans.open_items(session, review.id, agency_id=agency.id)]
        name = agency.name
    if quarter is None:
        errors = ["no progress report is asked of your agency now"]
        return _page(request, token, granted, errors=errors, status_code=409, typed=typed)
    updates = [
        ItemUpdate(
            number=n,
            status=typed.get(f"status_{n}", "").strip(),
            evidence=typed.get(f"evidence_{n}", ""),
            impact=typed.get(f"impact_{n}", ""),
        )
        for n in numbers
    ]
    try:
        result = record_progress(
            rt, granted.reference, name, quarter, updates, submitted_by=f"{name} (portal)"
        )
    except store.InputRejected as exc:
        errors = [str(p) for p in exc.problems]
        return _page(request, token, granted, errors=errors, status_code=400, typed=typed)
    except ActionRefused as exc:
        return _page(request, token, granted, errors=[str(exc)], status_code=409, typed=typed)
    notice = (
        f"Thank you: your quarter {result.quarter} report on {result.items} items was received."
    )
    if result.next_quarter_due is not None:
        notice += f" The next one is due by {result.next_quarter_due:%d %B %Y}."
    return _page(request, token, granted, notice=notice)
