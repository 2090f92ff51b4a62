"""Supervisors' and admins' pages: audit log, dashboard, staff accounts, reference data and texts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi import Path as UrlPath
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import Field
from sqlmodel import Session, select

from hotline.complaints.categories import get_rules
from hotline.complaints.reports import dashboard
from hotline.content import LANGUAGES
from hotline.context import ContextDep
from hotline.db import SessionDep
from hotline.models import AccountRequest, Jurisdiction, Role, StaffUser, parse_int, utcnow
from hotline.reminders.reports import reminders_report
from hotline.staff import accounts, auth
from hotline.staff import audit as audit_log
from hotline.staff.access import Forbidden
from hotline.staff.csv_export import delimiter_of
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
    """Who viewed, changed, answered, revealed in the supervisor's area, and the area's latest reveals."""
    rows, total = audit_log.list_audit(session, user, f, ctx.tz, page=page, per_page=100)
    rows = audit_log.tell(session, rows, user.ui_language)
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
        users=audit_log.area_staff(session, user),
        actions=audit_log.action_names(audit_log.actions(session, user), user.ui_language),
        reveals=audit_log.latest_reveals(session, user, ctx.tz),
        reveal_action=audit_log.REVEAL_ACTIONS[0],
        params=params,
    )


@router.get("/audit.csv")
def audit_csv(
    session: SessionDep,
    ctx: ContextDep,
    user: Supervisor,
    f: AuditFilterDep,
    sep: Annotated[str, Query(max_length=10)] = "",
) -> StreamingResponse:
    """The filtered audit log of the supervisor's area as CSV (`sep=semicolon` for a Russian Excel)."""
    rows = audit_log.start_export(session, user, f, ctx.tz, utcnow(), delimiter=delimiter_of(sep))
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
    """Charts over a period (default: the last 30 days), each counting only what the user's area and level see."""
    now = utcnow()
    today = ctx.local_day(now)
    day_to = day_to or today
    day_from = day_from or day_to - timedelta(days=29)
    if day_from > day_to:
        day_from, day_to = day_to, day_from
    # Complaint figures for complaint staff; reminder figures (no complaint data) for supervisors and health staff.
    figures = dashboard(session, user, day_from, day_to, ctx.tz, now) if user.role != Role.HEALTH else None
    reminders = reminders_report(session, user, day_from, day_to, ctx.tz) if user.role != Role.OFFICER else None
    # The voice line's figures have no place, so they are the whole oblast's: shown above the municipality only. A
    # municipal officer (perhaps the accused) would otherwise see a recorded complaint that never reached their queue.
    voice = voice_figures(session, day_from, day_to, ctx.tz) if user.level != Jurisdiction.MUNICIPALITY else None
    return render(request, "dashboard.html", user, d=figures, r=reminders, vf=voice, day_from=day_from, day_to=day_to)


# ---- admin: users, reference data, content --------------------------------------------------------------------


AccountsUser = Annotated[StaffUser, Depends(role(Role.ADMIN, Role.SUPERVISOR))]


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, ctx: ContextDep, user: AccountsUser) -> HTMLResponse:
    """Staff accounts (an admin: all, to manage; a supervisor: its area's, to end sessions and unlock logins) and
    the requests waiting for a second person."""
    now = utcnow()
    users = accounts.visible_accounts(session, user)
    requests = accounts.pending_requests(session, user)
    names = {u.id: u.username for u in session.exec(select(StaffUser))}
    return render(
        request,
        "users.html",
        user,
        users=users,
        requests=requests,
        names=names,
        decidable={r.id for r in requests if accounts.may_decide(user, r) and accounts.second_person(user, r)},
        new_password={r.id for r in requests if accounts.sets_password(r)},
        password_waiting={r.target_id for r in requests if accounts.sets_password(r)},
        manageable={u.id for u in users if accounts.may_manage_logins(user, u)},
        locked=auth.locked_usernames(session, ctx.settings.secret_key, [u.username for u in users], now),
        sessions=auth.open_sessions(session, [u.id or 0 for u in users], now),
        notes=accounts.account_notes(session, user),
        roles=list(Role),
        levels=list(Jurisdiction),
    )


def _settle_account(
    request: Request, session: Session, user: StaffUser, work: Callable[[], object]
) -> RedirectResponse:
    # Success commits and says whether the change is done or waits for a second person (`work` returned the
    # request); a change refused as asked keeps nothing and says why; a refusal for lack of rights keeps its audit
    # row, then the 403 page.
    try:
        waiting = isinstance(work(), AccountRequest)
    except Forbidden:
        session.commit()
        raise
    except auth.AccountError as exc:
        session.rollback()
        flash(request, "error", exc.text(user.ui_language))
        return back("/admin/users")
    except accounts.NoSuchRequest as exc:
        session.rollback()
        raise HTTPException(404, "No such request") from exc
    session.commit()
    flash(request, "ok", translator(user.ui_language)("users.requested" if waiting else "done.saved"))
    return back("/admin/users")


