"""Complaint officers' pages: the triage queue, notifications, and the complaint page with every action on it
(thin handlers; the logic is in casework.py and queue.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlmodel import Session, col, select

from hotline.channels.twilio import RecordingUnavailable, fetch_recording
from hotline.complaints import casework
from hotline.complaints.queue import QueueFilter, newer_than, queue_page, start_export, village_choices
from hotline.content import TextTooLong
from hotline.context import Context, ContextDep
from hotline.db import SessionDep
from hotline.models import MAX_ID, ComplaintStatus, Jurisdiction, StaffUser, parse_int, utcnow
from hotline.reminders.dates import has_symptom
from hotline.staff.access import CASEWORK_ROLES, RANK, Forbidden, can_see
from hotline.staff.csv_export import delimiter_of
from hotline.staff.i18n import translator
from hotline.staff.web import CsrfChecked, RowId, Staff, back, flash, render, session_data

router = APIRouter(prefix="/admin")
T = TypeVar("T")
# The signed cookie carries only the id of the reveal's audit row to the next page, never the number.
REVEAL_KEY = "reveal"


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
        villages=village_choices(user),
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
def queue_csv(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: Staff,
    f: Filter,
    sep: Annotated[str, Query(max_length=10)] = "",
) -> StreamingResponse:
    """The filtered queue as CSV (no phone numbers; `sep=semicolon` for a Russian Excel); the export is audited."""
    now = utcnow()
    rows = start_export(session, user, f, now, ctx.tz, delimiter=delimiter_of(sep))
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


# ---- one complaint --------------------------------------------------------------------------------------------


def _settle(session: Session, work: Callable[[], T]) -> T:
    # The one rule of every casework request: a refusal for lack of rights keeps its audit row (committed, then the
    # 403 page); a change refused as asked keeps nothing (rolled back, the page says why); success commits.
    try:
        result = work()
    except Forbidden:
        session.commit()
        raise
    except casework.Refused:
        session.rollback()
        raise
    except casework.NotFound as exc:
        session.rollback()
        raise HTTPException(404, "No such complaint") from exc
    session.commit()
    return result


def _complaint(session: Session, user: StaffUser, complaint_id: int, action: str) -> Any:
    return _settle(session, lambda: casework.open_complaint(session, user, complaint_id, utcnow(), action))


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
        danger_sign=has_symptom(complaint.text),  # answered as a complaint, so officers must see it
        **extra,
    )


@router.get("/complaints/{complaint_id}", response_class=HTMLResponse)
def complaint_page(
    request: Request, session: SessionDep, ctx: ContextDep, user: Staff, complaint_id: RowId
) -> HTMLResponse:
    """One complaint; opening it is audited (once a day per person), and a reveal just made shows its number."""
    now = utcnow()
    complaint = _settle(session, lambda: casework.read_complaint(session, user, complaint_id, now, ctx.tz))
    revealed = None
    entry_id = session_data(request).pop(REVEAL_KEY, None)
    if isinstance(entry_id, int):
        revealed = _settle(session, lambda: casework.revealed_number(session, ctx, user, complaint, entry_id, now))
    return _page(request, session, ctx, user, complaint, revealed=revealed)


@router.get("/complaints/{complaint_id}/recording")
def complaint_recording(session: SessionDep, ctx: ContextDep, user: Staff, complaint_id: RowId) -> Response:
    """The complaint's recording, fetched from Twilio for an officer who may see the complaint (audited)."""
    try:
        sid = _settle(session, lambda: casework.recording_of(session, user, complaint_id, utcnow()))
    except casework.NoRecording as exc:
        raise HTTPException(404, "This complaint has no recording") from exc
    try:
        audio = fetch_recording(ctx.settings, sid)
    except RecordingUnavailable as exc:
        return Response(str(exc), status_code=502, media_type="text/plain; charset=utf-8")
    # Never cached: the voice may identify the family, and a shared computer keeps its cache.
    return Response(audio, media_type="audio/mpeg", headers={"Cache-Control": "no-store"})


def _act(
    request: Request, session: Session, complaint_id: int, action: Callable[[], None], done: str
) -> RedirectResponse:
    t = translator(request.state.user.ui_language)
    try:
        _settle(session, action)
    except casework.Refused as refused:
        flash(request, "error", refused.text(request.state.user.ui_language))
    else:
        flash(request, "ok", t(done))
    return back(f"/admin/complaints/{complaint_id}")


@router.post("/complaints/{complaint_id}/status", dependencies=[CsrfChecked])
def post_status(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: Staff,
    complaint_id: RowId,
    status: Annotated[str, Form(max_length=16)],
) -> RedirectResponse:
    """Change the status (a decision is told to a named family by SMS)."""
    c = _complaint(session, user, complaint_id, "status")
    return _act(
        request,
        session,
        complaint_id,
        lambda: casework.set_status(session, user, c, status, utcnow(), ctx=ctx),
        "done.status",
    )


def _act_may_leave(
    request: Request, session: Session, user: StaffUser, complaint: Any, action: Callable[[], None], done: str
) -> RedirectResponse:
    # A change that takes the complaint out of the user's sight (routed up, or to another municipality) leads back
    # to the queue, saying so, rather than to a page that now answers 403.
    response = _act(request, session, complaint.id, action, done)
    if can_see(user, complaint):
        return response
    t = translator(user.ui_language)
    if RANK[Jurisdiction(complaint.jurisdiction)] > RANK[Jurisdiction(user.level)]:
        flash(request, "ok", t("done.routed_away", level=t(f"level.{complaint.jurisdiction}")))
    else:
        flash(request, "ok", t("done.moved_away"))
    return back("/admin/queue")


