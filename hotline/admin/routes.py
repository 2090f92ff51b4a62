"""Complaint officers' pages: login, the triage queue and notifications (thin handlers); the complaint page is
complaint_routes.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlmodel import col, select

from hotline.admin import casework
from hotline.admin.queue import QueueFilter, newer_than, queue_page, start_export
from hotline.context import ContextDep
from hotline.db import SessionDep
from hotline.models import MAX_ID, ComplaintStatus, Role, StaffUser, utcnow
from hotline.staff import auth
from hotline.staff.access import CASEWORK_ROLES
from hotline.staff.i18n import translator
from hotline.staff.web import Anyone, CsrfChecked, Staff, back, render, safe_next, session_data

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


# ---- queue ----------------------------------------------------------------------------------------------------


def queue_filter(
    status: Annotated[str, Query(max_length=16)] = "",
    category: Annotated[str, Query(max_length=32)] = "",
    municipality: Annotated[str, Query(max_length=32)] = "",
    assignee: Annotated[str, Query(max_length=16)] = "",
    overdue: Annotated[str, Query(max_length=4)] = "",
    anonymous: Annotated[str, Query(max_length=4)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> QueueFilter:
    """The queue filter from the query string (too long or malformed: 422 before any query runs)."""
    return QueueFilter(status, category, municipality, assignee, overdue in ("1", "on", "true"), anonymous, q, page)


Filter = Annotated[QueueFilter, Depends(queue_filter)]


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, session: SessionDep, user: Staff, f: Filter) -> HTMLResponse:
    """The triage queue."""
    now = utcnow()
    result = queue_page(session, user, f, now)
    latest = max((c.id or 0 for c in result.rows), default=0)
    staff = session.exec(select(StaffUser).where(col(StaffUser.role).in_(list(CASEWORK_ROLES)))).all()
    return render(
        request,
        "queue.html",
        user,
        result=result,
        f=f,
        latest=latest,
        statuses=list(ComplaintStatus),
        staff={u.id: u.display_name for u in staff},
        notifications=casework.notifications_for(session, user),
    )


@router.get("/queue/new")
def queue_new(
    request: Request, session: SessionDep, user: Staff, f: Filter, after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0
) -> JSONResponse:
    """Rows filed since the page was drawn (the queue page polls this)."""
    rows = newer_than(session, user, f, after, utcnow())
    page = render(request, "_rows.html", user, rows=rows, staff={})
    return JSONResponse(
        {"count": len(rows), "latest": max((c.id or 0 for c in rows), default=after), "html": bytes(page.body).decode()}
    )


@router.get("/queue.csv")
def queue_csv(request: Request, session: SessionDep, ctx: ContextDep, user: Staff, f: Filter) -> StreamingResponse:
    """The filtered queue as CSV (no phone numbers); the export is audited."""
    now = utcnow()
    rows = start_export(session, user, f, now, ctx.tz)
    session.commit()
    name = f"complaints-{ctx.local_day(now).isoformat()}.csv"
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/notifications/read", dependencies=[CsrfChecked])
def notifications_read(session: SessionDep, user: Staff) -> RedirectResponse:
    """Dismiss notifications."""
    casework.mark_read(session, user, utcnow())
    session.commit()
    return back("/admin/queue")
