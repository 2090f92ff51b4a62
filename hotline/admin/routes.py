"""The admin pages (thin: parse, check role and CSRF, call admin.* functions, render Jinja2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from hotline.admin import audit as audit_log
from hotline.admin import auth, casework, health
from hotline.admin.access import CASEWORK_ROLES, is_supervisor
from hotline.admin.dashboard import dashboard
from hotline.admin.i18n import translator
from hotline.admin.queue import OPEN_STATUSES, QueueFilter, export_queue, newer_than, queue_page
from hotline.complaints.categories import get_rules
from hotline.complaints.places import get_gazetteer
from hotline.content import LANGUAGES, TextTooLong
from hotline.context import Context, get_context
from hotline.db import SessionDep
from hotline.models import ComplaintStatus, Enrolment, Jurisdiction, Role, StaffUser, utcnow
from hotline.reminders import importer
from hotline.reminders.reports import OUTCOMES, reminders_report

router = APIRouter(prefix="/admin")
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
ContextDep = Annotated[Context, Depends(get_context)]
MAX_FORM_BYTES = 32 * 1024  # a form bigger than this is refused before it is read
MAX_UPLOAD_BYTES = importer.MAX_BYTES + 64 * 1024  # the CSV import, with room for the form around the file
UPLOAD_PATHS = {"/admin/enrol/import"}


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login page."""

    def __init__(self, expired: bool) -> None:
        self.expired = expired


class PageForbidden(Exception):
    """A role that may not open this page."""


def _session_data(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = request.session
    return data


def current_user(request: Request, session: SessionDep) -> StaffUser:
    """The logged-in staff member; LoginRequired otherwise (marking an expired session as such)."""
    user = auth.session_user(session, _session_data(request), utcnow())
    if user is None:
        had_cookie = "hotline_session" in request.cookies
        _session_data(request).clear()
        raise LoginRequired(expired=had_cookie)
    # Detached: commits in the handler must not expire it before the page (or an error page) is drawn.
    session.expunge(user)
    request.state.user = user
    return user


def role(*roles: Role) -> Callable[..., StaffUser]:
    """Dependency: the user, if their role is one of these; 403 otherwise."""

    def check(user: Annotated[StaffUser, Depends(current_user)]) -> StaffUser:
        if user.role not in roles:
            raise PageForbidden
        return user

    return check


async def check_form(request: Request) -> None:
    """Every form post: not oversized, and carrying the session's CSRF token."""
    limit = MAX_UPLOAD_BYTES if request.url.path in UPLOAD_PATHS else MAX_FORM_BYTES
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > limit:
        raise HTTPException(413, f"Form too large (limit {limit // 1024} KB) or without a length")
    form = await request.form()
    submitted = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not auth.csrf_valid(_session_data(request), submitted if isinstance(submitted, str) else None):
        raise HTTPException(
            403, "The form has expired or was not sent by this site (CSRF check failed). Reload and retry."
        )


Staff = Annotated[StaffUser, Depends(role(Role.OFFICER, Role.SUPERVISOR))]
Supervisor = Annotated[StaffUser, Depends(role(Role.SUPERVISOR))]
Admin = Annotated[StaffUser, Depends(role(Role.ADMIN))]
HealthStaff = Annotated[StaffUser, Depends(role(Role.HEALTH))]
Anyone = Annotated[StaffUser, Depends(current_user)]
CsrfChecked = Depends(check_form)


def flash(request: Request, kind: str, text: str) -> None:
    """A one-time message for the next page (never a phone number: the cookie is signed, not encrypted)."""
    _session_data(request)["flash"] = [kind, text]


def render(request: Request, name: str, user: StaffUser | None, status_code: int = 200, **values: Any) -> HTMLResponse:
    """A page with what every page needs: translations, user, CSRF token, one-time message, notifications."""
    data = _session_data(request)
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
        categories=list(get_rules().categories),
        is_supervisor=bool(user and is_supervisor(user)),
        poll_ms=ctx.settings.admin_poll_seconds * 1000,
        outcomes=list(OUTCOMES),
        urlencode=urlencode,
    )
    return templates.TemplateResponse(request, name, values, status_code=status_code)


def back(url: str) -> RedirectResponse:
    """Post/redirect/get."""
    return RedirectResponse(url, status_code=303)


# ---- login ----------------------------------------------------------------------------------------------------


