"""Poll pages for admins (no other role runs polls): define a poll and its questions, see what starting it will send,
start and close it, and read its results (page and CSV)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlmodel import Session

from hotline.content import LANGUAGES
from hotline.context import Context, ContextDep
from hotline.db import SessionDep
from hotline.models import Poll, Role, StaffUser, parse_int, utcnow
from hotline.places import get_gazetteer
from hotline.polls import jobs, reports, service
from hotline.staff.csv_export import csv_stream, delimiter_of
from hotline.staff.i18n import translator
from hotline.staff.web import CsrfChecked, RowId, back, flash, render, role

router = APIRouter(prefix="/admin")
# Polls are content: the staff who keep the SMS texts and reference data run them (docs/POLLS.md).
PollStaff = Annotated[StaffUser, Depends(role(Role.ADMIN))]
Text = Annotated[str, Form(max_length=2000)]


def _poll(session: Session, poll_id: int) -> Poll:
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise HTTPException(404, "No such poll")
    return poll


def _form(
    name: str,
    keyword: str,
    starts: str,
    ends: str,
    audience: str,
    area: str,
    languages: list[str],
    keep: str,
    baseline: str,
) -> service.PollForm:
    return service.PollForm(
        name=name,
        keyword=keyword,
        starts=starts,
        ends=ends,
        audience=audience,
        area_code=area,
        languages=tuple(languages),
        keep=keep,
        baseline_id=parse_int(baseline),
    )


def _areas() -> list[tuple[str, str]]:
    places = get_gazetteer()
    found = [(code, code) for code in places.oblasts]
    for district in places.districts:
        found.append((district.code, district.name("ru")))
        found.extend((m.code, f"— {m.name('ru')}") for m in places.municipalities[district.code])
    return found


def _poll_page(
    request: Request, session: Session, ctx: Context, user: StaffUser, poll: Poll | None, status_code: int = 200
) -> HTMLResponse:
    questions = service.questions_of(session, poll.id or 0) if poll else []
    return render(
        request,
        "poll.html",
        user,
        status_code=status_code,
        poll=poll,
        questions=questions,
        preview=jobs.preview(session, ctx, poll) if poll else None,
        polls=[p for p in service.polls_page(session) if poll is None or p.id != poll.id],
        areas=_areas(),
        poll_languages=LANGUAGES,
        label=service.choice_label,
        local_day=ctx.local_day,
        one_day=timedelta(days=1),
    )


@router.get("/polls", response_class=HTMLResponse)
def polls_page(request: Request, session: SessionDep, user: PollStaff) -> HTMLResponse:
    """Every poll with its state, and the form for a new one."""
    return render(request, "polls.html", user, polls=service.polls_page(session), areas=_areas())


@router.post("/polls", dependencies=[CsrfChecked], response_model=None)
def create_poll(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: PollStaff,
    name: Annotated[str, Form(max_length=200)],
    starts: Annotated[str, Form(max_length=20)],
    ends: Annotated[str, Form(max_length=20)],
    keyword: Annotated[str, Form(max_length=40)] = "",
    audience: Annotated[str, Form(max_length=16)] = "",
    area: Annotated[str, Form(max_length=32)] = "",
    languages: Annotated[list[str] | None, Form()] = None,
    keep: Annotated[str, Form(max_length=8)] = "latest",
    baseline: Annotated[str, Form(max_length=12)] = "",
) -> RedirectResponse:
    """A new draft poll; its questions are added on its page."""
    form = _form(name, keyword, starts, ends, audience, area, languages or [], keep, baseline)
    try:
        poll = service.save_poll(session, ctx, user, form, utcnow(), None)
    except service.PollRefused as refused:
        session.rollback()
        flash(request, "error", refused.text(user.ui_language))
        return back("/admin/polls")
    session.commit()
    return back(f"/admin/polls/{poll.id}")


@router.get("/polls/{poll_id}", response_class=HTMLResponse)
def poll_page(request: Request, session: SessionDep, ctx: ContextDep, user: PollStaff, poll_id: RowId) -> HTMLResponse:
    """A poll: its settings and questions (editable while a draft), what starting it sends, start and close."""
    return _poll_page(request, session, ctx, user, _poll(session, poll_id))


@router.post("/polls/{poll_id}", dependencies=[CsrfChecked], response_model=None)
def update_poll(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: PollStaff,
    poll_id: RowId,
    name: Annotated[str, Form(max_length=200)],
    starts: Annotated[str, Form(max_length=20)],
    ends: Annotated[str, Form(max_length=20)],
    keyword: Annotated[str, Form(max_length=40)] = "",
    audience: Annotated[str, Form(max_length=16)] = "",
    area: Annotated[str, Form(max_length=32)] = "",
    languages: Annotated[list[str] | None, Form()] = None,
    keep: Annotated[str, Form(max_length=8)] = "latest",
    baseline: Annotated[str, Form(max_length=12)] = "",
) -> RedirectResponse:
    """Change a draft poll's settings."""
    poll = _poll(session, poll_id)
    form = _form(name, keyword, starts, ends, audience, area, languages or [], keep, baseline)
    return _act(request, session, user, poll, lambda: service.save_poll(session, ctx, user, form, utcnow(), poll))


