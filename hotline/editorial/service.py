"""Staff change texts and programme rules as new versions (#21 point 1): checked, previewed in the four languages,
compared with the version in force, approved by a second person when a figure changes, audited."""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, meta
from jinja2.exceptions import TemplateError
from sqlmodel import Session, col, select

from hotline.benefits.service import ProgrammeVersion
from hotline.content import (
    LANGUAGES,
    TEMPLATE_SUFFIX,
    VOICE_DIR,
    _tidy,  # the layout an SMS gets: a preview must count what is sent
)
from hotline.context import Context
from hotline.db import write_lock
from hotline.editorial.samples import sample_contexts
from hotline.models import ContentRevision, RevisionKind, RevisionStatus, Role, StaffUser
from hotline.overrides import VERSION_FIELDS, OverlaidCatalogue, changed, staff_version
from hotline.segments import count_segments
from hotline.staff.audit import audit
from hotline.staff.i18n import Explained

PAST_LIMIT_DAYS = 7  # a version may start this many days back (a correction), no earlier: answers already went out
APPROVERS = frozenset({Role.CONTENT, Role.ADMIN})
REVIEW_MARK = re.compile(r"\{#\s*needs_review\b.*?#\}[ \t]*\n?", re.S)
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)
_NUMBER = re.compile(r"\d+")
MAX_BODY = 4000


class ContentRefused(Explained):
    """A change refused, with why in the reader's language (`refused.content_*`); nothing is saved."""


@dataclass(frozen=True)
class Preview:
    """One language's text as a family would get it, and what it costs."""

    language: str
    text: str
    segments: int
    budget: int | None  # None: a spoken prompt (no SMS budget)
    error: str = ""

    @property
    def over(self) -> bool:
        return self.budget is not None and self.segments > self.budget


def is_voice(name: str) -> bool:
    """Spoken prompts live under voice/: no SMS budget."""
    return name.startswith(f"{VOICE_DIR}/")


def text_names(ctx: Context, language: str) -> list[str]:
    """Every family-facing template of a language, SMS and spoken."""
    base = ctx.texts.root / language
    return sorted(str(p.relative_to(base)).removesuffix(TEMPLATE_SUFFIX) for p in base.rglob(f"*{TEMPLATE_SUFFIX}"))


def current_source(ctx: Context, name: str, language: str) -> str:
    """The source of a text in force today: what staff changed, else the package's file."""
    env = ctx.texts.speech_env if is_voice(name) else ctx.texts.env
    assert env.loader is not None
    return env.loader.get_source(env, f"{language}/{name}{TEMPLATE_SUFFIX}")[0]


def needs_review(source: str) -> bool:
    """A text still marked `{# needs_review: ... #}` (not read by a native speaker)."""
    return REVIEW_MARK.search(source) is not None


def without_mark(source: str) -> str:
    """The text a reviewer reads: the source without its needs_review comment."""
    return REVIEW_MARK.sub("", source, count=1).strip("\n")


def _environment(ctx: Context, name: str) -> Environment:
    return ctx.texts.speech_env if is_voice(name) else ctx.texts.env


def _figures(text: str) -> Counter[str]:
    return Counter(_NUMBER.findall(REVIEW_MARK.sub("", text)))


def _expressions(env: Environment, source: str) -> set[str]:
    return {" ".join(e.split()) for e in _EXPRESSION.findall(source)}


def render_source(ctx: Context, name: str, language: str, source: str, context: dict[str, Any]) -> Preview:
    """A source (saved or not) rendered as the family gets it, with its segments against the template's budget."""
    env = _environment(ctx, name)
    text = _tidy(env.from_string(source).render(**context))
    if is_voice(name):
        return Preview(language, " ".join(text.splitlines()), 0, None)  # spoken: no SMS to count
    return Preview(language, text, count_segments(text).segments, ctx.texts.budget(name))


def check_source(ctx: Context, name: str, language: str, source: str, old: str, day: date) -> list[Preview]:
    """Refuse a source whose syntax is broken, whose placeholders differ from the version in force, or that does
    not render or fits no budget with realistic data; else its renderings."""
    env = _environment(ctx, name)
    if len(source) > MAX_BODY:
        raise ContentRefused("content_too_long", most=MAX_BODY)
    try:
        parsed = env.parse(source)
    except TemplateSyntaxError as exc:
        raise ContentRefused("content_syntax", line=exc.lineno, error=exc.message or "") from exc
    lost = _expressions(env, old) - _expressions(env, source)
    added = _expressions(env, source) - _expressions(env, old)
    unknown = meta.find_undeclared_variables(parsed) - meta.find_undeclared_variables(env.parse(old))
    if lost or added or unknown:
        changed_ = sorted({*(f"{{{{{e}}}}}" for e in lost | added), *unknown})
        raise ContentRefused("content_placeholders", placeholders=", ".join(changed_))
    previews = []
    for context in sample_contexts(ctx.catalogue, day).get(name, [{}]):
        try:
            preview = render_source(ctx, name, language, source, context)
        except TemplateError as exc:
            raise ContentRefused("content_render", error=str(exc)) from exc
        if preview.over:
            raise ContentRefused(
                "content_over_budget", language=language, segments=preview.segments, budget=preview.budget
            )
        previews.append(preview)
    return previews