@router.post("/complaints/{complaint_id}/category", dependencies=[CsrfChecked])
def post_category(
    request: Request,
    session: SessionDep,
    user: Staff,
    complaint_id: RowId,
    category: Annotated[str, Form(max_length=32)],
) -> RedirectResponse:
    """Correct the category (a bribe leaves the municipality at once)."""
    c = _complaint(session, user, complaint_id, "category")
    return _act_may_leave(
        request, session, user, c, lambda: casework.set_category(session, user, c, category, utcnow()), "done.saved"
    )


@router.post("/complaints/{complaint_id}/accuses-staff", dependencies=[CsrfChecked])
def post_accuses_staff(request: Request, session: SessionDep, user: Staff, complaint_id: RowId) -> RedirectResponse:
    """Mark that the complaint accuses municipal staff: it moves above the municipality at once."""
    c = _complaint(session, user, complaint_id, "accuses_staff")
    return _act_may_leave(
        request, session, user, c, lambda: casework.mark_accuses_staff(session, user, c, utcnow()), "done.routed"
    )


@router.post("/complaints/{complaint_id}/municipality", dependencies=[CsrfChecked])
def post_municipality(
    request: Request,
    session: SessionDep,
    user: Staff,
    complaint_id: RowId,
    municipality: Annotated[str, Form(max_length=32)],
) -> RedirectResponse:
    """Correct the municipality (within the district the user's supervisors watch)."""
    c = _complaint(session, user, complaint_id, "municipality")
    return _act_may_leave(
        request,
        session,
        user,
        c,
        lambda: casework.set_municipality(session, user, c, municipality, utcnow()),
        "done.saved",
    )


@router.post("/complaints/{complaint_id}/assign", dependencies=[CsrfChecked])
def post_assign(
    request: Request,
    session: SessionDep,
    user: Staff,
    complaint_id: RowId,
    assignee: Annotated[str, Form(max_length=16)] = "",
) -> RedirectResponse:
    """Take, assign or unassign."""
    c = _complaint(session, user, complaint_id, "assign")
    target = user.id if assignee == "me" else parse_int(assignee)
    return _act(
        request, session, complaint_id, lambda: casework.assign(session, user, c, target, utcnow()), "done.saved"
    )


@router.post("/complaints/{complaint_id}/note", dependencies=[CsrfChecked])
def post_note(
    request: Request, session: SessionDep, user: Staff, complaint_id: RowId, note: Annotated[str, Form()]
) -> RedirectResponse:
    """Add an internal note."""
    c = _complaint(session, user, complaint_id, "note")
    return _act(
        request, session, complaint_id, lambda: casework.add_note(session, user, c, note, utcnow()), "done.note"
    )


@router.post("/complaints/{complaint_id}/answer", dependencies=[CsrfChecked])
def post_answer(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: Staff,
    complaint_id: RowId,
    text: Annotated[str, Form()],
) -> RedirectResponse:
    """Answer the family by SMS (through the outbox); a new complaint is in progress from then on."""
    c = _complaint(session, user, complaint_id, "answer")
    outcome: list[bool] = []
    done = _act(
        request,
        session,
        complaint_id,
        lambda: outcome.append(casework.answer(session, ctx, user, c, text, utcnow())),
        "done.answer",
    )
    if outcome == [False]:  # kept, but the family's STOP keeps it from going: the officer must know
        flash(request, "error", translator(user.ui_language)("done.answer_stopped"))
    return done


@router.post("/complaints/{complaint_id}/preview", dependencies=[CsrfChecked])
def post_preview(
    session: SessionDep, ctx: ContextDep, user: Staff, complaint_id: RowId, text: Annotated[str, Form()] = ""
) -> JSONResponse:
    """The live SMS count of the answer box (a POST, so the text never lands in an access log)."""
    c = _complaint(session, user, complaint_id, "preview")
    try:
        sms = casework.preview_answer(ctx, c, " ".join(text.split()))
    except TextTooLong as exc:
        refused = casework.Refused("answer_long", segments=exc.segments, max=exc.budget)
        return JSONResponse({"ok": False, "error": refused.text(user.ui_language)})
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


@router.post("/complaints/{complaint_id}/reveal", dependencies=[CsrfChecked])
def post_reveal(
    request: Request,
    session: SessionDep,
    user: Staff,
    complaint_id: RowId,
    reason: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Reveal the full number to a supervisor who gave a reason: audited here, shown once by the page it redirects to
    (post-redirect-get: a reload neither shows nor audits it again; the number never enters the cookie or a URL)."""
    c = _complaint(session, user, complaint_id, "reveal")
    try:
        entry = _settle(session, lambda: casework.reveal(session, user, c, reason, utcnow()))
    except casework.Refused as refused:
        flash(request, "error", refused.text(user.ui_language))
    else:
        session_data(request)[REVEAL_KEY] = entry.id
    return back(f"/admin/complaints/{complaint_id}")


@router.post("/complaints/{complaint_id}/escalate", dependencies=[CsrfChecked])
def post_escalate(
    request: Request, session: SessionDep, ctx: ContextDep, user: Staff, complaint_id: RowId
) -> RedirectResponse:
    """Escalate by hand (supervisors)."""
    c = _complaint(session, user, complaint_id, "escalate")
    return _act(
        request, session, complaint_id, lambda: casework.escalate_now(session, ctx, user, c, utcnow()), "done.escalated"
    )