def _act(
    request: Request, session: Session, user: StaffUser, poll: Poll, action: Callable[[], object]
) -> RedirectResponse:
    try:
        action()
    except service.PollRefused as refused:
        session.rollback()
        flash(request, "error", refused.text(user.ui_language))
    else:
        session.commit()
        flash(request, "ok", translator(user.ui_language)("done.saved"))
    return back(f"/admin/polls/{poll.id}")


@router.post("/polls/{poll_id}/questions", dependencies=[CsrfChecked], response_model=None)
def add_question(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: PollStaff,
    poll_id: RowId,
    kind: Annotated[str, Form(max_length=8)],
    text_ky: Text = "",
    text_ru: Text = "",
    text_uz: Text = "",
    text_en: Text = "",
    choices_ky: Text = "",
    choices_ru: Text = "",
    choices_uz: Text = "",
    choices_en: Text = "",
    synonyms: Text = "",
    correct: Annotated[str, Form(max_length=2)] = "",
    feedback_ky: Text = "",
    feedback_ru: Text = "",
    feedback_uz: Text = "",
    feedback_en: Text = "",
) -> RedirectResponse:
    """Add a question in four languages; refused with each text's segments if one does not fit its budget."""
    poll = _poll(session, poll_id)
    form = service.QuestionForm(
        kind=kind,
        texts={"ky": text_ky, "ru": text_ru, "uz": text_uz, "en": text_en},
        choices={"ky": choices_ky, "ru": choices_ru, "uz": choices_uz, "en": choices_en},
        synonyms=synonyms,
        correct=correct,
        feedback={"ky": feedback_ky, "ru": feedback_ru, "uz": feedback_uz, "en": feedback_en},
    )
    return _act(request, session, user, poll, lambda: service.add_question(session, ctx, poll, form))


@router.post("/polls/{poll_id}/questions/{question_id}/delete", dependencies=[CsrfChecked], response_model=None)
def delete_question(
    request: Request, session: SessionDep, user: PollStaff, poll_id: RowId, question_id: RowId
) -> RedirectResponse:
    """Remove a question of a draft poll."""
    poll = _poll(session, poll_id)
    return _act(request, session, user, poll, lambda: service.delete_question(session, poll, question_id))


@router.post("/polls/{poll_id}/start", dependencies=[CsrfChecked], response_model=None)
def start_poll(request: Request, session: SessionDep, user: PollStaff, poll_id: RowId) -> RedirectResponse:
    """Start a poll (once): its word answers, and its audience's invitations are planned into the outbox."""
    poll = _poll(session, poll_id)
    return _act(request, session, user, poll, lambda: service.start_poll(session, poll, utcnow()))


@router.post("/polls/{poll_id}/close", dependencies=[CsrfChecked], response_model=None)
def close_poll(request: Request, session: SessionDep, user: PollStaff, poll_id: RowId) -> RedirectResponse:
    """Close a poll now."""
    poll = _poll(session, poll_id)
    return _act(request, session, user, poll, lambda: service.close_poll(session, poll, utcnow()))


@router.get("/polls/{poll_id}/results", response_class=HTMLResponse)
def results_page(
    request: Request,
    session: SessionDep,
    user: PollStaff,
    poll_id: RowId,
    q: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """Counts and shares per answer, municipality and language, response rate, open answers (searchable), and the
    comparison with the baseline."""
    poll = _poll(session, poll_id)
    language = user.ui_language
    baseline = session.get(Poll, poll.baseline_id) if poll.baseline_id else None
    return render(
        request,
        "poll_results.html",
        user,
        poll=poll,
        results=reports.poll_results(session, poll, language, q),
        baseline=baseline,
        compared=reports.compare(session, baseline, poll, language) if baseline else [],
        q=q,
    )


@router.get("/polls/{poll_id}/results.csv")
def results_csv(
    session: SessionDep,
    ctx: ContextDep,
    user: PollStaff,
    poll_id: RowId,
    part: Annotated[str, Query(max_length=8)] = "",
    sep: Annotated[str, Query(max_length=10)] = "",
) -> StreamingResponse:
    """The counts (small ones as "<5"), or with part=open the open answers; never a number or a contact."""
    poll = _poll(session, poll_id)
    language = user.ui_language
    header: tuple[str, ...] = reports.CSV_HEADER
    rows = list(reports.csv_rows(session, poll, language))
    if part == "open":
        header, rows = reports.OPEN_CSV_HEADER, list(reports.open_csv_rows(session, poll, language, ctx.tz))
    name = f"poll-{poll.id}{'-open' if part == 'open' else ''}.csv"
    return StreamingResponse(
        csv_stream(header, rows, delimiter=delimiter_of(sep)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
