"""Content staff's pages (#21 points 1-2): edit a text or a programme's rules as a new version, preview and compare
it, approve another's figures; export texts for review and import them back; what is untranslated or unreviewed."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi import Path as UrlPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hotline.content import LANGUAGES
from hotline.context import Context, ContextDep
from hotline.db import SessionDep
from hotline.editorial import service, translations
from hotline.editorial.samples import sample_contexts
from hotline.editorial.service import ContentRefused
from hotline.models import RevisionKind, StaffUser, utcnow
from hotline.staff.i18n import translator
from hotline.staff.web import ContentStaff, CsrfChecked, RowId, back, flash, render

router = APIRouter(prefix="/admin/edit")
MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # a spreadsheet of every text in four languages is about 100 KB
Name = Annotated[str, Query(max_length=120, pattern=r"^[a-z0-9_/]+$")]
Language = Annotated[str, Query(max_length=2)]
FormDay = Annotated[date, Form()]
FormText = Annotated[str, Form(max_length=service.MAX_BODY)]
FormSource = Annotated[str, Form(max_length=500)]


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, ctx: ContextDep, user: ContentStaff) -> HTMLResponse:
    """Programmes, texts by language with what is untranslated or unreviewed, changes waiting for approval."""
    day = ctx.local_day(utcnow())
    return render(
        request,
        "edit_overview.html",
        user,
        programmes=ctx.catalogue.listing(day) or [],
        all_programmes=_programme_ids(ctx),
        names=service.text_names(ctx, translations.SOURCE_LANGUAGE),
        languages=LANGUAGES,
        gaps=translations.untranslated(ctx),
        pending=service.pending(session),
        recent=service.recent(session),
    )


def _programme_ids(ctx: Context) -> list[str]:
    return sorted({v.id for v in ctx.catalogue.all_versions()})


def _text_page(
    request: Request,
    ctx: Context,
    user: StaffUser,
    name: str,
    language: str,
    *,
    body: str | None = None,
    effective_from: date | None = None,
    source: str = "",
    note: str = "",
    error: str = "",
    preview: bool = False,
) -> HTMLResponse:
    if language not in LANGUAGES or name not in service.text_names(ctx, language):
        raise HTTPException(404, "No such text")
    now = utcnow()
    old = service.current_source(ctx, name, language)
    draft = old if body is None else body
    day = effective_from or ctx.local_day(now)
    previews: list[service.Preview] = []
    if preview and not error:
        previews = service.check_source(ctx, name, language, draft, old, max(day, ctx.local_day(now)))[:3]
    return render(
        request,
        "edit_text.html",
        user,
        status_code=422 if error else 200,
        text_name=name,
        language=language,
        body=draft,
        effective_from=day,
        source=source,
        note=note,
        error=error,
        previews=previews,
        others=[
            service.render_source(ctx, name, lang, service.current_source(ctx, name, lang), _sample(ctx, name, day))
            for lang in LANGUAGES
            if lang != language
        ],
        diff=service.text_diff(old, draft) if body is not None else [],
        budget=None if service.is_voice(name) else ctx.texts.budget(name),
    )


def _sample(ctx: Context, name: str, day: date) -> dict[str, object]:
    return (sample_contexts(ctx.catalogue, day).get(name) or [{}])[0]


@router.get("/text", response_class=HTMLResponse)
def text_form(request: Request, ctx: ContextDep, user: ContentStaff, name: Name, language: Language) -> HTMLResponse:
    """A text in force, to change as a new version."""
    return _text_page(request, ctx, user, name, language)


@router.post("/text", dependencies=[CsrfChecked], response_model=None)
def text_save(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    user: ContentStaff,
    name: Annotated[str, Form(max_length=120)],
    language: Annotated[str, Form(max_length=2)],
    body: FormText,
    effective_from: FormDay,
    source: FormSource = "",
    note: FormSource = "",
    action: Annotated[str, Form(max_length=10)] = "save",
) -> Response:
    """Preview the new version (rendered in four languages, diff), or save it: at once, or for approval."""
    page = partial(
        _text_page,
        request,
        ctx,
        user,
        name,
        language,
        body=body,
        effective_from=effective_from,
        source=source,
        note=note,
    )
    now = utcnow()
    try:
        if action == "preview":
            return page(preview=True)
        revision = service.prepare_text(
            ctx,
            user,
            name=name,
            language=language,
            body=body,
            effective_from=effective_from,
            source=source,
            note=note,
            now=now,
        )
    except ContentRefused as refused:
        return page(error=refused.text(user.ui_language))
    service.save(session, user, [revision], now)
    return _saved(request, user, revision.id, revision.figures_changed)


def _saved(request: Request, user: StaffUser, revision_id: int | None, waits: bool) -> RedirectResponse:
    flash(request, "ok", translator(user.ui_language)("edit.waits" if waits else "edit.saved"))
    return back(f"/admin/edit/revisions/{revision_id}")


def _programme_page(
    request: Request,
    ctx: Context,
    user: StaffUser,
    programme_id: str,
    *,
    form: dict[str, str] | None = None,
    effective_from: date | None = None,
    source: str = "",
    note: str = "",
    error: str = "",
    preview: bool = False,
) -> HTMLResponse:
    now = utcnow()
    day = effective_from or ctx.local_day(now)
    try:
        current = service.programme_in_force(ctx, programme_id, max(day, ctx.local_day(now)))
    except ContentRefused as refused:
        raise HTTPException(404, "No such programme") from refused
    fields = service.programme_fields(current)
    previews: list[service.Preview] = []
    changes: list[tuple[str, object, object]] = []
    if preview and form is not None and not error:
        _, version = service.prepare_programme(
            ctx, user, programme_id=programme_id, form=form, effective_from=day, source=source, now=now, note=note
        )
        previews = service.programme_previews(ctx, version)
        changes = service.figure_changes(fields, service.programme_fields(version))
    shown = {k: (form or {}).get(k, v) if form is not None else v for k, v in fields.items()}
    return render(
        request,
        "edit_programme.html",
        user,
        status_code=422 if error else 200,
        programme_id=programme_id,
        current=current,
        fields=shown,
        numbers={k for k, v in fields.items() if isinstance(v, int) and not isinstance(v, bool)},
        effective_from=day,
        source=source,
        note=note,
        error=error,
        previews=previews,
        changes=changes,
    )


ProgrammeId = Annotated[str, UrlPath(max_length=60, pattern=r"^[a-z0-9_]+$")]


@router.get("/programmes/{programme_id}", response_class=HTMLResponse)
def programme_form(request: Request, ctx: ContextDep, user: ContentStaff, programme_id: ProgrammeId) -> HTMLResponse:
    """A programme's figures and rules in force, to change as a new version."""
    return _programme_page(request, ctx, user, programme_id)


