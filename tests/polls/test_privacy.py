"""Poll answers and privacy (#22): their words go with messages' bodies, an erased phone's answers stay counted but
lead nowhere, and a contact that answered a poll is never forgotten as unused."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.models import Contact, PollAnswer, utcnow
from hotline.privacy.jobs import enforce_retention
from hotline.privacy.service import erase_family
from tests.factories import converse
from tests.polls.builders import OPEN, QUIZ, make_poll, poll_staff


def test_answer_texts_are_blanked_with_old_messages_and_the_choices_stay(session: Session, ctx: Context) -> None:
    then = utcnow() - timedelta(days=ctx.settings.message_retention_days + 1)
    make_poll(session, ctx, poll_staff(session), [QUIZ, OPEN], keyword="КВИЗ", now=then, days=(-1, 400))
    for body in ("ПОМОЩЬ", "КВИЗ", "1", "Мой сосед болеет"):
        converse(session, ctx, body, now=then)
    session.commit()
    report = enforce_retention(session, ctx, utcnow())
    assert report.poll_answers == 2 and report
    answers = session.exec(select(PollAnswer).order_by(col(PollAnswer.question_id))).all()
    assert [(a.choice, a.text) for a in answers] == [(1, ""), (None, "")]
    assert enforce_retention(session, ctx, utcnow()).poll_answers == 0


def test_an_erased_phones_answers_stay_counted_without_a_link(session: Session, ctx: Context) -> None:
    make_poll(session, ctx, poll_staff(session), [QUIZ], keyword="КВИЗ")
    for body in ("КВИЗ", "1"):
        converse(session, ctx, body)
    session.commit()
    contact = session.exec(select(Contact)).one()
    erase_family(session, ctx, contact, utcnow(), operator="test", reason="asked")
    session.commit()
    answer = session.exec(select(PollAnswer)).one()
    assert (answer.choice, answer.contact_id, answer.text) == (1, None, "")
    assert session.exec(select(Contact)).all() == []
