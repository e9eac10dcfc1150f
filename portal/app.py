"""The agency portal: one page per agency and review, reached only through a signed link.

An agency sees its own request and nothing else: no other agency's timeline, no identity, no
other review. It can download a template, upload a CSV or Excel file, or type events into a
form; see what it submitted; and replace it before its deadline (earlier versions are kept).
Any bad, expired or foreign link gets the same bare 403 page.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from core.web import SecurityHeaders
from models import store
from models.orm import Agency, Board
from models.timeline import (
    COLUMNS,
    SIGNIFICANCE_QUESTIONS,
    RowProblem,
    TimelineRejected,
    parse_rows,
    parse_timeline_file,
    template_csv,
    template_xlsx,
)
from notifications.render import environment
from portal.actions import router as actions_router
from portal.documents import router as documents_router
from portal.draft_check import router as draft_check_router
from portal.refusal import forbidden
from portal.summaries import router as summaries_router
from services.links import LinkRefused, read_token, timeline_due
from services.runtime import runtime
from services.timelines import SubmissionRefused, collecting_timelines, submit_timeline

TEMPLATES = Jinja2Templates(env=environment(Path(__file__).with_name("templates")))
FORM_ROWS = 8
MAX_UPLOAD = 5 * 2**20

app = FastAPI(title="case-reviews agency portal", docs_url=None, redoc_url=None, openapi_url=None)
# Its URLs carry the agencies' tokens: never sent on as a Referer, never cached.
app.add_middleware(SecurityHeaders, referrer_policy="no-referrer")
app.include_router(documents_router)
app.include_router(actions_router)  # owner agencies' action plan pages (/a/…)
app.include_router(summaries_router)  # LCSPR rapid review agency summaries (/s/…)
app.include_router(draft_check_router)  # the agencies' check of the draft report (/c/…)


def _page(
    request: Request,
    token: str,
    *,
    errors: list[str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
    form_rows: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    rt = runtime()
    grant = read_token(rt, token)
    with rt.sessions() as session:
        review = store.get_review(session, grant.reference)
        agency = session.get_one(Agency, grant.agency_id)
        board = session.get_one(Board, review.board_id)
        versions = store.timeline_submissions(session, review.id, agency.id)
        due = timeline_due(session, review, agency)
        open_for_submission = collecting_timelines(session, review)
        current = parse_rows(versions[-1].events) if versions else []
        history = [
            {
                "version": v.version,
                "submitted_on": v.submitted_at.date(),
                "events": len(v.events),
                "source": v.source,
            }
            for v in versions
        ]
        reference, pseudonym, agency_name, board_name = (
            review.reference,
            review.pseudonym,
            agency.name,
            board.name,
        )
    today = rt.today()
    replace_closed = bool(versions) and due is not None and today > due
    return TEMPLATES.TemplateResponse(
        request,
        "request.html",
        {
            "token": token,
            "reference": reference,
            "pseudonym": pseudonym,
            "agency": agency_name,
            "board": board_name,
            "due": due,
            "today": today,
            "overdue": due is not None and today > due and not versions,
            "open": open_for_submission and not replace_closed,
            "replace_closed": replace_closed,
            "current": current,
            "history": history,
            "errors": errors or [],
            "notice": notice,
            "questions": SIGNIFICANCE_QUESTIONS,
            "columns": COLUMNS,
            "form_rows": form_rows or [dict.fromkeys(COLUMNS, "") for _ in range(FORM_ROWS)],
        },
        status_code=status_code,
    )


def _submit(
    request: Request,
    token: str,
    events: Any,
    source: str,
    *,
    typed_rows: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    """Submit; on any refusal show the page again with the problems and, for typed events,
    every row as the agency typed it (nothing it typed is lost)."""
    rt = runtime()
    grant = read_token(rt, token)
    with rt.sessions() as session:
        agency_name = session.get_one(Agency, grant.agency_id).name
    try:
        result = submit_timeline(
            rt,
            reference=grant.reference,
            agency_name=agency_name,
            events=events,
            submitted_by=f"{agency_name} (portal)",
            source=source,
            first_row=1 if typed_rows is not None else 2,
        )
    except TimelineRejected as exc:
        problems = exc.problems
        if typed_rows is not None:
            # The checks number the events 1, 2, …; the page numbers every entry, blank or not.
            entries = [i + 1 for i, row in enumerate(typed_rows) if any(row.values())]
            problems = [
                RowProblem(entries[p.row - 1], p.column, p.problem) if p.row else p
                for p in problems
            ]
        errors = [str(p) if typed_rows is None else _as_entry(str(p)) for p in problems]
        return _page(request, token, errors=errors, status_code=400, form_rows=typed_rows)
    except SubmissionRefused as exc:
        return _page(request, token, errors=[str(exc)], status_code=409, form_rows=typed_rows)
    plural = "event" if result.events == 1 else "events"
    notice = f"Received: {result.events} {plural} from {result.agency}, version {result.version}."
    return _page(request, token, notice=notice)


def _as_entry(problem: str) -> str:
    # The form numbers its entries 1, 2, …: say "entry 1" where a file would say "row 2".
    return problem.replace("row ", "entry ", 1) if problem.startswith("row ") else problem


@app.get("/t/{token}", response_class=HTMLResponse)
def request_page(request: Request, token: str) -> HTMLResponse:
    """The agency's own request: what to send, by when, what it has sent."""
    try:
        return _page(request, token)
    except LinkRefused as exc:
        return forbidden(exc)


