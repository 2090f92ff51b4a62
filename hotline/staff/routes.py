"""The staff pages' front door: login, logout (here or everywhere), one's own password, the interface language,
and each role's first page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from hotline.context import ContextDep
from hotline.db import SessionDep
from hotline.models import Role, StaffUser, utcnow
from hotline.staff import accounts, auth
from hotline.staff.i18n import translator
from hotline.staff.web import PASSWORD_PAGE, Anyone, CsrfChecked, back, flash, render, safe_next, session_data

router = APIRouter(prefix="/admin")


# ---- login ----------------------------------------------------------------------------------------------------

# Each role's first page after login (complaint staff: the queue).
HOME_PAGES = {Role.ADMIN: "/admin/users", Role.HEALTH: "/admin/health", Role.CONTENT: "/admin/edit"}


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
    auth.start_session(session, session_data(request), user, now)
    session.commit()
    if user.must_change_password:
        return back(PASSWORD_PAGE)
    home_page = HOME_PAGES.get(Role(user.role))
    return back(home_page if home_page and not next.startswith(home_page) else safe_next(next))


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    """End the session on the server too: a copy of the cookie stops working."""
    auth.end_session(session, session_data(request), utcnow())
    session.commit()
    return back("/admin/login")


# ---- one's own account ----------------------------------------------------------------------------------------


def _account_page(request: Request, session: Session, user: StaffUser, status_code: int = 200) -> HTMLResponse:
    sessions = auth.open_sessions(session, [user.id or 0], utcnow()).get(user.id or 0, 0)
    return render(request, "password.html", user, status_code=status_code, sessions=sessions)


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request, session: SessionDep, user: Anyone) -> HTMLResponse:
    """Choose a new password (the only page open while an admin-set one is unchanged); log out everywhere."""
    return _account_page(request, session, user)


@router.post("/password", dependencies=[CsrfChecked], response_model=None)
def change_password(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: Anyone,
    current_password: Annotated[str, Form(max_length=1000)],
    new_password: Annotated[str, Form(max_length=1000)],
    confirm_password: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Change one's own password; every other session of the account ends, this browser gets a new one."""
    now = utcnow()
    client = request.client.host if request.client else "unknown"
    try:
        accounts.change_own_password(
            session,
            ctx.settings.secret_key,
            user,
            client,
            now,
            current=current_password,
            new=new_password,
            confirm=confirm_password,
        )
    except auth.AccountError as exc:
        session.commit()  # a wrong current password counts, like a failed login
        flash(request, "error", exc.text(user.ui_language))
        return _account_page(request, session, user, status_code=400)
    auth.start_session(session, session_data(request), user, now)
    session.commit()
    flash(request, "ok", translator(user.ui_language)("account.changed"))
    return back("/admin")


@router.post("/sessions/end", dependencies=[CsrfChecked])
def log_out_everywhere(request: Request, session: SessionDep, user: Anyone) -> RedirectResponse:
    """End every session of one's own account, on every computer and phone."""
    accounts.end_sessions_of(session, user, user, utcnow())
    session.commit()
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
    first = HOME_PAGES.get(Role(user.role), "/admin/queue")
    return back(first)
