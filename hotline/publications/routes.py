"""The grievance report (page with charts, CSV, PDF) and the printable leaflets and posters (docs/REPORTS.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as UrlPath
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlmodel import Session

from hotline.complaints.reports import (
    AreaOutsideScope,
    GrievanceReport,
    add_months,
    grievance_report,
    report_areas,
    shown,
)
from hotline.context import Context, ContextDep
from hotline.db import SessionDep
from hotline.models import Role, StaffUser, utcnow
from hotline.places import get_gazetteer
from hotline.publications.service import FORMATS, municipalities, printed_texts, sms_number
from hotline.staff.access import Forbidden
from hotline.staff.csv_export import csv_stream, delimiter_of
from hotline.staff.i18n import translator
from hotline.staff.pdf import pdf_response
from hotline.staff.web import render, role, templates

router = APIRouter(prefix="/admin")
ReportUser = Annotated[StaffUser, Depends(role(Role.OFFICER, Role.SUPERVISOR))]
PrintUser = Annotated[StaffUser, Depends(role(Role.SUPERVISOR, Role.ADMIN))]
Month = Annotated[str, Query(pattern=r"^2\d{3}-(0[1-9]|1[0-2])$")]
Area = Annotated[str, Query(max_length=32)]


def percent(share: float | None) -> str:
    """A share as the report prints it; "—" when its base is too small to show."""
    return "—" if share is None else f"{round(share * 100)}%"


def days(value: float | None) -> str:
    """Days with one decimal; "—" when too few complaints reached the step."""
    return "—" if value is None else f"{value:.1f}"


def _report(session: Session, ctx: Context, user: StaffUser, month: str, area: str) -> GrievanceReport:
    chosen = date.fromisoformat(f"{month}-01") if month else ctx.local_day(utcnow()).replace(day=1)
    try:
        return grievance_report(session, user, chosen, area or None, ctx.tz, utcnow())
    except AreaOutsideScope as exc:
        raise Forbidden from exc


def _values(user: StaffUser, report: GrievanceReport) -> dict[str, Any]:
    return {
        "rep": report,
        "shown": shown,
        "percent": percent,
        "days": days,
        "month": report.month.strftime("%Y-%m"),
        "previous": add_months(report.month, -1).strftime("%Y-%m"),
        "following": add_months(report.month, 1).strftime("%Y-%m"),
        "areas": report_areas(user),
        "area": report.area or "",
    }


@router.get("/reports/grievance", response_class=HTMLResponse)
def grievance_page(
    request: Request, session: SessionDep, ctx: ContextDep, user: ReportUser, month: Month = "", area: Area = ""
) -> HTMLResponse:
    """The month's grievance report of the user's area (or a district or municipality inside it), with charts."""
    report = _report(session, ctx, user, month, area)
    return render(request, "grievance.html", user, **_values(user, report))


@router.get("/reports/grievance.pdf")
def grievance_pdf(
    request: Request, session: SessionDep, ctx: ContextDep, user: ReportUser, month: Month = "", area: Area = ""
) -> Response:
    """The same report as a printable PDF (A4)."""
    report = _report(session, ctx, user, month, area)
    html, css = _printable("grievance_print.html", user.ui_language, user=user, **_values(user, report))
    return pdf_response(html, f"grievance-{report.month:%Y-%m}{'-' + report.area if report.area else ''}.pdf", css)


@router.get("/reports/grievance.csv")
def grievance_csv(
    session: SessionDep,
    ctx: ContextDep,
    user: ReportUser,
    month: Month = "",
    area: Area = "",
    sep: Annotated[str, Query(max_length=10)] = "",
) -> StreamingResponse:
    """The same figures as CSV, one figure a row (counts of 1-4 as "<5"); `sep=semicolon` for a Russian Excel."""
    report = _report(session, ctx, user, month, area)
    return StreamingResponse(
        csv_stream(("section", "item", "value"), csv_rows(report), delimiter=delimiter_of(sep)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="grievance-{report.month:%Y-%m}.csv"'},
    )


def csv_rows(r: GrievanceReport) -> Iterator[tuple[str, str, str]]:
    """The report's figures as (section, item, value) rows, suppressed as on the page."""
    yield "period", "month", r.month.strftime("%Y-%m")
    yield "period", "area", r.area or ""
    yield "received", "total", shown(r.received)
    for section, bars in (("channel", r.by_channel), ("category", r.by_category), ("area", r.by_area)):
        for bar in bars:
            yield section, bar.label, shown(bar.value)
    yield "decided", "total", shown(r.decided)
    yield "decided", "resolved", shown(r.resolved)
    yield "decided", "rejected", shown(r.rejected)
    yield "decided", "resolution_rate", percent(r.resolution_rate)
    for step, timing in (("first_answer", r.first_answer), ("decision", r.decision)):
        yield step, "reached", shown(timing.measured)
        yield step, "median_days", days(timing.median_days)
        yield step, "p90_days", days(timing.p90_days)
        yield step, "deadline_days", "/".join(str(d) for d in timing.deadline_days)
        yield step, "on_time", shown(timing.on_time)
        yield step, "late", shown(timing.late)
        yield step, "on_time_share", percent(timing.on_time_share)
    yield "told_outcome", "named", f"{shown(r.told_named)} / {shown(r.decided_named)}"
    yield "told_outcome", "anonymous_by_status", f"{shown(r.told_anonymous)} / {shown(r.decided_anonymous)}"
    yield "told_outcome", "share", percent(r.told_share)
    yield "escalated", "total", shown(r.escalated)
    yield "escalated", "first_answer", shown(r.escalated_first_answer)
    yield "escalated", "resolution", shown(r.escalated_resolution)
    for bar in r.ratings:
        yield "rating", bar.label, shown(bar.value)
    for m in r.trend:
        yield "trend_received", m.month.strftime("%Y-%m"), shown(m.received)
        yield "trend_decided", m.month.strftime("%Y-%m"), shown(m.decided)


