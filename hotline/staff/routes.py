"""The staff pages' front door: login, logout, the interface language, and each role's first page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hotline.context import ContextDep
from hotline.db import SessionDep
from hotline.models import Role, utcnow
from hotline.staff import auth
from hotline.staff.i18n import translator
from hotline.staff.web import Anyone, CsrfChecked, back, render, safe_next, session_data

router = APIRouter(prefix="/admin")


# ---- login ----------------------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/admin", expired: bool = False, lang: str = "") -> HTMLResponse:
    """The login form (in the language chosen with ?lang=, Russian by default)."""
    if lang in auth.UI_LANGUAGES:
        session_data(request)["lang"] = lang
    return render(request, "login.html", None, next=safe_next(next), expired=expired, error="")


@router.post("/login", dependencies=[CsrfChecked], response_model=None)
def login(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    """Check the password; a fresh session on success, the same vague answer for any failure."""
    now = utcnow()
    client = request.client.host if request.client else "unknown"
    try:
        user = auth.authenticate(session, ctx.settings.secret_key, username, password, client, now)
    except auth.LoginRefused as refused:
        session.commit()  # the failure and its audit row count even though the login did not succeed
        t = translator(session_data(request).get("lang", "ru"))
        error = t("login.throttled") if refused.throttled else t("login.invalid")
        return render(
            request,
            "login.html",
            None,
            status_code=429 if refused.throttled else 401,
            next=safe_next(next),
            expired=False,
            error=error,
        )
    session.commit()
    auth.start_session(session_data(request), user, now)
    home_page = {Role.ADMIN: "/admin/users", Role.HEALTH: "/admin/health"}.get(Role(user.role))
    return back(home_page if home_page and not next.startswith(home_page) else safe_next(next))


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> RedirectResponse:
    """End the session."""
    session_data(request).clear()
    return back("/admin/login")


@router.post("/language", dependencies=[CsrfChecked])
def set_language(
    request: Request,
    session: SessionDep,
    user: Anyone,
    language: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/admin",
) -> RedirectResponse:
    """The officer's interface language, kept on their account."""
    if language in auth.UI_LANGUAGES:
        user.ui_language = language
        session.add(user)
        session.commit()
        session_data(request)["lang"] = language
    return back(safe_next(next))


@router.get("", response_model=None)
def home(user: Anyone) -> RedirectResponse:
    """Each role's first page."""
    first = {Role.ADMIN: "/admin/users", Role.HEALTH: "/admin/health"}.get(Role(user.role), "/admin/queue")
    return back(first)