@router.post("/programmes/{programme_id}", dependencies=[CsrfChecked], response_model=None)
async def programme_save(
    request: Request, session: SessionDep, ctx: ContextDep, user: ContentStaff, programme_id: ProgrammeId
) -> Response:
    """Preview the new version (the programme's SMS in four languages, what changed), or save it."""
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    return await run_in_threadpool(_programme_save, request, session, ctx, user, programme_id, form)


def _programme_save(
    request: Request, session: SessionDep, ctx: Context, user: StaffUser, programme_id: str, form: dict[str, str]
) -> Response:
    now = utcnow()
    source, note = form.get("source", "")[:500], form.get("note", "")[:500]
    try:
        effective_from = date.fromisoformat(form.get("effective_from", ""))
    except ValueError:
        effective_from = ctx.local_day(now)
        form_error = ContentRefused("content_day").text(user.ui_language)
        return _programme_page(request, ctx, user, programme_id, form=form, source=source, note=note, error=form_error)
    page = partial(
        _programme_page,
        request,
        ctx,
        user,
        programme_id,
        form=form,
        effective_from=effective_from,
        source=source,
        note=note,
    )
    try:
        if form.get("action") == "preview":
            return page(preview=True)
        revision, _ = service.prepare_programme(
            ctx,
            user,
            programme_id=programme_id,
            form=form,
            effective_from=effective_from,
            source=source,
            now=now,
            note=note,
        )
    except ContentRefused as refused:
        return page(error=refused.text(user.ui_language))
    service.save(session, user, [revision], now)
    return _saved(request, user, revision.id, revision.figures_changed)