def _check_day(ctx: Context, effective_from: date, now: datetime) -> None:
    earliest = ctx.local_day(now) - timedelta(days=PAST_LIMIT_DAYS)
    if effective_from < earliest:
        raise ContentRefused("content_past", days=PAST_LIMIT_DAYS, earliest=earliest.isoformat())


def _settled(revision: ContentRevision, figures_changed: bool, now: datetime) -> ContentRevision:
    # A change to a figure waits for a second person; wording takes effect on its day.
    revision.figures_changed = figures_changed
    revision.status = RevisionStatus.PENDING if figures_changed else RevisionStatus.APPROVED
    revision.decided_at = None if figures_changed else now
    return revision


def prepare_text(
    ctx: Context,
    author: StaffUser | None,
    *,
    name: str,
    language: str,
    body: str,
    effective_from: date,
    source: str,
    now: datetime,
    note: str = "",
    reviewed_by: str | None = None,
) -> ContentRevision:
    """A checked, unsaved new version of a text (ContentRefused says why not)."""
    if language not in LANGUAGES:
        raise ContentRefused("content_language", code=language, languages=", ".join(LANGUAGES))
    if name not in text_names(ctx, language):
        raise ContentRefused("content_unknown_text", name=name)
    body = body.replace("\r\n", "\n").strip("\n")
    old = current_source(ctx, name, language)
    if body == old.strip("\n"):
        raise ContentRefused("content_unchanged")
    _check_day(ctx, effective_from, now)
    check_source(ctx, name, language, body, old, max(effective_from, ctx.local_day(now)))
    figures_changed = _figures(body) != _figures(old)
    if figures_changed and not source.strip():
        raise ContentRefused("content_no_source")
    revision = ContentRevision(
        kind=RevisionKind.TEXT,
        subject=name,
        language=language,
        body=body,
        effective_from=effective_from,
        source=source.strip()[:500],
        note=note.strip()[:500],
        author_id=author.id if author else None,
        created_at=now,
        reviewed_by=reviewed_by,
        status=RevisionStatus.PENDING,
    )
    return _settled(revision, figures_changed, now)


def programme_fields(version: ProgrammeVersion) -> dict[str, Any]:
    """A version's editable fields: its facts, whether it needs review and its template."""
    return {**version.facts, "needs_review": version.needs_review, "template": version.template}


def _parse_fields(current: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"template": current["template"], "needs_review": form.get("needs_review") == "on"}
    for key, old in current.items():
        if key in VERSION_FIELDS:
            continue
        raw = form.get(key, "").strip()
        if isinstance(old, bool):
            fields[key] = raw == "on"
        elif isinstance(old, int):
            if not raw.replace(" ", "").isdecimal() or len(raw) > 12:
                raise ContentRefused("content_number", field=key)
            fields[key] = int(raw.replace(" ", ""))
        else:
            if not raw:
                raise ContentRefused("content_empty", field=key)
            fields[key] = raw[:1000]
    return fields


def programme_in_force(ctx: Context, programme_id: str, day: date) -> ProgrammeVersion:
    """The version of a programme in force on a day (or its first one); ContentRefused for an unknown programme."""
    catalogue = ctx.catalogue
    version = catalogue.in_force(programme_id, day)
    if version is None and isinstance(catalogue, OverlaidCatalogue):
        seeds = catalogue.seed_versions(programme_id)
        version = seeds[0] if seeds else None
    if version is None:
        raise ContentRefused("content_unknown_programme", name=programme_id)
    return version


def figure_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The fields that differ: (name, in force, new)."""
    return [(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def programme_previews(ctx: Context, version: ProgrammeVersion) -> list[Preview]:
    """The programme's text in every language with this version's figures; ContentRefused over the budget."""
    previews = []
    for language in LANGUAGES:
        source = current_source(ctx, version.template, language)
        try:
            preview = render_source(ctx, version.template, language, source, {"p": version})
        except TemplateError as exc:
            raise ContentRefused("content_render", error=str(exc)) from exc
        if preview.over:
            raise ContentRefused(
                "content_over_budget", language=language, segments=preview.segments, budget=preview.budget
            )
        previews.append(preview)
    return previews


def prepare_programme(
    ctx: Context,
    author: StaffUser | None,
    *,
    programme_id: str,
    form: dict[str, str],
    effective_from: date,
    source: str,
    now: datetime,
    note: str = "",
) -> tuple[ContentRevision, ProgrammeVersion]:
    """A checked, unsaved new version of a programme's rules, and the version it would be."""
    current = programme_in_force(ctx, programme_id, max(effective_from, ctx.local_day(now)))
    old = programme_fields(current)
    fields = _parse_fields(old, form)
    changes = figure_changes(old, fields)
    if not changes:
        raise ContentRefused("content_unchanged")
    if not source.strip():
        raise ContentRefused("content_no_source")
    _check_day(ctx, effective_from, now)
    version = staff_version(current, effective_from, source.strip(), fields)
    programme_previews(ctx, version)
    figures_changed = any(
        isinstance(old.get(k), int | float) and not isinstance(old.get(k), bool) for k, _, _ in changes
    )
    revision = ContentRevision(
        kind=RevisionKind.PROGRAMME,
        subject=programme_id,
        body=json.dumps(fields, ensure_ascii=False, sort_keys=True),
        effective_from=effective_from,
        source=source.strip()[:500],
        note=note.strip()[:500],
        author_id=author.id if author else None,
        created_at=now,
        status=RevisionStatus.PENDING,
    )
    return _settled(revision, figures_changed, now), version