def _safe_next(target: str) -> str:
    # Only our own pages: never an open redirect to another site.
    return target if target.startswith("/admin") and not target.startswith("//") else "/admin"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/admin", expired: bool = False, lang: str = "") -> HTMLResponse:
    """The login form (in the language chosen with ?lang=, Russian by default)."""
    if lang in auth.UI_LANGUAGES:
        _session_data(request)["lang"] = lang
    return render(request, "login.html", None, next=_safe_next(next), expired=expired, error="")


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
        t = translator(_session_data(request).get("lang", "ru"))
        error = t("login.throttled") if refused.throttled else t("login.invalid")
        return render(
            request,
            "login.html",
            None,
            status_code=429 if refused.throttled else 401,
            next=_safe_next(next),
            expired=False,
            error=error,
        )
    session.commit()
    auth.start_session(_session_data(request), user, now)
    home_page = {Role.ADMIN: "/admin/users", Role.HEALTH: "/admin/health"}.get(Role(user.role))
    return back(home_page if home_page and not next.startswith(home_page) else _safe_next(next))


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> RedirectResponse:
    """End the session."""
    _session_data(request).clear()
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
    return back(_safe_next(next))


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
        open_statuses=OPEN_STATUSES,
        staff={u.id: u.display_name for u in staff},
        notifications=casework.notifications_for(session, user),
    )