def _printable(name: str, language: str, **values: Any) -> tuple[str, str]:
    """A printable page's HTML (no script, no inline style) and its print stylesheet (`name` with .css), in the
    staff member's interface language."""
    values = {"t": translator(language), "ui_language": language, "gazetteer": get_gazetteer(), **values}
    html = templates.env.get_template(name).render(**values)
    css = templates.env.get_template(name.removesuffix(".html") + ".css").render(**values)
    return html, css


@router.get("/leaflets", response_class=HTMLResponse)
def leaflets_page(request: Request, ctx: ContextDep, user: PrintUser) -> HTMLResponse:
    """Every municipality's leaflet and poster, with the number and settings they print."""
    return render(
        request,
        "leaflets.html",
        user,
        places=municipalities(),
        number=sms_number(ctx),
        voice=ctx.settings.twilio_from_number,
        free=ctx.settings.free_to_text,
        formats=FORMATS,
    )


@router.get("/leaflets/{code}/{kind}.pdf")
def leaflet_pdf(
    ctx: ContextDep,
    user: PrintUser,
    code: Annotated[str, UrlPath(max_length=32)],
    kind: Annotated[str, UrlPath(max_length=8)],
) -> Response:
    """A municipality's A5 leaflet or A3 poster as PDF, in Kyrgyz, Russian and Uzbek."""
    place = get_gazetteer().get(code)
    if place is None or place.district is None or kind not in FORMATS:
        raise HTTPException(404, "No such municipality or format")
    html, css = _printable(
        "leaflet_print.html",
        user.ui_language,
        place=place,
        kind=kind,
        size=FORMATS[kind],
        blocks=printed_texts(ctx, place),
    )
    return pdf_response(html, f"{kind}-{place.code}.pdf", css)