def save(session: Session, user: StaffUser | None, revisions: list[ContentRevision], now: datetime) -> None:
    """Store checked revisions, each audited, in one transaction; this process answers with them at once."""
    with write_lock(session):
        for revision in revisions:
            session.add(revision)
            session.flush()
            audit(
                session,
                user,
                "content_approved" if revision.status == RevisionStatus.APPROVED else "content_proposed",
                now,
                revision=revision.id,
                subject=revision.subject,
                language=revision.language or "",
                effective=revision.effective_from.isoformat(),
            )
        session.commit()
    changed()


def get_revision(session: Session, revision_id: int) -> ContentRevision:
    """A revision by id; ContentRefused if there is none."""
    revision = session.get(ContentRevision, revision_id)
    if revision is None:
        raise ContentRefused("content_no_revision")
    return revision


def decide(session: Session, user: StaffUser, revision_id: int, now: datetime, *, approve: bool) -> ContentRevision:
    """Approve (a second person: never the author) or refuse a change waiting for approval; audited."""
    with write_lock(session):
        revision = get_revision(session, revision_id)
        if revision.status != RevisionStatus.PENDING:
            raise ContentRefused("content_not_pending")
        if approve and revision.author_id == user.id:
            raise ContentRefused("content_own_change")
        author = session.get(StaffUser, revision.author_id) if revision.author_id is not None else None
        linked = author is not None and user.id is not None and user.id == author.password_set_by_id
        linked = linked or (author is not None and user.password_set_by_id == author.id)
        if approve and linked:
            # One chose the other's password (an admin who made a content account may have logged in as it): not a
            # second person, as for account requests (staff.accounts.second_person).
            raise ContentRefused("content_linked_account")
        if approve and user.role not in APPROVERS:
            raise ContentRefused("content_not_approver")
        revision.status = RevisionStatus.APPROVED if approve else RevisionStatus.REFUSED
        revision.decided_by_id, revision.decided_at = user.id, now
        session.add(revision)
        audit(
            session,
            user,
            "content_approved" if approve else "content_refused",
            now,
            revision=revision.id,
            subject=revision.subject,
            language=revision.language or "",
            author=revision.author_id,
        )
        session.commit()
    changed()
    return revision


def text_diff(old: str, new: str) -> list[str]:
    """The lines changed, as a unified diff (the version in force first)."""
    return list(difflib.unified_diff(old.splitlines(), new.splitlines(), "in force", "new", lineterm="", n=1))


def revision_view(ctx: Context, revision: ContentRevision, now: datetime) -> dict[str, Any]:
    """What the revision page shows: the previews in four languages and the difference from the version in force."""
    day = max(revision.effective_from, ctx.local_day(now))
    if revision.kind == RevisionKind.PROGRAMME:
        current = programme_in_force(ctx, revision.subject, day)
        fields = json.loads(revision.body)
        version = staff_version(current, revision.effective_from, revision.source, fields)
        previews = [_safe_preview(ctx, version.template, lang, None, {"p": version}) for lang in LANGUAGES]
        return {"previews": previews, "changes": figure_changes(programme_fields(current), fields), "diff": []}
    assert revision.language is not None
    old = current_source(ctx, revision.subject, revision.language)
    context = (sample_contexts(ctx.catalogue, day).get(revision.subject) or [{}])[0]
    previews = [
        _safe_preview(ctx, revision.subject, lang, revision.body if lang == revision.language else None, context)
        for lang in LANGUAGES
    ]
    return {"previews": previews, "changes": [], "diff": text_diff(old, revision.body)}


def _safe_preview(ctx: Context, name: str, language: str, source: str | None, context: dict[str, Any]) -> Preview:
    # A page must show even a language whose text cannot render (say so in place of the text).
    try:
        return render_source(ctx, name, language, source or current_source(ctx, name, language), context)
    except TemplateError as exc:
        return Preview(language, "", 0, None, str(exc))


def pending(session: Session) -> list[ContentRevision]:
    """Changes waiting for a second person, oldest first."""
    query = select(ContentRevision).where(ContentRevision.status == RevisionStatus.PENDING)
    return list(session.exec(query.order_by(col(ContentRevision.id))))


def recent(session: Session, limit: int = 30) -> list[ContentRevision]:
    """The latest changes, newest first."""
    return list(session.exec(select(ContentRevision).order_by(col(ContentRevision.id).desc()).limit(limit)))
