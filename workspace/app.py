"""The board's workspace: every review in one register, each review's page, behind a sign-in.

- Sessions are a signed cookie (HttpOnly, SameSite=Lax, Secure over https) holding the user's
  name, a CSRF token and when it was issued; they end after ``workspace_session_hours`` (read
  against the runtime's clock) or when the user is disabled.
- Every form carries the session's CSRF token; ONE dependency on the app checks it on every
  unsafe request, so no route checks it by hand.
- Optional trusted-proxy mode (``REVIEWS_WORKSPACE_TRUSTED_USER_HEADER``): the board's
  authenticating proxy names the user in that header; the user must exist and be enabled.
- Pages carry the reference and pseudonym only. The identity is shown only in the answer to
  an explicit "Reveal" (a POST) by a permitted role, and the look is audited.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session as DbSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.names import DocumentKind
from core.secrets import check_workspace_secret
from core.web import SecurityHeaders
from models import action_plan_store as plans
from models import store
from models import workspace_store as ws
from models.action_plan_store import ActionItemView, RecommendationView
from models.documents import DocumentRefused
from models.orm import Regime, Review, WorkspaceRole
from notifications.exports import to_html
from notifications.render import environment
from services.accounts import SignIn, active_user, sign_in, sign_out
from services.action_plans import ActionRefused, resend_signoff_links, signoff_state
from services.documents import (
    DocumentUnreadable,
    clear_anonymisation_hit,
    get_document,
    list_documents,
)
from services.runtime import Runtime, runtime

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(env=environment(HERE / "templates"))
COOKIE = "reviews_workspace"
SESSION_SALT = "workspace-session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

log = logging.getLogger("workspace")


@dataclass(frozen=True)
class WorkspaceSession:
    """What the session cookie holds."""

    username: str | None
    csrf: str
    issued: datetime
    fresh: bool = False  # not from the request's cookie: the response must set it
    generation: int = 0  # the user's session generation when it was issued


@dataclass(frozen=True)
class User:
    username: str
    role: WorkspaceRole

    @property
    def can_reveal(self) -> bool:
        return self.role in ws.REVEAL_ROLES


@dataclass(frozen=True)
class PlanSection:
    """The action plan as the review's page shows it."""

    recommendations: list[RecommendationView]
    items: list[ActionItemView]
    signoffs: Mapping[str, str]
    progress_reports: int


class NotSignedIn(Exception):
    """The request needs a signed-in user."""


def _serializer(rt: Runtime) -> URLSafeSerializer:
    # Never the published default: anyone could forge a sign-in (refused, naming the setting).
    secret = rt.settings.workspace_secret.get_secret_value()
    check_workspace_secret(secret)
    return URLSafeSerializer(secret, salt=SESSION_SALT)


def _new_session(rt: Runtime, username: str | None = None, generation: int = 0) -> WorkspaceSession:
    return WorkspaceSession(
        username, secrets.token_urlsafe(32), rt.now(), fresh=True, generation=generation
    )


