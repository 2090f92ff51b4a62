"""Health staff's pages: danger-sign alerts, enrolment by form or CSV, and actions on a household."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from hotline.context import Context, ContextDep
from hotline.db import SessionDep
from hotline.models import Jurisdiction, Role, StaffUser, utcnow
from hotline.reminders import alerts, households, importer
from hotline.staff.i18n import translator
from hotline.staff.web import CsrfChecked, HealthStaff, RowId, back, flash, render, role

router = APIRouter(prefix="/admin")


# ---- health alerts ---------------------------------------------------------------------------------------------


@router.get("/health", response_class=HTMLResponse)
def health_page(
    request: Request, session: SessionDep, ctx: ContextDep, user: HealthStaff, all: str = ""
) -> HTMLResponse:
    """Danger-sign alerts of the user's area, open ones first (every look is audited)."""
    rows = alerts.alerts_for(session, ctx, user, open_only=not all, now=utcnow())
    session.commit()
    response = render(request, "health.html", user, rows=rows, show_all=bool(all))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/health/{alert_id}/handled", dependencies=[CsrfChecked])
def health_handled(request: Request, session: SessionDep, user: HealthStaff, alert_id: RowId) -> RedirectResponse:
    """Mark an alert as followed up."""
    if not alerts.mark_handled(session, user, alert_id, utcnow()):
        raise HTTPException(404, "No such alert in your area")
    session.commit()
    flash(request, "ok", translator(user.ui_language)("done.saved"))
    return back("/admin/health")


# ---- enrolment by staff ----------------------------------------------------------------------------------------

Enroller = Annotated[StaffUser, Depends(role(Role.HEALTH, Role.SUPERVISOR))]


def _enrol_page(
    request: Request,
    user: StaffUser,
    result: importer.ImportResult | None = None,
    errors: list[importer.Problem] | None = None,
) -> HTMLResponse:
    # The form offers only the municipalities of the user's area; a municipal worker's is chosen already.
    return render(
        request,
        "enrol.html",
        user,
        status_code=422 if errors else 200,
        result=result,
        errors=errors or [],
        columns=importer.COLUMNS,
        places=households.enrol_places(user),
        place_optional=user.level == Jurisdiction.OBLAST,
    )


@router.get("/enrol", response_class=HTMLResponse)
def enrol_page(request: Request, user: Enroller) -> HTMLResponse:
    """Enrol one household of the user's area, or import a CSV file of them."""
    return _enrol_page(request, user)


def _import(
    request: Request, session: Session, ctx: Context, user: StaffUser, raw: list[dict[str, str]], channel: str
) -> HTMLResponse:
    now = utcnow()
    try:
        rows = households.rows_for_area(user, importer.check_all(raw, ctx.local_day(now)))
    except importer.ImportRejected as rejected:
        return _enrol_page(request, user, errors=rejected.errors)
    result = households.import_by_staff(session, ctx, user, rows, now, channel)
    session.commit()
    return _enrol_page(request, user, result=result)


@router.get("/households", response_class=HTMLResponse)
def household_page(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: Enroller,
    phone: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """Find a household of the user's area by its number, to record a loss, pause, resume or stop (audited)."""
    household, enrolments = households.look_up_household(session, ctx, user, phone, utcnow()) if phone else (None, [])
    session.commit()
    return render(
        request,
        "household.html",
        user,
        phone=phone,
        household=household,
        enrolments=enrolments,
        actions=list(households.STAFF_ACTIONS),
    )


@router.post("/households/enrolments/{enrolment_id}", dependencies=[CsrfChecked])
def enrolment_action(
    request: Request,
    session: SessionDep,
    user: Enroller,
    enrolment_id: RowId,
    action: Annotated[str, Form(max_length=16)],
    phone: Annotated[str, Form(max_length=32)] = "",
) -> RedirectResponse:
    """A staff action on one enrolment of the user's area (e.g. a loss reported at the health post: messages stop at
    once); another area's enrolment answers as one that does not exist."""
    enrolment = households.enrolment_in_area(session, user, enrolment_id, action, utcnow())
    if enrolment is None:
        session.commit()  # an attempt on another area's enrolment keeps its audit row
        raise HTTPException(404, "No such enrolment")
    try:
        households.act_on_enrolment(session, user, enrolment, action, utcnow())
    except importer.StaffRequestError as exc:
        session.rollback()
        flash(request, "error", exc.text(user.ui_language))
    else:
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
        return _enrol_page(request, user, errors=rejected.errors)
    return await run_in_threadpool(_import, request, session, ctx, user, raw, "import")
