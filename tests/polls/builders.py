"""Polls for the tests, built through the same service functions the staff pages call."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from hotline.context import Context
from hotline.models import Jurisdiction, Poll, Role, StaffUser, utcnow
from hotline.polls import service
from tests.staff_pages import make_staff

# A quiz on a danger sign of pregnancy (../shared/DOMAIN.md §2: bleeding is one; call 103).
QUIZ = service.QuestionForm(
    kind="choice",
    texts={
        "ky": "Кош бойлуу кезде кайсы белги коркунучтуу?",
        "ru": "Какой признак при беременности опасен?",
        "uz": "Ҳомиладорликда қайси белги хавфли?",
        "en": "Which sign in pregnancy is dangerous?",
    },
    choices={
        "ky": "Кан кетүү\nЧарчоо",
        "ru": "Кровотечение\nУсталость",
        "uz": "Қон кетиши\nЧарчоқ",
        "en": "Bleeding\nTiredness",
    },
    synonyms="qon, blood, кан\ncharchoq, tired",
    correct="1",
    feedback={"ky": "Дароо 103", "ru": "Сразу звоните 103", "uz": "Дарҳол 103", "en": "Call 103 at once"},
)
OPEN = service.QuestionForm(
    kind="open",
    texts={
        "ky": "Ден соолук боюнча эмнени билгиңиз келет?",
        "ru": "Что вы хотели бы узнать о здоровье?",
        "uz": "Соғлиқ ҳақида нимани билмоқчисиз?",
        "en": "What would you like to know about health?",
    },
    choices={},
)
AWARE = service.QuestionForm(
    kind="choice",
    texts={
        "ky": "Кош бойлуулуктун коркунучтуу белгилерин билесизби?",
        "ru": "Знаете ли вы опасные признаки беременности?",
        "uz": "Ҳомиладорликнинг хавфли белгиларини биласизми?",
        "en": "Do you know the danger signs of pregnancy?",
    },
    choices={"ky": "Ооба\nЖок", "ru": "Да\nНет", "uz": "Ҳа\nЙўқ", "en": "Yes\nNo"},
    synonyms="ooba, ha, da, ok\njoq, net, yoq",
)


def poll_staff(session: Session) -> StaffUser:
    """The admin who runs polls."""
    return make_staff(session, "content", Role.ADMIN, Jurisdiction.OBLAST, "batken")


def make_poll(
    session: Session,
    ctx: Context,
    user: StaffUser,
    questions: list[service.QuestionForm],
    *,
    name: str = "Quiz",
    keyword: str = "",
    audience: str = "",
    keep: str = "latest",
    baseline: int | None = None,
    now: datetime | None = None,
    days: tuple[int, int] = (-1, 30),
    start: bool = True,
) -> Poll:
    """A poll around `now` (from days[0] to days[1], local days), its questions added, started; committed."""
    now = now or utcnow()
    today = ctx.local_day(now)
    form = service.PollForm(
        name=name,
        keyword=keyword,
        starts=(today + timedelta(days=days[0])).isoformat(),
        ends=(today + timedelta(days=days[1])).isoformat(),
        audience=audience,
        keep=keep,
        baseline_id=baseline,
    )
    poll = service.save_poll(session, ctx, user, form, now, None)
    for question in questions:
        service.add_question(session, ctx, poll, question)
    if start:
        service.start_poll(session, poll, now)
    session.commit()
    session.refresh(poll)
    return poll