def read_session(request: Request) -> WorkspaceSession:
    """The request's session, or a fresh anonymous one (with its own CSRF token) when the
    cookie is missing, tampered with or expired."""
    rt = runtime()
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data: Any = _serializer(rt).loads(raw)
            issued = datetime.fromisoformat(str(data["t"]))
            session = WorkspaceSession(
                data["u"], str(data["c"]), issued, generation=int(data.get("g", -1))
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            log.info("workspace session cookie refused")
        else:
            age = rt.now() - issued
            if age.total_seconds() < rt.settings.workspace_session_hours * 3600:
                return session
    return _new_session(rt)


def _set_cookie(request: Request, response: Response, session: WorkspaceSession) -> None:
    rt = runtime()
    value = _serializer(rt).dumps(
        {
            "u": session.username,
            "c": session.csrf,
            "t": session.issued.isoformat(),
            "g": session.generation,
        }
    )
    response.set_cookie(
        COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=rt.settings.workspace_session_hours * 3600,
        path="/",
    )


def _same_origin(request: Request) -> bool:
    """Whether an unsafe request comes from the workspace's own pages: its Origin (or, when a
    browser sends none, its Referer) is this site; a request naming neither is left to the
    CSRF token alone (not a browser's cross-site form)."""
    own = {
        f"{request.url.scheme}://{request.url.netloc}",
        runtime().settings.workspace_url.rstrip("/"),
    }
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.rstrip("/") in own
    referer = request.headers.get("referer")
    if referer:
        return any(referer == o or referer.startswith(o + "/") for o in own)
    return True


async def csrf_protect(
    request: Request, session: Annotated[WorkspaceSession, Depends(read_session)]
) -> None:
    """The one CSRF check: every unsafe request must carry the session's token in its form
    field ``csrf_token`` (a fresh session has no form yet, so it cannot pass)."""
    if request.method not in UNSAFE_METHODS:
        return
    if not _same_origin(request):
        log.warning(
            "workspace: %s %s refused: from another origin (%s)",
            request.method,
            request.url.path,
            request.headers.get("origin") or request.headers.get("referer"),
        )
        raise StarletteHTTPException(403, "The form has expired. Go back, reload and try again.")
    form = await request.form()
    sent = str(form.get("csrf_token", ""))
    if session.fresh or not sent or not hmac.compare_digest(sent, session.csrf):
        log.warning(
            "workspace: %s %s refused: CSRF token missing or wrong",
            request.method,
            request.url.path,
        )
        raise StarletteHTTPException(403, "The form has expired. Go back, reload and try again.")


def current_user(
    request: Request, session: Annotated[WorkspaceSession, Depends(read_session)]
) -> User:
    """The signed-in user (or, in trusted-proxy mode, the one the proxy names)."""
    rt = runtime()
    header = rt.settings.workspace_trusted_user_header
    username = request.headers.get(header, "").strip() if header else session.username
    if not username:
        raise NotSignedIn
    user = active_user(rt, username)
    if user is None:
        if header:
            raise StarletteHTTPException(403, "Your account is not set up in the workspace.")
        raise NotSignedIn
    if not header and user.session_generation != session.generation:
        # Signed out, disabled, re-passworded or re-roled since this cookie was issued.
        log.info("workspace: an ended session of %s was refused", username)
        raise NotSignedIn
    return User(user.username, user.role)


app = FastAPI(
    title="case-reviews board workspace",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    dependencies=[Depends(csrf_protect)],
)
app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
app.add_middleware(SecurityHeaders, referrer_policy="same-origin")

Session = Annotated[WorkspaceSession, Depends(read_session)]
SignedIn = Annotated[User, Depends(current_user)]


def page(
    request: Request,
    template: str,
    session: WorkspaceSession,
    *,
    user: User | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page with the layout's context; set the session cookie when it is new."""
    rt = runtime()
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "csrf_token": session.csrf,
            "proxy_mode": bool(rt.settings.workspace_trusted_user_header),
            "board_ui": rt.settings.ui_url,
            **context,
        },
        status_code=status_code,
    )
    # Pages hold case data (and, after a reveal, the identity): never kept in a cache.
    response.headers["Cache-Control"] = "no-store"
    if session.fresh:
        _set_cookie(request, response, session)
    return response


@app.exception_handler(NotSignedIn)
async def _to_sign_in(request: Request, _exc: NotSignedIn) -> Response:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


@app.exception_handler(StarletteHTTPException)
async def _error_page(request: Request, exc: StarletteHTTPException) -> Response:
    session = read_session(request)
    messages = {404: "Page not found", 403: "You cannot do that", 405: "Page not found"}
    return page(
        request,
        "error.html",
        session,
        status_code=exc.status_code,
        title=messages.get(exc.status_code, "Something went wrong"),
        message=str(exc.detail) if exc.status_code != 405 else "",
    )


# --- signing in ---------------------------------------------------------------------------------


def _safe_next(target: str) -> str:
    # Only paths on this site: never an absolute URL an attacker chose.
    return target if target.startswith("/") and not target.startswith("//") else "/reviews"


@app.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: Session, next: str = "/reviews") -> HTMLResponse:
    return page(request, "login.html", session, next=_safe_next(next), error=None, username="")


