"""The case group's factual-accuracy check of the draft report: each agency's own page
(``/c/<token>``; a timeline or action link does not open it) shows the newest draft to
download and a form for comments section by section. Sending meets the agency's obligation, so
the sweep stops reminding it. Any bad, expired or foreign link gets the bare 403 page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from core.names import AgencyDuty, DocumentKind
from models import documents_store, store
from models.documents import DocumentRefused
from models.orm import Agency, Board, ObligationStatus
from notifications.render import environment
from portal.actions import GrantedRoute
from services.documents import get_document, read_draft_check_token, record_draft_comments
from services.links import LinkGrant
from services.runtime import runtime

TEMPLATES = Jinja2Templates(env=environment(Path(__file__).with_name("templates")))
FORM_ROWS = 6

router = APIRouter(route_class=GrantedRoute)
Grant = Annotated[
    LinkGrant, Depends(lambda token: read_draft_check_token(runtime(), token))
]  # raises LinkRefused: the route answers with the bare 403 page


@dataclass(frozen=True)
class Shown:
    """What the page shows besides the review: problems, a notice, the rows as typed."""

    errors: list[str] = field(default_factory=list)
    notice: str | None = None
    status_code: int = 200
    rows: list[tuple[str, str]] = field(default_factory=lambda: [("", "")] * FORM_ROWS)


def _page(request: Request, token: str, granted: LinkGrant, shown: Shown = Shown()) -> HTMLResponse:
    rt = runtime()
    with rt.sessions() as session:
        review = store.get_review(session, granted.reference)
        agency = session.get_one(Agency, granted.agency_id)
        obligation = store.agency_obligation(session, review, AgencyDuty.DRAFT_CHECK, agency)
        sent = [
            c for c in documents_store.draft_comments(session, review.id) if c.agency == agency.name
        ]
        draft = documents_store.newest_versions(session, review.id).get(DocumentKind.DRAFT_REPORT)
        context = {
            "token": token,
            "reference": review.reference,
            "pseudonym": review.pseudonym,
            "agency": agency.name,
            "board": session.get_one(Board, review.board_id).name,
            "draft_version": draft,
            "due": obligation.due_on if obligation is not None else None,
            "open": obligation is not None and obligation.status is ObligationStatus.OPEN,
            "sent": sent,
            "errors": shown.errors,
            "notice": shown.notice,
            "rows": shown.rows,
        }
    return TEMPLATES.TemplateResponse(
        request, "draft_check.html", context, status_code=shown.status_code
    )


@router.get("/c/{token}", response_class=HTMLResponse)
def draft_check_page(request: Request, token: str, granted: Grant) -> HTMLResponse:
    """The draft to read, the comment form, and what the agency has sent."""
    return _page(request, token, granted)


@router.get("/c/{token}/draft")
def draft_download(token: str, granted: Grant) -> Response:
    """The newest draft, its reading audited (it may hold identity)."""
    rt = runtime()
    with rt.sessions() as session:
        agency = session.get_one(Agency, granted.agency_id).name
    view, data = get_document(
        rt, granted.reference, DocumentKind.DRAFT_REPORT, actor=f"{agency} (portal)"
    )
    return Response(
        data,
        media_type=view.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{view.safe_filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/c/{token}", response_class=HTMLResponse)
async def send_comments(request: Request, token: str, granted: Grant) -> HTMLResponse:
    """The agency's comments, section by section (``section_N`` and ``comment_N``)."""
    form = await request.form()
    typed = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    numbers = sorted({int(k.split("_")[1]) for k in typed if k.split("_")[-1].isdigit()})
    rows = [(typed.get(f"section_{n}", ""), typed.get(f"comment_{n}", "")) for n in numbers]
    return await run_in_threadpool(_send, request, token, granted, rows)


def _send(
    request: Request, token: str, granted: LinkGrant, rows: list[tuple[str, str]]
) -> HTMLResponse:
    rt = runtime()
    with rt.sessions() as session:
        agency = session.get_one(Agency, granted.agency_id).name
    try:
        entries = record_draft_comments(
            rt, granted.reference, agency, rows, submitted_by=f"{agency} (portal)"
        )
    except DocumentRefused as exc:
        return _page(request, token, granted, Shown(str(exc).splitlines(), None, 400, rows))
    notice = f"Thank you: {entries} comments from {agency} were received."
    return _page(request, token, granted, Shown(notice=notice))
