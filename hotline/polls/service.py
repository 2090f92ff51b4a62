"""Polls as data: staff define a poll and its questions (four languages, checked against the SMS budget and the
hotline's keywords), start it once and close it; who it reaches (the audience) and what a question costs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func, select

from hotline import keywords
from hotline.content import LANGUAGES, TextTooLong
from hotline.context import Context
from hotline.messaging.routing import reply_number
from hotline.models import Contact, Household, Poll, PollQuestion, PollStatus, StaffUser
from hotline.places import get_gazetteer
from hotline.staff.i18n import Explained

KINDS = ("choice", "open")
AUDIENCES = ("", "households", "phones")
KEEP = ("latest", "first")
MAX_CHOICES = 9  # one digit answers every choice
MAX_TEXT = 400  # a question or label longer than this cannot fit any budget: refused before rendering
# The texts a question is sent in; each must fit its budget in every language (message_templates/budgets.toml).
QUESTION_TEMPLATES = ("polls/question", "polls/invitation", "polls/retry")


class PollRefused(Explained):
    """A poll or question staff cannot save or start, with the reason in the interface language."""


@dataclass(frozen=True)
class PollForm:
    """What the poll form sends, as typed."""

    name: str
    keyword: str = ""
    starts: str = ""  # YYYY-MM-DD, local days, both inclusive
    ends: str = ""
    audience: str = ""
    area_code: str = ""
    languages: tuple[str, ...] = ()
    keep: str = "latest"
    baseline_id: int | None = None


@dataclass(frozen=True)
class QuestionForm:
    """What the question form sends: per language the question, its choices one per line, and quiz feedback."""

    kind: str
    texts: dict[str, str]
    choices: dict[str, str]  # language -> lines
    synonyms: str = ""  # one line per choice, words separated by commas, in any language and script
    correct: str = ""  # a quiz: the right choice's number
    feedback: dict[str, str] | None = None


def keyword_key(word: str) -> str:
    """The form of a poll keyword that messages are compared with: one skeleton in any script (КВИЗ = kviz)."""
    return keywords.skeleton(word.strip())


def _local_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PollRefused("poll_date", field=field) from None


def save_poll(
    session: Session, ctx: Context, user: StaffUser, form: PollForm, now: datetime, poll: Poll | None
) -> Poll:
    """Create a poll or change a draft; PollRefused says what to fix."""
    if poll is not None and poll.status != PollStatus.DRAFT:
        raise PollRefused("poll_not_draft")
    name = form.name.strip()
    if not name or len(name) > 120:
        raise PollRefused("poll_name")
    first, last = _local_day(form.starts, "starts"), _local_day(form.ends, "ends")
    if last < first:
        raise PollRefused("poll_dates")
    word = form.keyword.strip()
    key = keyword_key(word) if word else None
    if word:
        _check_keyword(session, ctx, word, key or "", poll)
    if form.audience not in AUDIENCES:
        raise PollRefused("poll_audience")
    if not word and not form.audience:
        raise PollRefused("poll_nobody")
    area = form.area_code.strip() or None
    if area is not None and get_gazetteer().area_name(area, "en") == area:
        raise PollRefused("poll_area")
    if not set(form.languages) <= set(LANGUAGES) or form.keep not in KEEP:
        raise PollRefused("poll_audience")
    own = poll is not None and form.baseline_id == poll.id
    if form.baseline_id is not None and (own or session.get(Poll, form.baseline_id) is None):
        raise PollRefused("poll_baseline")
    poll = poll or Poll(name=name, starts_at=now, ends_at=now, created_by_id=user.id, created_at=now)
    poll.name, poll.keyword, poll.keyword_key = name, word.upper() or None, key
    poll.starts_at = datetime.combine(first, time(), ctx.tz)
    poll.ends_at = datetime.combine(last + timedelta(days=1), time(), ctx.tz)
    poll.audience, poll.area_code, poll.languages = form.audience, area, list(form.languages)
    poll.keep, poll.baseline_id = form.keep, form.baseline_id
    session.add(poll)
    session.flush()
    return poll


def _check_keyword(session: Session, ctx: Context, word: str, key: str, poll: Poll | None) -> None:
    # A poll word must never take a message from the hotline's own keywords (a radio quiz called "HELP"), nor from
    # another poll: both would answer the wrong thing.
    if len(word.split()) != 1 or not any(ch.isalpha() for ch in word) or len(word) > 32:
        raise PollRefused("poll_keyword_word")
    hotline = ctx.matcher.match(word).keyword
    if hotline is not None:
        raise PollRefused("poll_keyword_taken", word=word, keyword=hotline)
    other = session.exec(select(Poll).where(Poll.keyword_key == key, col(Poll.id) != (poll.id if poll else -1))).first()
    if other is not None:
        raise PollRefused("poll_keyword_used", word=word, poll=other.name)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def add_question(session: Session, ctx: Context, poll: Poll, form: QuestionForm) -> PollQuestion:
    """Add a question at the end of a draft poll; refused (with each text's segments) if it does not fit."""
    if poll.status != PollStatus.DRAFT:
        raise PollRefused("poll_not_draft")
    if form.kind not in KINDS:
        raise PollRefused("poll_kind")
    texts = {language: " ".join(form.texts.get(language, "").split()) for language in LANGUAGES}
    missing = [language for language, text in texts.items() if not text or len(text) > MAX_TEXT]
    if missing:
        raise PollRefused("poll_question_text", languages=", ".join(missing))
    choices: list[dict[str, Any]] = []
    correct: int | None = None
    if form.kind == "choice":
        labels = {language: _lines(form.choices.get(language, "")) for language in LANGUAGES}
        counts = {len(found) for found in labels.values()}
        if len(counts) != 1 or not 2 <= counts.pop() <= MAX_CHOICES:
            raise PollRefused("poll_choices", most=MAX_CHOICES)
        synonyms = form.synonyms.splitlines()
        for n in range(len(labels["en"])):
            words = [w.strip() for w in (synonyms[n] if n < len(synonyms) else "").split(",") if w.strip()]
            choices.append({"labels": {language: labels[language][n] for language in LANGUAGES}, "synonyms": words})
        if form.correct.strip():
            correct = int(form.correct) if form.correct.strip().isdecimal() else 0
            if not 1 <= correct <= len(choices):
                raise PollRefused("poll_correct", most=len(choices))
    feedback = {language: " ".join((form.feedback or {}).get(language, "").split()) for language in LANGUAGES}
    position = session.exec(select(func.max(PollQuestion.position)).where(PollQuestion.poll_id == poll.id)).one()
    question = PollQuestion(
        poll_id=poll.id or 0,
        position=(position or 0) + 1,
        kind=form.kind,
        texts=texts,
        choices=choices,
        correct=correct,
        feedback={k: v for k, v in feedback.items() if v} if correct else {},
    )
    check_budgets(ctx, question)
    session.add(question)
    session.flush()
    return question


def question_context(question: PollQuestion, language: str) -> dict[str, Any]:
    """What the question, invitation and retry templates are rendered with."""
    return {
        "text": question.texts.get(language) or question.texts.get("ru", ""),
        "choices": [choice_label(choice, language) for choice in question.choices],
        "open": question.kind == "open",
    }


def choice_label(choice: dict[str, Any], language: str) -> str:
    """A choice's label in a language."""
    labels: dict[str, str] = choice["labels"]
    return labels.get(language) or labels.get("ru") or next(iter(labels.values()))


def check_budgets(ctx: Context, question: PollQuestion) -> None:
    """Every text the question goes out in, in every language, within its template's budget; PollRefused names each
    one over it with its segment count."""
    over: list[str] = []
    for language in LANGUAGES:
        context = question_context(question, language)
        for name in QUESTION_TEMPLATES:
            try:
                ctx.texts.render(name, language, reply_to=reply_number(ctx.settings), **context)
            except TextTooLong as exc:
                over.append(f"{language} {name.removeprefix('polls/')}: {exc.segments} > {exc.budget}")
        if question.correct:
            answer = choice_label(question.choices[question.correct - 1], language)
            for right in (False, True):
                text = question.feedback.get(language, "")
                try:
                    ctx.texts.render("polls/feedback", language, right=right, answer=answer, text=text)
                except TextTooLong as exc:
                    over.append(f"{language} feedback: {exc.segments} > {exc.budget}")
                    break
    if over:
        raise PollRefused("poll_too_long", details="; ".join(over))


def questions_of(session: Session, poll_id: int) -> list[PollQuestion]:
    """A poll's questions in order."""
    return list(
        session.exec(select(PollQuestion).where(PollQuestion.poll_id == poll_id).order_by(col(PollQuestion.position)))
    )


def delete_question(session: Session, poll: Poll, question_id: int) -> None:
    """Remove a question of a draft poll; the later ones move up."""
    if poll.status != PollStatus.DRAFT:
        raise PollRefused("poll_not_draft")
    questions = questions_of(session, poll.id or 0)
    kept = [q for q in questions if q.id != question_id]
    for q in questions:
        if q.id == question_id:
            session.delete(q)
    session.flush()
    for position, q in enumerate(kept, start=1):
        if q.position != position:
            q.position = position
            session.add(q)
            session.flush()


def start_poll(session: Session, poll: Poll, now: datetime) -> None:
    """Open a draft poll to answers (and its audience to invitations): once; a second start is refused."""
    locked = session.exec(select(Poll).where(Poll.id == poll.id).with_for_update()).one()
    if locked.status != PollStatus.DRAFT:
        raise PollRefused("poll_started_twice")
    if not questions_of(session, poll.id or 0):
        raise PollRefused("poll_no_questions")
    if locked.ends_at <= now:
        raise PollRefused("poll_over")
    locked.status, locked.started_at = PollStatus.STARTED, now
    session.add(locked)


def close_poll(session: Session, poll: Poll, now: datetime) -> None:
    """Close a poll: answers after this get "the poll has ended", invitations not yet planned are not sent."""
    if poll.status == PollStatus.CLOSED:
        return
    poll.status = PollStatus.CLOSED
    poll.ends_at = min(poll.ends_at, now)
    session.add(poll)


def is_open(poll: Poll, now: datetime) -> bool:
    """Started, not closed, and within its dates."""
    return poll.status == PollStatus.STARTED and poll.starts_at <= now < poll.ends_at


def area_codes(code: str) -> list[str] | None:
    """The municipality codes inside an area (itself included); None for an oblast (every place, and none known)."""
    places = get_gazetteer()
    if code in places.oblasts:
        return None
    return [code, *(m.code for m in places.municipalities.get(code, []))]


def audience_conditions(poll: Poll) -> list[ColumnElement[bool]]:
    """SQL conditions on Contact (Household joined for households) for the phones a poll invites: never one that
    said STOP."""
    conditions: list[ColumnElement[bool]] = [col(Contact.opted_out_at).is_(None)]
    place = col(Household.municipality_code) if poll.audience == "households" else col(Contact.municipality_code)
    codes = area_codes(poll.area_code) if poll.area_code else None
    if codes is not None:
        conditions.append(place.in_(codes))
    if poll.languages:
        conditions.append(col(Contact.language).in_(poll.languages))
    return conditions


def audience_select(poll: Poll, *columns: Any) -> sa.Select[Any]:
    """SELECT columns FROM the poll's audience (contacts, joined to households for an enrolled audience)."""
    query = sa.select(*columns).select_from(Contact)
    if poll.audience == "households":
        query = query.join(Household, col(Household.contact_id) == col(Contact.id))
    return query.where(*audience_conditions(poll))


def polls_page(session: Session) -> list[Poll]:
    """Every poll, newest first."""
    return list(session.exec(select(Poll).order_by(col(Poll.id).desc())))
