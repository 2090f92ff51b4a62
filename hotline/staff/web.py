"""Plumbing shared by every admin page: sessions, roles, CSRF, rendering, error pages, and installing it all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as UrlPath
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from hotline.context import Context
from hotline.db import SessionDep, write_lock
from hotline.models import MAX_ID, Role, StaffUser, utcnow
from hotline.places import get_gazetteer
from hotline.staff import auth
from hotline.staff.access import Forbidden, is_supervisor
from hotline.staff.i18n import translator

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
MAX_FORM_BYTES = 32 * 1024  # a form bigger than this is refused before it is read
RowId = Annotated[int, UrlPath(ge=1, le=MAX_ID)]  # an id in a page's URL (a larger one names no row)


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login page."""

    def __init__(self, expired: bool) -> None:
        self.expired = expired


class PageForbidden(Exception):
    """A role that may not open this page."""


def session_data(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = request.session
    return data


class PasswordChangeRequired(Exception):
    """Someone else chose the account's password: every page but the password page sends its owner there."""


PASSWORD_PAGE = "/admin/password"
# What an account that must change its password may still reach (its language, logging out).
_BEFORE_PASSWORD_CHANGE = frozenset({PASSWORD_PAGE, "/admin/language", "/admin/sessions/end"})


def current_user(request: Request, session: SessionDep) -> StaffUser:
    """The logged-in staff member; LoginRequired otherwise (marking an expired session as such), and
    PasswordChangeRequired on any other page while an admin-set password is unchanged."""
    user = auth.session_user(session, session_data(request), utcnow())
    if user is None:
        had_cookie = "hotline_session" in request.cookies
        session_data(request).clear()
        raise LoginRequired(expired=had_cookie)
    if session.dirty:  # the server session's last_seen_at (the idle limit counts from it), once a minute at most
        with write_lock(session):
            session.commit()
        session.refresh(user)
    if user.must_change_password and request.url.path not in _BEFORE_PASSWORD_CHANGE:
        raise PasswordChangeRequired
    # Detached: commits in the handler must not expire it before the page (or an error page) is drawn.
    session.expunge(user)
    request.state.user = user
    return user


# Every staff page declares who may open it in one place: a role dependency in its signature (Staff, Supervisor,
# Admin, HealthStaff, Anyone or role(...)). Each such dependency is registered here with the roles it lets through,
# so access_rule() can read any route's rule and tests/admin/test_route_rules.py can refuse a route without one.
ACCESS_RULES: list[tuple[Callable[..., StaffUser], frozenset[Role]]] = [(current_user, frozenset(Role))]


def role(*roles: Role) -> Callable[..., StaffUser]:
    """Dependency: the user, if their role is one of these; 403 otherwise."""

    def check(user: Annotated[StaffUser, Depends(current_user)]) -> StaffUser:
        if user.role not in roles:
            raise PageForbidden
        return user

    ACCESS_RULES.append((check, frozenset(roles)))
    return check


def access_rule(route: object) -> frozenset[Role] | None:
    """The roles a route lets in (an APIRoute, or FastAPI's context of a route in an included router), read from its
    role dependencies (all must pass); None if it declares none."""
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant):
        return None
    found: list[frozenset[Role]] = []
    pending = list(dependant.dependencies)
    while pending:
        dependency = pending.pop()
        pending.extend(dependency.dependencies)
        found.extend(roles for call, roles in ACCESS_RULES if dependency.call is call)
    return frozenset.intersection(*found) if found else None


class FormRefused(HTTPException):
    """A form refused before it is read; the page says why in the interface language (`key`), APIs in English."""

    def __init__(self, status_code: int, key: str) -> None:
        super().__init__(status_code, translator("en")(key))
        self.key = key


async def check_form(request: Request) -> None:
    """Every form post: not oversized, and carrying the session's CSRF token."""
    # Uploads (the CSV import) declare their own limit at install; every other form is small.
    limit = request.app.state.upload_limits.get(request.url.path, MAX_FORM_BYTES)
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > limit:
        raise FormRefused(413, "error.too_large")
    form = await request.form()
    submitted = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not auth.csrf_valid(session_data(request), submitted if isinstance(submitted, str) else None):
        raise FormRefused(403, "error.csrf")


Staff = Annotated[StaffUser, Depends(role(Role.OFFICER, Role.SUPERVISOR))]
Supervisor = Annotated[StaffUser, Depends(role(Role.SUPERVISOR))]
Admin = Annotated[StaffUser, Depends(role(Role.ADMIN))]
HealthStaff = Annotated[StaffUser, Depends(role(Role.HEALTH))]
# Content staff (#21) edit texts and programme rules; an admin may be the second person who approves a figure.
ContentStaff = Annotated[StaffUser, Depends(role(Role.CONTENT, Role.ADMIN))]
Anyone = Annotated[StaffUser, Depends(current_user)]
CsrfChecked = Depends(check_form)


