"""Supervisors' and admins' pages: audit log, dashboard, staff accounts, reference data and texts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import Field
from sqlmodel import select

from hotline.complaints.categories import get_rules
from hotline.complaints.reports import dashboard
from hotline.content import LANGUAGES
from hotline.context import ContextDep
from hotline.db import SessionDep
from hotline.models import Jurisdiction, Role, StaffUser, parse_int, utcnow
from hotline.reminders.reports import reminders_report
from hotline.staff import audit as audit_log
from hotline.staff import auth
from hotline.staff.i18n import translator
from hotline.staff.web import Admin, CsrfChecked, RowId, Supervisor, back, flash, render, role
from hotline.voice.reports import voice_figures

router = APIRouter(prefix="/admin")
# A day a filter may name: the period's bounds are computed from it, and near year 1 or 9999 they would overflow.
FilterDay = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))]


# ---- audit log and dashboard ----------------------------------------------------------------------------------


def audit_filter(
    user: Annotated[str, Query(max_length=12)] = "",
    action: Annotated[str, Query(max_length=32)] = "",
    reference: Annotated[str, Query(max_length=16)] = "",
    day_from: Annotated[FilterDay | None, Query(alias="from")] = None,
    day_to: Annotated[FilterDay | None, Query(alias="to")] = None,
) -> audit_log.AuditFilter:
    """The audit page's filters."""
    return audit_log.AuditFilter(parse_int(user), action, reference, day_from, day_to)


AuditFilterDep = Annotated[audit_log.AuditFilter, Depends(audit_filter)]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: Supervisor,
    f: AuditFilterDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Who viewed, changed, answered, revealed (supervisors)."""
    rows, total = audit_log.list_audit(session, f, ctx.tz, page=page, per_page=100)
    users = session.exec(select(StaffUser).order_by(StaffUser.username)).all()
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    return render(
        request,
        "audit.html",
        user,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // 100)),
        f=f,
        users=users,
        actions=audit_log.actions(session),
        params=params,
    )


@router.get("/audit.csv")
def audit_csv(session: SessionDep, ctx: ContextDep, user: Supervisor, f: AuditFilterDep) -> StreamingResponse:
    """The filtered audit log as CSV."""
    rows = audit_log.start_export(session, user, f, ctx.tz, utcnow())
    session.commit()
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


DashboardUser = Annotated[StaffUser, Depends(role(Role.OFFICER, Role.SUPERVISOR, Role.HEALTH))]


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: DashboardUser,
    day_from: Annotated[FilterDay | None, Query(alias="from")] = None,
    day_to: Annotated[FilterDay | None, Query(alias="to")] = None,
) -> HTMLResponse:
    """Charts over a period (default: the last 30 days)."""
    now = utcnow()
    today = ctx.local_day(now)
    day_to = day_to or today
    day_from = day_from or day_to - timedelta(days=29)
    if day_from > day_to:
        day_from, day_to = day_to, day_from
    # Complaint figures for complaint staff; reminder figures (no complaint data) for supervisors and health staff.
    figures = dashboard(session, user, day_from, day_to, ctx.tz, now) if user.role != Role.HEALTH else None
    reminders = reminders_report(session, user, day_from, day_to, ctx.tz) if user.role != Role.OFFICER else None
    # The voice line's figures are counts of calls, with no place or person: every dashboard user sees them.
    voice = voice_figures(session, day_from, day_to, ctx.tz)
    return render(request, "dashboard.html", user, d=figures, r=reminders, vf=voice, day_from=day_from, day_to=day_to)


# ---- admin: users, reference data, content --------------------------------------------------------------------


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, user: Admin) -> HTMLResponse:
    """Staff accounts."""
    users = session.exec(select(StaffUser).order_by(StaffUser.username)).all()
    return render(request, "users.html", user, users=users, roles=list(Role), levels=list(Jurisdiction))


@router.post("/users", dependencies=[CsrfChecked])
def create_user(
    request: Request,
    session: SessionDep,
    user: Admin,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=auth.MAX_PASSWORD_LENGTH)],
    role_: Annotated[Role, Form(alias="role")],
    level: Annotated[Jurisdiction, Form()],
    area_code: Annotated[str, Form(max_length=32)],
    display_name: Annotated[str, Form(max_length=120)] = "",
    ui_language: Annotated[str, Form(max_length=2)] = "ru",
) -> RedirectResponse:
    """Create a staff account."""
    try:
        auth.add_account(
            session,
            user,
            utcnow(),
            username=username,
            password=password,
            role=role_,
            level=level,
            area_code=area_code.strip(),
            display_name=display_name,
            ui_language=ui_language,
        )
    except auth.AccountError as exc:
        session.rollback()
        flash(request, "error", exc.text(user.ui_language))
        return back("/admin/users")
    session.commit()
    flash(request, "ok", translator(user.ui_language)("done.saved"))
    return back("/admin/users")


@router.post("/users/{user_id}", dependencies=[CsrfChecked])
def update_user(
    request: Request,
    session: SessionDep,
    user: Admin,
    user_id: RowId,
    active: Annotated[str, Form(max_length=4)] = "",
    password: Annotated[str, Form(max_length=auth.MAX_PASSWORD_LENGTH)] = "",
) -> RedirectResponse:
    """Deactivate or reactivate an account, or set a new password (both end its sessions)."""
    target = session.get(StaffUser, user_id)
    if target is None:
        raise HTTPException(404, "No such user")
    try:
        auth.change_account(session, user, target, utcnow(), active=active == "1", password=password)
    except auth.AccountError as exc:
        session.rollback()
        flash(request, "error", exc.text(user.ui_language))
        return back("/admin/users")
    session.commit()
    flash(request, "ok", translator(user.ui_language)("done.saved"))
    return back("/admin/users")


@router.get("/reference", response_class=HTMLResponse)
def reference_page(request: Request, user: Admin) -> HTMLResponse:
    """Places and categories as loaded (edited in their TOML files, reviewed like code)."""
    return render(request, "reference.html", user, rules=get_rules())


@router.get("/content", response_class=HTMLResponse)
def content_page(request: Request, ctx: ContextDep, user: Admin) -> HTMLResponse:
    """Every family-facing template in every language, with what it costs and whether it needs review."""
    rows: dict[str, dict[str, tuple[str, bool]]] = {}
    for language in LANGUAGES:
        for name in ctx.texts.names(language):
            source = (ctx.texts.root / language / f"{name}.txt.j2").read_text(encoding="utf-8")
            rows.setdefault(name, {})[language] = (source, "needs_review" in source)
    return render(request, "content.html", user, rows=rows, languages=LANGUAGES)