@app.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: Session,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/reviews",
) -> Response:
    rt = runtime()
    problems = [f for f, v in (("username", username), ("password", password)) if not v]
    if problems:
        error = " and ".join(f"Enter your {f}" for f in problems)
        return page(
            request,
            "login.html",
            session,
            status_code=400,
            next=_safe_next(next),
            error=error,
            username=username,
        )
    result = sign_in(rt, username, password)
    if result.outcome is SignIn.LOCKED:
        error = (
            "This account is locked after too many wrong passwords. Try again in "
            f"{rt.settings.workspace_lockout_minutes} minutes, or ask the business manager."
        )
        return page(
            request,
            "login.html",
            session,
            status_code=423,
            next=_safe_next(next),
            error=error,
            username=username,
        )
    if result.outcome is SignIn.REFUSED:
        return page(
            request,
            "login.html",
            session,
            status_code=401,
            next=_safe_next(next),
            error="The username or password is not right",
            username=username,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    # A new session (and CSRF token) on sign-in, so a token seen before it is worthless.
    _set_cookie(request, response, _new_session(rt, result.username, result.generation))
    return response


@app.post("/logout")
def logout(request: Request, session: Session) -> Response:
    """Sign out: this session, and every copy of its cookie, stops working."""
    if session.username and not session.fresh:
        sign_out(runtime(), session.username, session.generation)
    response = RedirectResponse("/login", status_code=303)
    _set_cookie(request, response, _new_session(runtime()))
    return response


# --- the register and a review ------------------------------------------------------------------


@app.get("/")
def root() -> Response:
    return RedirectResponse("/reviews", status_code=303)


@app.get("/reviews", response_class=HTMLResponse)
def register_page(
    request: Request,
    session: Session,
    user: SignedIn,
    regime: str = "",
    stage: str = "",
    rag: str = "",
) -> HTMLResponse:
    """Every review, open and closed, filterable by regime, stage and RAG."""
    rt = runtime()
    today = rt.today()
    amber_by = rt.deadlines.calendar.add_working_days(
        today, rt.reminder_policy.amber_within_working_days
    )
    with rt.sessions() as db:
        rows = ws.register(
            db,
            today=today,
            amber_by=amber_by,
            regime=regime or None,
            stage=stage or None,
            rag=rag or None,
        )
        stages = ws.stages_in_use(db)
    return page(
        request,
        "register.html",
        session,
        user=user,
        rows=rows,
        today=today,
        regimes=[r.value for r in Regime],
        stages=stages,
        rags=ws.RAGS,
        chosen={"regime": regime, "stage": stage, "rag": rag},
        run_url=rt.settings.run_url,
    )


def _review_or_404(db: DbSession, reference: str) -> Review:
    try:
        return store.get_review(db, reference)
    except store.NotFound:
        raise StarletteHTTPException(404, f"There is no review {reference}.") from None


def _review_page(
    request: Request,
    session: WorkspaceSession,
    user: User,
    reference: str,
    *,
    identity: Any = None,
    clearance: str | None = None,
) -> HTMLResponse:
    rt = runtime()
    with rt.sessions() as db:
        review = _review_or_404(db, reference)
        sections: dict[str, Any] = {
            "review": ws.review_page(db, review, today=rt.today()),
            "combined": store.combined_timeline(db, review),
            "plan": PlanSection(
                recommendations=plans.recommendation_views(db, review.id),
                items=plans.item_views(db, review.id),
                signoffs=signoff_state(db, review),
                progress_reports=len(plans.progress_reports(db, [review.id])),
            ),
        }
    sections["documents"] = list_documents(rt, reference)
    return page(
        request,
        "review.html",
        session,
        user=user,
        identity=identity,
        clearance=clearance,
        kinds=[k.value for k in DocumentKind],
        today=rt.today(),
        run_url=rt.settings.run_url,
        **sections,
    )


@app.get("/reviews/{reference}", response_class=HTMLResponse)
def review_page(request: Request, session: Session, user: SignedIn, reference: str) -> HTMLResponse:
    """A review: stages, deadlines, agencies' obligations and reminders, timeline, documents,
    the action plan, audit."""
    return _review_page(request, session, user, reference)


@app.post("/reviews/{reference}/reveal", response_class=HTMLResponse)
def reveal(request: Request, session: Session, user: SignedIn, reference: str) -> HTMLResponse:
    """The subject's identity, for a permitted role only; each look is audited."""
    if not user.can_reveal:
        log.warning("workspace: %s (%s) may not reveal %s", user.username, user.role, reference)
        raise StarletteHTTPException(
            403, "Only the business manager and the chair can see the subject's identity."
        )
    rt = runtime()
    with rt.sessions.begin() as db:
        try:
            identity = store.reveal_identity(db, reference, actor=user.username, now=rt.now())
        except store.NotFound:
            raise StarletteHTTPException(404, f"There is no review {reference}.") from None
    return _review_page(request, session, user, reference, identity=identity)


@app.post("/reviews/{reference}/documents/clear", response_class=HTMLResponse)
def clear_hit(
    request: Request,
    session: Session,
    user: SignedIn,
    reference: str,
    kind: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Clear the anonymisation check's hits at one place of one document version as not
    identifying, with a reason (the same service as 'reviews documents clear'; audited)."""
    if user.role is not WorkspaceRole.BUSINESS_MANAGER:
        raise StarletteHTTPException(403, "Only the business manager can clear a hit.")
    try:
        document_kind = DocumentKind(kind)
        number = int(version)
    except ValueError:
        known = kind in {k.value for k in DocumentKind}
        message = "version: give a number" if known else "kind: choose a kind of document"
        return _review_page(request, session, user, reference, clearance=message)
    try:
        cleared = clear_anonymisation_hit(
            runtime(), reference, document_kind, number, place, reason, actor=user.username
        )
    except (DocumentRefused, DocumentUnreadable, store.NotFound) as refused:
        return _review_page(request, session, user, reference, clearance=str(refused))
    message = "; ".join(f"cleared {h.place}: {h.found}" for h in cleared) or "already cleared"
    return _review_page(request, session, user, reference, clearance=message)


@app.post("/reviews/{reference}/plan/resend-links", response_class=HTMLResponse)
def resend_links(request: Request, session: Session, user: SignedIn, reference: str) -> Response:
    """Resend the owner agencies' sign-off links (the business manager only), audited."""
    if user.role is not WorkspaceRole.BUSINESS_MANAGER:
        raise StarletteHTTPException(403, "Only the business manager can resend links.")
    rt = runtime()
    try:
        resend_signoff_links(rt, reference, user.username)
    except store.NotFound:
        raise StarletteHTTPException(404, f"There is no review {reference}.") from None
    except ActionRefused as exc:
        raise StarletteHTTPException(409, str(exc)) from None
    return RedirectResponse(f"/reviews/{reference}", status_code=303)


@app.get("/reviews/{reference}/timeline", response_class=HTMLResponse)
def timeline_page(request: Request, user: SignedIn, reference: str) -> HTMLResponse:
    """The combined significant events timeline (the learning event's page)."""
    rt = runtime()
    with rt.sessions() as db:
        review = _review_or_404(db, reference)
        combined = store.combined_timeline(db, review)
    return HTMLResponse(to_html(combined), headers={"Cache-Control": "no-store"})


@app.get("/reviews/{reference}/documents/{kind}/{version}")
def document_download(user: SignedIn, reference: str, kind: str, version: int) -> Response:
    """One stored version of a document. The unredacted reports and the agencies' comments on
    them are for the roles that may see identity, and each such read is audited."""
    try:
        document_kind = DocumentKind(kind)
    except ValueError:
        raise StarletteHTTPException(404, f"There is no kind of document called {kind}.") from None
    if document_kind.may_hold_identity and not user.can_reveal:
        log.warning(
            "workspace: %s (%s) may not read %s %s", user.username, user.role, reference, kind
        )
        raise StarletteHTTPException(
            403, "Only the business manager and the chair can open the unredacted reports."
        )
    try:
        view, data = get_document(runtime(), reference, document_kind, version, actor=user.username)
    except store.NotFound:
        raise StarletteHTTPException(404, "This review has no such document.") from None
    return Response(
        data,
        media_type=view.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{quote(view.filename)}"',
            "Cache-Control": "no-store",
        },
    )


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
