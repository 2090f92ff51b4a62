"""A radio quiz and an awareness survey answered by SMS through the real Twilio webhook, in every language, with
the bad input of issue #22: an answer that fits no choice, an answer after the end, a keyword inside a poll, STOP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from hotline.config import Settings
from hotline.context import Context
from hotline.models import Contact, Poll, PollAnswer, PollInvitation, PollQuestion, utcnow
from hotline.polls import jobs
from hotline.polls.service import choice_label, close_poll, question_context, questions_of
from tests.factories import render, text_in
from tests.polls.builders import AWARE, OPEN, QUIZ, make_poll, poll_staff

HELLO = {"ky": "ЖАРДАМ", "ru": "ПОМОЩЬ", "uz": "ЁРДАМ", "en": "HELP"}  # sets the phone's language
# How a family of each language names the right answer: by number, by label, by a synonym in the other script.
RIGHT = {"ky": "кан кетүү", "ru": "1", "uz": "qon", "en": "Bleeding!"}


def asked(ctx: Context, question: PollQuestion, language: str) -> str:
    return render(ctx, "polls/question", language, **question_context(question, language))


@pytest.mark.parametrize("language", ["ky", "ru", "uz", "en"])
def test_a_radio_quiz_by_its_word_in_every_language(
    client: TestClient, settings: Settings, session: Session, ctx: Context, language: str
) -> None:
    poll = make_poll(session, ctx, poll_staff(session), [QUIZ, OPEN], keyword="КВИЗ")
    quiz, open_question = questions_of(session, poll.id or 0)
    phone = "+996555000111"
    text_in(client, settings, HELLO[language], phone)
    # The word in Latin letters is the same word.
    assert text_in(client, settings, "kviz", phone) == [asked(ctx, quiz, language)]
    right = render(
        ctx,
        "polls/feedback",
        language,
        right=True,
        answer=choice_label(quiz.choices[0], language),
        text=QUIZ.feedback[language] if QUIZ.feedback else "",
    )
    assert text_in(client, settings, RIGHT[language], phone) == [right, asked(ctx, open_question, language)]
    assert text_in(client, settings, "Про прививки детям", phone) == [render(ctx, "polls/thanks", language)]
    session.expire_all()
    answers = session.exec(select(PollAnswer).order_by(col(PollAnswer.question_id))).all()
    assert [(a.choice, a.correct, a.text, a.language) for a in answers] == [
        (1, True, RIGHT[language], language),
        (None, None, "Про прививки детям", language),
    ]


def test_a_wrong_quiz_answer_gets_the_right_one_with_the_feedback(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    poll = make_poll(session, ctx, poll_staff(session), [QUIZ], keyword="КВИЗ")
    quiz = questions_of(session, poll.id or 0)[0]
    text_in(client, settings, "ПОМОЩЬ")
    text_in(client, settings, "квиз")
    wrong = render(ctx, "polls/feedback", "ru", right=False, answer="Кровотечение", text="Сразу звоните 103")
    assert text_in(client, settings, "усталость") == [wrong, render(ctx, "polls/thanks", "ru")]
    assert quiz.correct == 1


def test_the_quiz_word_with_the_answer_in_one_sms(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    make_poll(session, ctx, poll_staff(session), [QUIZ], keyword="КВИЗ")
    text_in(client, settings, "HELP")
    replies = text_in(client, settings, "KVIZ 1")
    assert replies[0].startswith("Right!") and replies[-1] == render(ctx, "polls/thanks", "en")


def test_an_answer_that_fits_no_choice_is_asked_again_once_then_the_poll_stops(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    poll = make_poll(session, ctx, poll_staff(session), [QUIZ], keyword="КВИЗ")
    quiz = questions_of(session, poll.id or 0)[0]
    text_in(client, settings, "ПОМОЩЬ")
    text_in(client, settings, "КВИЗ")
    retry = render(ctx, "polls/retry", "ru", **question_context(quiz, "ru"))
    assert "1 Кровотечение, 2 Усталость" in retry
    assert text_in(client, settings, "не знаю") == [retry]
    assert text_in(client, settings, "7") == [render(ctx, "polls/gave_up", "ru", keyword="КВИЗ")]
    # The dialogue is over: the next message gets the menu, and nothing was recorded.
    assert text_in(client, settings, "привет") == [render(ctx, "menu", "ru")]
    assert session.exec(select(PollAnswer)).all() == []


def test_two_choices_named_at_once_are_no_answer(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    poll = make_poll(session, ctx, poll_staff(session), [AWARE], keyword="SURVEY")
    question = questions_of(session, poll.id or 0)[0]
    text_in(client, settings, "HELP")
    text_in(client, settings, "survey")
    assert text_in(client, settings, "yes no") == [render(ctx, "polls/retry", "en", **question_context(question, "en"))]
    assert text_in(client, settings, "ha") == [render(ctx, "polls/thanks", "en")]


def test_an_answer_after_the_end_date_is_told_the_poll_has_ended(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    poll = make_poll(session, ctx, poll_staff(session), [QUIZ, OPEN], keyword="КВИЗ")
    text_in(client, settings, "ПОМОЩЬ")
    text_in(client, settings, "КВИЗ")
    close_poll(session, poll, utcnow())  # staff close it while the family is answering
    session.commit()
    assert text_in(client, settings, "1") == [render(ctx, "polls/ended", "ru")]
    assert text_in(client, settings, "КВИЗ") == [render(ctx, "polls/ended", "ru")]
    assert session.exec(select(PollAnswer)).all() == []


def test_a_poll_not_started_yet_says_when(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    poll = make_poll(session, ctx, poll_staff(session), [QUIZ], keyword="КВИЗ", days=(3, 10))
    text_in(client, settings, "HELP")
    day = ctx.local_day(poll.starts_at)
    assert text_in(client, settings, "kviz") == [render(ctx, "polls/not_started", "en", day=day)]


def test_a_keyword_interrupts_a_poll_and_stop_works(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    make_poll(session, ctx, poll_staff(session), [QUIZ, OPEN], keyword="КВИЗ")
    text_in(client, settings, "ПОМОЩЬ")
    text_in(client, settings, "КВИЗ")
    benefits = text_in(client, settings, "ПОСОБИЕ")
    assert benefits and "Кровотечение" not in benefits[0]
    text_in(client, settings, "КВИЗ")
    assert text_in(client, settings, "СТОП") == [render(ctx, "stop", "ru")]
    assert text_in(client, settings, "1") == []  # after STOP nothing is written to the phone
    assert session.exec(select(PollAnswer)).all() == []


def test_a_poll_word_never_takes_a_complaints_text(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    make_poll(session, ctx, poll_staff(session), [QUIZ], keyword="КВИЗ")
    text_in(client, settings, "ЖАЛОБА")
    replies = text_in(client, settings, "квиз по радио обещал приз, но его не дали")
    assert all("Кровотечение" not in r and "Кан кетүү" not in r for r in replies)


@pytest.mark.parametrize("keep, counted", [("latest", 2), ("first", 1)])
def test_one_answer_per_phone_per_question(
    client: TestClient, settings: Settings, session: Session, ctx: Context, keep: str, counted: int
) -> None:
    make_poll(session, ctx, poll_staff(session), [QUIZ], keyword="КВИЗ", keep=keep)
    for answer in ("1", "2"):
        text_in(client, settings, "КВИЗ")
        text_in(client, settings, answer)
    answers = session.exec(select(PollAnswer)).all()
    assert [a.choice for a in answers] == [counted]


@pytest.mark.parametrize("language", ["ky", "ru", "uz", "en"])
def test_an_awareness_survey_by_invitation_in_every_language(
    client: TestClient, settings: Settings, session: Session, ctx: Context, language: str
) -> None:
    phone = "+996555000222"
    text_in(client, settings, HELLO[language], phone)  # the phone is known to the hotline, in its language
    poll = make_poll(session, ctx, poll_staff(session), [AWARE, QUIZ], name="Baseline", audience="phones")
    aware, quiz = questions_of(session, poll.id or 0)
    report = jobs.plan_invitations(session, ctx, utcnow())
    session.commit()
    assert report.invited == 1
    invitation = session.exec(select(PollInvitation)).one()
    from hotline.models import OutboundMessage

    sms = session.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key == invitation.outbound_key)).one()
    context = question_context(aware, language)
    assert sms.body == render(ctx, "polls/invitation", language, reply_to=None, **context)
    assert sms.purpose == "poll" and sms.language == language
    # The family answers whenever it reads it, without a keyword: the next question follows.
    assert text_in(client, settings, "ooba" if language == "ky" else "1", phone) == [asked(ctx, quiz, language)]
    assert text_in(client, settings, "1", phone)[-1] == render(ctx, "polls/thanks", language)
    # Done: the next message is the hotline's menu again.
    assert text_in(client, settings, "salam", phone) == [render(ctx, "menu", language)]
    session.expire_all()
    answers = session.exec(select(PollAnswer)).all()
    assert [(a.choice, a.invited) for a in answers] == [(1, True), (1, True)]


def test_an_invited_phone_answering_after_the_end_is_told_once(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    text_in(client, settings, "HELP")
    poll = make_poll(session, ctx, poll_staff(session), [AWARE], audience="phones")
    jobs.plan_invitations(session, ctx, utcnow())
    close_poll(session, session.get(Poll, poll.id) or poll, utcnow())
    session.commit()
    assert text_in(client, settings, "yes") == [render(ctx, "polls/ended", "en")]
    assert text_in(client, settings, "yes") == [render(ctx, "menu", "en")]
    assert session.exec(select(Contact)).one().opted_out_at is None