@app.get("/t/{token}/template.{kind}")
def template(token: str, kind: str) -> Response:
    """The timeline template, as CSV or Excel."""
    try:
        read_token(runtime(), token)
    except LinkRefused as exc:
        return forbidden(exc)
    if kind == "csv":
        return Response(
            template_csv(),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="timeline-template.csv"'},
        )
    if kind == "xlsx":
        return Response(
            template_xlsx(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="timeline-template.xlsx"'},
        )
    return Response("no such template", status_code=404)


@app.post("/t/{token}/upload", response_class=HTMLResponse)
async def upload(request: Request, token: str, file: Annotated[UploadFile, File()]) -> HTMLResponse:
    """Take a CSV or Excel file: all of it, or (with every problem named) none of it."""
    try:
        read_token(runtime(), token)
    except LinkRefused as exc:
        return forbidden(exc)
    data = await file.read(MAX_UPLOAD + 1)
    name = file.filename or "upload"
    # The database and Prefect calls block: run them off the event loop (the thread pool keeps
    # the context, and Prefect's sync API must not be called from inside a running loop).
    return await run_in_threadpool(_upload, request, token, name, data)


def _upload(request: Request, token: str, name: str, data: bytes) -> HTMLResponse:
    if len(data) > MAX_UPLOAD:
        return _page(request, token, errors=["file: larger than 5 MB"], status_code=400)
    try:
        events = parse_timeline_file(name, data)
    except TimelineRejected as exc:
        return _page(request, token, errors=[str(p) for p in exc.problems], status_code=400)
    return _submit(request, token, events, f"upload: {name}")


@app.post("/t/{token}/events", response_class=HTMLResponse)
async def events_form(request: Request, token: str) -> HTMLResponse:
    """Take events typed into the page's form (blank rows ignored)."""
    try:
        read_token(runtime(), token)
    except LinkRefused as exc:
        return forbidden(exc)
    form = await request.form()
    rows: list[dict[str, str]] = []
    try:
        count = min(int(str(form.get("rows", FORM_ROWS))), 200)
    except ValueError:
        count = FORM_ROWS
    for i in range(count):
        rows.append({c: str(form.get(f"{c}_{i}", "")).strip() for c in COLUMNS})
    return await run_in_threadpool(_typed, request, token, rows)


def _typed(request: Request, token: str, rows: list[dict[str, str]]) -> HTMLResponse:
    try:
        # Number problems by the form's own entries (1, 2, …); blank entries are skipped.
        events = parse_rows(rows, first_row=1)
    except TimelineRejected as exc:
        errors = [_as_entry(str(p)) for p in exc.problems]
        return _page(request, token, errors=errors, status_code=400, form_rows=rows)
    return _submit(request, token, events, "form", typed_rows=rows)


@app.get("/", response_class=HTMLResponse)
def root() -> HTMLResponse:
    """Someone who opens the portal without their link gets a plain page saying what to do."""
    return HTMLResponse(
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        "<title>Agency portal</title></head><body><main>"
        "<h1>Agency portal for safeguarding case reviews</h1>"
        "<p>Agencies reach their own timeline request through the link in the request email. "
        "Open that link to see the request, download the template and send your timeline.</p>"
        "<p>No link, or it has expired? Contact the board's business manager.</p>"
        "</main></body></html>"
    )


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "today": date.isoformat(runtime().today())}