def _account(session: Session, user_id: int) -> StaffUser:
    target = session.get(StaffUser, user_id)
    if target is None:
        raise HTTPException(404, "No such user")
    return target


@router.post("/users", dependencies=[CsrfChecked])
def create_user(
    request: Request,
    session: SessionDep,
    user: Admin,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=auth.MAX_PASSWORD_LENGTH)],
    role_: Annotated[Role, Form(alias="role")],
    area_code: Annotated[str, Form(max_length=64)] = "",
    level: Annotated[Jurisdiction | None, Form()] = None,
    display_name: Annotated[str, Form(max_length=120)] = "",
    ui_language: Annotated[str, Form(max_length=2)] = "ru",
) -> RedirectResponse:
    """Create a staff account (a supervisor or admin: request it, for a second person to approve). The area is
    required (its level follows from it; a level sent too must match)."""

    def work() -> AccountRequest | None:
        area_level, area = accounts.resolve_area(area_code, level)
        return accounts.add_account(
            session,
            user,
            utcnow(),
            username=username,
            password=password,
            role=role_,
            level=area_level,
            area_code=area,
            display_name=display_name,
            ui_language=ui_language,
        )

    return _settle_account(request, session, user, work)


@router.post("/users/{user_id}", dependencies=[CsrfChecked])
def update_user(
    request: Request,
    session: SessionDep,
    user: Admin,
    user_id: RowId,
    active: Annotated[str, Form(max_length=4)] = "",
    password: Annotated[str, Form(max_length=auth.MAX_PASSWORD_LENGTH)] = "",
) -> RedirectResponse:
    """Deactivate or reactivate an account, or set a new password that its owner must change (both end its
    sessions); for a supervisor or admin, a reactivation or a new password is only requested."""
    target = _account(session, user_id)
    return _settle_account(
        request,
        session,
        user,
        lambda: accounts.change_account(session, user, target, utcnow(), active=active == "1", password=password),
    )


@router.post("/users/{user_id}/role", dependencies=[CsrfChecked])
def change_role(
    request: Request,
    session: SessionDep,
    user: Admin,
    user_id: RowId,
    role_: Annotated[Role, Form(alias="role")],
    area_code: Annotated[str, Form(max_length=64)] = "",
    level: Annotated[Jurisdiction | None, Form()] = None,
) -> RedirectResponse:
    """Change an account's role or area (one that gives the power to reveal or approve: request it)."""
    target = _account(session, user_id)

    def work() -> AccountRequest | None:
        area_level, area = accounts.resolve_area(area_code, level)
        return accounts.change_role(session, user, target, utcnow(), role=role_, level=area_level, area=area)

    return _settle_account(request, session, user, work)


@router.post("/users/{user_id}/sessions/end", dependencies=[CsrfChecked])
def end_user_sessions(request: Request, session: SessionDep, user: AccountsUser, user_id: RowId) -> RedirectResponse:
    """End every session of an account (an admin, or a supervisor of its area)."""
    target = _account(session, user_id)
    return _settle_account(request, session, user, lambda: accounts.end_sessions_of(session, user, target, utcnow()))


@router.post("/users/{user_id}/unlock", dependencies=[CsrfChecked])
def unlock_user(
    request: Request, session: SessionDep, ctx: ContextDep, user: AccountsUser, user_id: RowId
) -> RedirectResponse:
    """Unlock a login locked by failed attempts (an admin, or a supervisor of its area)."""
    target = _account(session, user_id)
    secret = ctx.settings.secret_key
    return _settle_account(request, session, user, lambda: accounts.unlock(session, secret, user, target, utcnow()))


@router.post("/users/requests/{request_id}/{decision}", dependencies=[CsrfChecked])
def decide_request(
    request: Request,
    session: SessionDep,
    user: AccountsUser,
    request_id: RowId,
    decision: Annotated[str, UrlPath(pattern="^(approve|refuse)$")],
) -> RedirectResponse:
    """Approve or refuse a request (another admin or an oblast supervisor); its requester may withdraw it."""

    def work() -> None:
        accounts.decide(session, user, request_id, utcnow(), approve=decision == "approve")

    return _settle_account(request, session, user, work)


@router.post("/users/notifications/read", dependencies=[CsrfChecked])
def account_notes_read(session: SessionDep, user: AccountsUser) -> RedirectResponse:
    """Dismiss the notifications about accounts."""
    accounts.dismiss_account_notes(session, user, utcnow())
    session.commit()
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