@router.get("/revisions/{revision_id}", response_class=HTMLResponse)
def revision_page(
    request: Request, session: SessionDep, ctx: ContextDep, user: ContentStaff, revision_id: RowId
) -> HTMLResponse:
    """One change: its preview in four languages, what it changes, and approve or refuse while it waits."""
    try:
        revision = service.get_revision(session, revision_id)
    except ContentRefused as refused:
        raise HTTPException(404, "No such change") from refused
    return render(
        request,
        "edit_revision.html",
        user,
        revision=revision,
        is_text=revision.kind == RevisionKind.TEXT,
        **service.revision_view(ctx, revision, utcnow()),
    )


@router.post("/revisions/{revision_id}/{decision}", dependencies=[CsrfChecked])
def revision_decide(
    request: Request,
    session: SessionDep,
    user: ContentStaff,
    revision_id: RowId,
    decision: Annotated[str, UrlPath(pattern="^(approve|refuse)$")],
) -> RedirectResponse:
    """A second person approves a figure's change (never its author), or anyone refuses it."""
    try:
        service.decide(session, user, revision_id, utcnow(), approve=decision == "approve")
    except ContentRefused as refused:
        session.rollback()
        flash(request, "error", refused.text(user.ui_language))
    return back(f"/admin/edit/revisions/{revision_id}")


@router.get("/translations.xlsx")
def translations_xlsx(ctx: ContextDep, user: ContentStaff) -> Response:
    """Every text in every language, for a native reviewer."""
    return Response(
        translations.export_xlsx(ctx),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="hotline-texts.xlsx"'},
    )


@router.get("/translations/{language}.po")
def translations_po(ctx: ContextDep, user: ContentStaff, language: Annotated[str, UrlPath(max_length=2)]) -> Response:
    """One language as a gettext catalogue (msgctxt: the text's name; fuzzy: not reviewed)."""
    if language not in LANGUAGES:
        raise HTTPException(404, "No such language")
    return Response(
        translations.export_po(ctx, language),
        media_type="text/x-gettext-translation; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="hotline-{language}.po"'},
    )


@router.post("/translations", dependencies=[CsrfChecked], response_model=None)
async def translations_import(request: Request, session: SessionDep, ctx: ContextDep, user: ContentStaff) -> Response:
    """A reviewer's XLSX or PO file: every row checked, then every change saved together, or nothing."""
    form = await request.form()
    upload = form.get("file")
    reviewer = form.get("reviewer")
    if upload is None or isinstance(upload, str):
        raise HTTPException(400, "Choose a file")
    data = await upload.read()
    name = (upload.filename or "").lower()
    return await run_in_threadpool(
        _import, request, session, ctx, user, data, name, reviewer if isinstance(reviewer, str) else ""
    )


def _import(
    request: Request, session: SessionDep, ctx: Context, user: StaffUser, data: bytes, name: str, reviewer: str
) -> Response:
    t = translator(user.ui_language)
    try:
        rows = translations.read_po_file(data) if name.endswith(".po") else translations.read_xlsx(data)
        count = translations.apply_review(session, ctx, user, rows, reviewer[:120], utcnow())
    except ContentRefused as refused:
        session.rollback()
        flash(request, "error", t("edit.import_refused", error=refused.text(user.ui_language)))
        return back("/admin/edit")
    flash(request, "ok", t("edit.imported", count=count))
    return back("/admin/edit")