@router.get("/queue/new")
def queue_new(
    request: Request, session: SessionDep, user: Staff, f: Filter, after: Annotated[int, Query(ge=0)] = 0
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
    audit_log.audit(session, user, "export_queue", now, filters=f.params())
    session.commit()
    name = f"complaints-{ctx.local_day(now).isoformat()}.csv"
    return StreamingResponse(
        export_queue(session, user, f, now, ctx.tz),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/notifications/read", dependencies=[CsrfChecked])
def notifications_read(session: SessionDep, user: Staff) -> RedirectResponse:
    """Dismiss notifications."""
    casework.mark_read(session, user, utcnow())
    session.commit()
    return back("/admin/queue")


# ---- one complaint --------------------------------------------------------------------------------------------


def _complaint(session: Session, user: StaffUser, complaint_id: int, action: str) -> Any:
    try:
        return casework.open_complaint(session, user, complaint_id, utcnow(), action)
    except casework.Forbidden:
        session.commit()  # keep the audit row of the refused attempt
        raise
    except casework.NotFound as exc:
        raise HTTPException(404, "No such complaint") from exc


def _page(
    request: Request, session: Session, ctx: Context, user: StaffUser, complaint: Any, **extra: Any
) -> HTMLResponse:
    view = casework.complaint_view(session, ctx, user, complaint)
    return render(
        request,
        "complaint.html",
        user,
        v=view,
        c=complaint,
        statuses=list(ComplaintStatus),
        max_note=casework.MAX_NOTE_CHARS,
        **extra,
    )


@router.get("/complaints/{complaint_id}", response_class=HTMLResponse)
def complaint_page(
    request: Request, session: SessionDep, ctx: ContextDep, user: Staff, complaint_id: int
) -> HTMLResponse:
    """One complaint; every opening is audited."""
    complaint = _complaint(session, user, complaint_id, "view")
    audit_log.audit(session, user, "view", utcnow(), complaint)
    session.commit()
    return _page(request, session, ctx, user, complaint, revealed=None)


def _act(
    request: Request, session: Session, complaint_id: int, action: Callable[[], None], done: str
) -> RedirectResponse:
    t = translator(request.state.user.ui_language)
    try:
        action()
    except casework.Refused as refused:
        session.rollback()
        flash(request, "error", str(refused))
    except casework.Forbidden:
        session.commit()  # only the audit row of the refusal was added
        raise
    else:
        session.commit()
        flash(request, "ok", t(done))
    return back(f"/admin/complaints/{complaint_id}")


@router.post("/complaints/{complaint_id}/status", dependencies=[CsrfChecked])
def post_status(
    request: Request, session: SessionDep, user: Staff, complaint_id: int, status: Annotated[str, Form(max_length=16)]
) -> RedirectResponse:
    """Change the status."""
    c = _complaint(session, user, complaint_id, "status")
    return _act(
        request, session, complaint_id, lambda: casework.set_status(session, user, c, status, utcnow()), "done.status"
    )


@router.post("/complaints/{complaint_id}/category", dependencies=[CsrfChecked])
def post_category(
    request: Request, session: SessionDep, user: Staff, complaint_id: int, category: Annotated[str, Form(max_length=32)]
) -> RedirectResponse:
    """Correct the category."""
    c = _complaint(session, user, complaint_id, "category")
    return _act(
        request,
        session,
        complaint_id,
        lambda: casework.set_category(session, user, c, category, utcnow()),
        "done.saved",
    )


@router.post("/complaints/{complaint_id}/municipality", dependencies=[CsrfChecked])
def post_municipality(
    request: Request,
    session: SessionDep,
    user: Staff,
    complaint_id: int,
    municipality: Annotated[str, Form(max_length=32)],
) -> RedirectResponse:
    """Correct the municipality."""
    c = _complaint(session, user, complaint_id, "municipality")
    return _act(
        request,
        session,
        complaint_id,
        lambda: casework.set_municipality(session, user, c, municipality, utcnow()),
        "done.saved",
    )


@router.post("/complaints/{complaint_id}/assign", dependencies=[CsrfChecked])
def post_assign(
    request: Request,
    session: SessionDep,
    user: Staff,
    complaint_id: int,
    assignee: Annotated[str, Form(max_length=16)] = "",
) -> RedirectResponse:
    """Take, assign or unassign."""
    c = _complaint(session, user, complaint_id, "assign")
    target = user.id if assignee == "me" else (int(assignee) if assignee.isdigit() else None)
    return _act(
        request, session, complaint_id, lambda: casework.assign(session, user, c, target, utcnow()), "done.saved"
    )


@router.post("/complaints/{complaint_id}/note", dependencies=[CsrfChecked])
def post_note(
    request: Request, session: SessionDep, user: Staff, complaint_id: int, note: Annotated[str, Form()]
) -> RedirectResponse:
    """Add an internal note."""
    c = _complaint(session, user, complaint_id, "note")
    return _act(
        request, session, complaint_id, lambda: casework.add_note(session, user, c, note, utcnow()), "done.note"
    )


@router.post("/complaints/{complaint_id}/answer", dependencies=[CsrfChecked])
def post_answer(
    request: Request, session: SessionDep, ctx: ContextDep, user: Staff, complaint_id: int, text: Annotated[str, Form()]
) -> RedirectResponse:
    """Answer the family by SMS (through the outbox)."""
    c = _complaint(session, user, complaint_id, "answer")
    return _act(
        request, session, complaint_id, lambda: casework.answer(session, ctx, user, c, text, utcnow()), "done.answer"
    )


@router.post("/complaints/{complaint_id}/preview", dependencies=[CsrfChecked])
def post_preview(
    session: SessionDep, ctx: ContextDep, user: Staff, complaint_id: int, text: Annotated[str, Form()] = ""
) -> JSONResponse:
    """The live SMS count of the answer box (a POST, so the text never lands in an access log)."""
    c = _complaint(session, user, complaint_id, "preview")
    try:
        sms = casework.preview_answer(ctx, c, " ".join(text.split()))
    except TextTooLong as exc:
        return JSONResponse({"ok": False, "error": str(exc)})
    count = sms.count
    return JSONResponse(
        {
            "ok": True,
            "segments": count.segments,
            "encoding": count.encoding,
            "units": count.units,
            "max_segments": ctx.settings.max_segments,
        }
    )


@router.post("/complaints/{complaint_id}/reveal", dependencies=[CsrfChecked], response_model=None)
def post_reveal(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: Staff,
    complaint_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Show the full number to a supervisor who gave a reason (rendered once, never stored in the session)."""
    c = _complaint(session, user, complaint_id, "reveal")
    try:
        number = casework.reveal(session, ctx, user, c, reason, utcnow())
    except casework.Forbidden:
        session.commit()
        raise
    except casework.Refused as refused:
        session.rollback()
        flash(request, "error", str(refused))
        return back(f"/admin/complaints/{complaint_id}")
    session.commit()
    response = _page(request, session, ctx, user, c, revealed=number)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/complaints/{complaint_id}/escalate", dependencies=[CsrfChecked])
def post_escalate(
    request: Request, session: SessionDep, ctx: ContextDep, user: Staff, complaint_id: int
) -> RedirectResponse:
    """Escalate by hand (supervisors)."""
    c = _complaint(session, user, complaint_id, "escalate")
    return _act(
        request, session, complaint_id, lambda: casework.escalate_now(session, ctx, user, c, utcnow()), "done.escalated"
    )


# ---- audit log and dashboard ----------------------------------------------------------------------------------


def audit_filter(
    user: Annotated[str, Query(max_length=12)] = "",
    action: Annotated[str, Query(max_length=32)] = "",
    reference: Annotated[str, Query(max_length=16)] = "",
    day_from: Annotated[date | None, Query(alias="from")] = None,
    day_to: Annotated[date | None, Query(alias="to")] = None,
) -> audit_log.AuditFilter:
    """The audit page's filters."""
    return audit_log.AuditFilter(int(user) if user.isdigit() else None, action, reference, day_from, day_to)


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
    audit_log.audit(session, user, "export_audit", utcnow())
    session.commit()
    return StreamingResponse(
        audit_log.export_audit(session, f, ctx.tz),
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
    day_from: Annotated[date | None, Query(alias="from")] = None,
    day_to: Annotated[date | None, Query(alias="to")] = None,
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
    return render(request, "dashboard.html", user, d=figures, r=reminders, day_from=day_from, day_to=day_to)


# ---- health alerts ---------------------------------------------------------------------------------------------


@router.get("/health", response_class=HTMLResponse)
def health_page(
    request: Request, session: SessionDep, ctx: ContextDep, user: HealthStaff, all: str = ""
) -> HTMLResponse:
    """Danger-sign alerts of the user's area, open ones first (every look is audited)."""
    rows = health.alerts_for(session, ctx, user, open_only=not all, now=utcnow())
    session.commit()
    response = render(request, "health.html", user, rows=rows, show_all=bool(all))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/health/{alert_id}/handled", dependencies=[CsrfChecked])
def health_handled(request: Request, session: SessionDep, user: HealthStaff, alert_id: int) -> RedirectResponse:
    """Mark an alert as followed up."""
    if not health.mark_handled(session, user, alert_id, utcnow()):
        raise HTTPException(404, "No such alert in your area")
    session.commit()
    flash(request, "ok", translator(user.ui_language)("done.saved"))
    return back("/admin/health")


# ---- enrolment by staff ----------------------------------------------------------------------------------------

Enroller = Annotated[StaffUser, Depends(role(Role.HEALTH, Role.SUPERVISOR))]


@router.get("/enrol", response_class=HTMLResponse)
def enrol_page(request: Request, user: Enroller) -> HTMLResponse:
    """Enrol one household, or import a CSV file."""
    return render(request, "enrol.html", user, result=None, errors=[], columns=importer.COLUMNS)


def _import(
    request: Request, session: Session, ctx: Context, user: StaffUser, raw: list[dict[str, str]], channel: str
) -> HTMLResponse:
    now = utcnow()
    try:
        rows = importer.check_all(raw, ctx.local_day(now))
    except importer.ImportRejected as rejected:
        return render(
            request, "enrol.html", user, status_code=422, result=None, errors=rejected.errors, columns=importer.COLUMNS
        )
    result = importer.write_rows(session, ctx, rows, now, channel)
    audit_log.audit(
        session, user, "enrolment_import", now, rows=result.rows, channel=channel, new_enrolments=result.new_enrolments
    )
    session.commit()
    return render(request, "enrol.html", user, result=result, errors=[], columns=importer.COLUMNS)


@router.get("/households", response_class=HTMLResponse)
def household_page(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: Enroller,
    phone: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """Find a household by its number, to record a loss, pause, resume or stop (audited)."""
    household, enrolments = importer.household_by_phone(session, ctx, phone) if phone else (None, [])
    if phone:
        audit_log.audit(session, user, "household_lookup", utcnow(), found=household is not None)
        session.commit()
    return render(
        request,
        "household.html",
        user,
        phone=phone,
        household=household,
        enrolments=enrolments,
        actions=list(importer.STAFF_ACTIONS),
    )


@router.post("/households/enrolments/{enrolment_id}", dependencies=[CsrfChecked])
def enrolment_action(
    request: Request,
    session: SessionDep,
    user: Enroller,
    enrolment_id: int,
    action: Annotated[str, Form(max_length=16)],
    phone: Annotated[str, Form(max_length=32)] = "",
) -> RedirectResponse:
    """A staff action on one enrolment (e.g. a loss reported at the health post: messages stop at once)."""
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise HTTPException(404, "No such enrolment")
    try:
        importer.staff_action(session, enrolment, action, utcnow())
    except importer.VolunteerError as exc:
        session.rollback()
        flash(request, "error", str(exc))
    else:
        audit_log.audit(session, user, f"enrolment_{action}", utcnow(), enrolment_id=enrolment_id)
        session.commit()
        flash(request, "ok", translator(user.ui_language)("done.saved"))
    return back("/admin/households?" + urlencode({"phone": phone}))


@router.post("/enrol", dependencies=[CsrfChecked])
def enrol_one(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: Enroller,
    phone: Annotated[str, Form(max_length=32)],
    kind: Annotated[str, Form(max_length=16)],
    date_: Annotated[str, Form(alias="date", max_length=40)],
    language: Annotated[str, Form(max_length=2)] = "ky",
    municipality: Annotated[str, Form(max_length=32)] = "",
    send_hour: Annotated[str, Form(max_length=2)] = "10",
    consent: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse:
    """One household from the form (the same checks as a CSV row)."""
    raw = {
        "phone": phone,
        "kind": kind,
        "date": date_,
        "language": language,
        "municipality": municipality,
        "send_hour": send_hour,
        "consent": "yes" if consent else "",
    }
    return _import(request, session, ctx, user, [raw], "staff")


@router.post("/enrol/import", dependencies=[CsrfChecked])
async def enrol_import(request: Request, session: SessionDep, ctx: ContextDep, user: Enroller) -> HTMLResponse:
    """A CSV file of households: checked whole, then written in one transaction, or nothing written."""
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise HTTPException(400, "Choose a CSV file")
    data = await upload.read()
    try:
        raw = importer.read_csv(data)
    except importer.ImportRejected as rejected:
        return render(
            request, "enrol.html", user, status_code=422, result=None, errors=rejected.errors, columns=importer.COLUMNS
        )
    return await run_in_threadpool(_import, request, session, ctx, user, raw, "import")


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
    role_: Annotated[str, Form(alias="role", max_length=16)],
    level: Annotated[str, Form(max_length=16)],
    area_code: Annotated[str, Form(max_length=32)],
    display_name: Annotated[str, Form(max_length=120)] = "",
    ui_language: Annotated[str, Form(max_length=2)] = "ru",
) -> RedirectResponse:
    """Create a staff account."""
    try:
        created = auth.create_user(
            session,
            username=username,
            password=password,
            role=Role(role_),
            level=Jurisdiction(level),
            area_code=area_code.strip(),
            display_name=display_name,
            ui_language=ui_language,
        )
    except (auth.AccountError, ValueError) as exc:
        session.rollback()
        flash(request, "error", str(exc))
        return back("/admin/users")
    session.flush()
    audit_log.audit(session, user, "user_created", utcnow(), username=created.username, role=created.role)
    session.commit()
    flash(request, "ok", translator(user.ui_language)("done.saved"))
    return back("/admin/users")


@router.post("/users/{user_id}", dependencies=[CsrfChecked])
def update_user(
    request: Request,
    session: SessionDep,
    user: Admin,
    user_id: int,
    active: Annotated[str, Form(max_length=4)] = "",
    password: Annotated[str, Form(max_length=auth.MAX_PASSWORD_LENGTH)] = "",
) -> RedirectResponse:
    """Deactivate or reactivate an account, or set a new password (both end its sessions)."""
    target = session.get(StaffUser, user_id)
    if target is None:
        raise HTTPException(404, "No such user")
    try:
        if password:
            auth.set_password(session, target, password)
        wanted = active == "1"
        if target.active != wanted:
            if target.id == user.id:
                raise auth.AccountError("you cannot deactivate your own account")
            target.active = wanted
            target.session_version += 1
            session.add(target)
    except auth.AccountError as exc:
        session.rollback()
        flash(request, "error", str(exc))
        return back("/admin/users")
    audit_log.audit(
        session,
        user,
        "user_changed",
        utcnow(),
        username=target.username,
        active=target.active,
        password_changed=bool(password),
    )
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


def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    """An admin error as a page a person can read (the JSON default is for APIs)."""
    user = getattr(request.state, "user", None)
    return render(request, "error.html", user, status_code=status_code, code=status_code, detail=detail)


def install(app: Any) -> None:
    """Add the admin pages, their static files, signed-cookie sessions and error pages to the app."""
    ctx: Context = app.state.ctx
    app.add_middleware(
        SessionMiddleware,
        secret_key=ctx.settings.secret_key,
        session_cookie="hotline_session",
        max_age=auth.SESSION_IDLE_SECONDS,
        same_site="lax",
        https_only=ctx.settings.cookie_secure_enabled,
        path="/admin",
    )
    app.mount("/admin/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="admin-static")
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
            return error_page(request, exc.status_code, str(exc.detail))
        return await http_exception_handler(request, exc)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if request.url.path.startswith("/admin") and "text/html" in request.headers.get("accept", ""):
            fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
            return error_page(request, 422, f"Invalid or missing: {fields}")
        return await request_validation_exception_handler(request, exc)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(PageForbidden, forbidden)
    app.add_exception_handler(casework.Forbidden, forbidden)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