def flash(request: Request, kind: str, text: str) -> None:
    """A one-time message for the next page (never a phone number: the cookie is signed, not encrypted)."""
    session_data(request)["flash"] = [kind, text]


def render(request: Request, name: str, user: StaffUser | None, status_code: int = 200, **values: Any) -> HTMLResponse:
    """A page with what every page needs: translations, user, CSRF token, one-time message, notifications."""
    data = session_data(request)
    language = user.ui_language if user else data.get("lang", "ru")
    ctx: Context = request.app.state.ctx
    values.update(
        request=request,
        user=user,
        t=translator(language),
        ui_language=language,
        csrf=auth.csrf_token(data),
        flash=data.pop("flash", None),
        tz=ctx.tz,
        now=utcnow(),
        gazetteer=get_gazetteer(),
        is_supervisor=bool(user and is_supervisor(user)),
        poll_ms=ctx.settings.admin_poll_seconds * 1000,
        urlencode=urlencode,
        **request.app.state.page_values,
    )
    return templates.TemplateResponse(request, name, values, status_code=status_code)


def back(url: str) -> RedirectResponse:
    """Post/redirect/get."""
    return RedirectResponse(url, status_code=303)


def safe_next(target: str) -> str:
    # Only our own pages: never an open redirect to another site.
    return target if target.startswith("/admin") and not target.startswith("//") else "/admin"


def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    """An admin error as a page a person can read (the JSON default is for APIs)."""
    user = getattr(request.state, "user", None)
    return render(request, "error.html", user, status_code=status_code, code=status_code, detail=detail)


STAFF_PREFIX = "/admin"  # the pages that have a session; nothing else reads or writes its cookie


class StaffSessions:
    """Pure ASGI: starlette's signed-cookie sessions for the staff pages only. Webhooks, probes and the simulator
    skip them, so no cookie is read, verified or set there (an SMS costs no signature check of a cookie)."""

    def __init__(self, app: ASGIApp, **options: Any) -> None:
        self.app = app
        self.sessions = SessionMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Staff pages (and their error pages) through the sessions; everything else straight on."""
        if scope["type"] in ("http", "websocket") and scope["path"].startswith(STAFF_PREFIX):
            await self.sessions(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(
    app: Any,
    routers: list[APIRouter],
    *,
    page_values: dict[str, Any] | None = None,
    upload_limits: dict[str, int] | None = None,
) -> None:
    """Add the staff pages, their static files, signed-cookie sessions and error pages to the app. The domains hand
    in what every page's templates may use (`page_values`: categories, outcomes) and the paths that take a larger
    upload than a form, with its limit."""
    ctx: Context = app.state.ctx
    app.state.page_values = dict(page_values or {})
    app.state.upload_limits = dict(upload_limits or {})
    app.add_middleware(
        StaffSessions,
        secret_key=ctx.settings.secret_key,
        session_cookie="hotline_session",
        max_age=auth.SESSION_IDLE_SECONDS,
        same_site="lax",
        https_only=ctx.settings.cookie_secure_enabled,
        path=STAFF_PREFIX,
    )
    app.mount("/admin/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="admin-static")
    for router in routers:
        app.include_router(router)

    async def login_required(request: Request, exc: Exception) -> Response:
        expired = isinstance(exc, LoginRequired) and exc.expired
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = urlencode({"next": target, **({"expired": "1"} if expired else {})})
        return RedirectResponse(f"/admin/login?{query}", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        t = translator(getattr(getattr(request.state, "user", None), "ui_language", "ru"))
        return error_page(request, 403, t("error.forbidden"))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith("/admin") and "text/html" in request.headers.get("accept", ""):
            detail = str(exc.detail)
            if isinstance(exc, FormRefused):
                user = getattr(request.state, "user", None)
                detail = translator(user.ui_language if user else session_data(request).get("lang", "ru"))(exc.key)
            return error_page(request, exc.status_code, detail)
        return await http_exception_handler(request, exc)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if request.url.path.startswith("/admin") and "text/html" in request.headers.get("accept", ""):
            fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
            return error_page(request, 422, f"Invalid or missing: {fields}")
        return await request_validation_exception_handler(request, exc)

    async def password_change(request: Request, exc: Exception) -> Response:
        return RedirectResponse(PASSWORD_PAGE, status_code=303)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(PasswordChangeRequired, password_change)
    app.add_exception_handler(PageForbidden, forbidden)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
