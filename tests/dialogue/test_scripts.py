"""What families really type (#17 points 1 and 2): keywords in Latin letters, after greetings, as phrases, and the
precedence of danger signs, dialogue answers, complaint texts and keywords, through the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from hotline.context import Context
from hotline.dialogue.inbound import Handled, Inbound
from hotline.engine import handle
from hotline.models import ComplaintDraft, Contact, Conversation
from tests.factories import OUR_NUMBER, PHONE, new_sid

NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # fixed: no test depends on today's date


def said(session: Session, ctx: Context, body: str, minutes: int = 0) -> Handled:
    """One SMS from the test phone, a few minutes after NOW."""
    return handle(session, ctx, Inbound("twilio", new_sid(), PHONE, OUR_NUMBER, body, NOW + timedelta(minutes=minutes)))


def conversation(session: Session) -> Conversation | None:
    session.expire_all()
    return session.exec(select(Conversation)).first()


def phone_language(session: Session) -> str:
    session.expire_all()
    return session.exec(select(Contact)).one().language


@pytest.mark.parametrize(
    ("body", "keyword", "language"),
    [
        ("POSOBIE", "BENEFITS", "ru"),
        ("jardam", "HELP", "ky"),
        ("zhardam", "HELP", "ky"),
        ("jolokpul", "BENEFITS", "ky"),
        ("pomosh", "HELP", "ru"),
        ("kattaluu", "JOIN", "ky"),
        ("salam ПОСОБИЕ керек", "BENEFITS", "ky"),  # Kyrgyz words around it keep the (default) Kyrgyz
        ("Саламатсызбы! Мага жардам керек", "HELP", "ky"),
        ("как получить детские", "BENEFITS", "ru"),
        ("мен пособие алгым келет", "BENEFITS", "ky"),
        ("Здравствуйте, пособие", "BENEFITS", "ru"),
    ],
)
def test_latin_spellings_and_greetings_reach_the_keyword(
    session: Session, ctx: Context, body: str, keyword: str, language: str
) -> None:
    handled = said(session, ctx, body)
    assert (handled.keyword, handled.language) == (keyword, language)


def test_a_programme_number_after_a_latin_keyword_answers_that_programme(session: Session, ctx: Context) -> None:
    listing = said(session, ctx, "POSOBIE").replies[0]
    assert said(session, ctx, "posobie 1").replies[0] != listing
    assert conversation(session) is None  # answered at once: no list waiting for a number


def test_a_number_inside_a_sentence_is_no_programme_number(session: Session, ctx: Context) -> None:
    listing = said(session, ctx, "ПОСОБИЕ").replies
    assert said(session, ctx, "Пособие по уходу за ребенком до 3 лет").replies == listing


def test_teksher_keeps_a_kyrgyz_phone_kyrgyz(session: Session, ctx: Context) -> None:
    said(session, ctx, "ЖАРДАМ")
    assert said(session, ctx, "teksher").language == "ky"
    assert phone_language(session) == "ky"


def test_latin_complaints_keep_their_text(session: Session, ctx: Context) -> None:
    assert said(session, ctx, "ZHALOBA akim prosil 2000 som").keyword == "COMPLAINT"
    draft = session.exec(select(ComplaintDraft)).one()
    assert draft.text == "akim prosil 2000 som"


def test_the_rest_after_complaint_stays_its_text(session: Session, ctx: Context) -> None:
    assert said(session, ctx, "complaint payment late").keyword == "COMPLAINT"
    assert session.exec(select(ComplaintDraft)).one().text == "payment late"


def test_a_complaint_announced_in_words_asks_for_its_text(session: Session, ctx: Context) -> None:
    handled = said(session, ctx, "жалобу хочу написать")
    assert handled.keyword == "COMPLAINT"
    assert session.exec(select(ComplaintDraft)).first() is None
    flow = conversation(session)
    assert flow is not None and (flow.flow, flow.step) == ("complaint", "text")


def test_a_complaint_text_that_starts_with_a_keywords_word_is_the_text(session: Session, ctx: Context) -> None:
    said(session, ctx, "ЖАЛОБА")
    said(session, ctx, "помощь не дали три месяца", minutes=1)
    assert session.exec(select(ComplaintDraft)).one().text == "помощь не дали три месяца"


def test_status_with_a_reference_stays_status_inside_a_complaint(session: Session, ctx: Context) -> None:
    said(session, ctx, "ЖАЛОБА")
    assert said(session, ctx, "СТАТУС 12345674", minutes=1).keyword == "STATUS"


def test_a_lone_keyword_still_leaves_a_complaint_dialogue(session: Session, ctx: Context) -> None:
    said(session, ctx, "ЖАЛОБА")
    assert said(session, ctx, "ПОСОБИЕ", minutes=1).keyword == "BENEFITS"


@pytest.mark.parametrize("answer", ["родился в марте", "born 2 months ago"])
def test_a_date_answer_with_a_keywords_word_is_the_answer(session: Session, ctx: Context, answer: str) -> None:
    said(session, ctx, "ПОДПИСКА")
    said(session, ctx, "2", minutes=1)  # a child: the next question is its birth date
    handled = said(session, ctx, answer, minutes=2)
    assert handled.keyword != "BORN"
    flow = conversation(session)
    assert flow is None or flow.flow == "join"  # answered or asked again, never dropped for BORN


@pytest.mark.parametrize("stop", ["больше не пишите", "отписаться", "мага жазбагыла", "STOP"])
@pytest.mark.parametrize("start", ["bashta", "снова присылайте", "СТАРТ"])
def test_stop_and_start_in_words(session: Session, ctx: Context, stop: str, start: str) -> None:
    assert said(session, ctx, stop).keyword == "STOP"
    assert said(session, ctx, "ПОСОБИЕ", minutes=1).replies == []  # nothing written after STOP
    handled = said(session, ctx, start, minutes=2)
    assert handled.keyword == "START" and handled.replies
    assert said(session, ctx, "ПОСОБИЕ", minutes=3).replies  # the family is back


@pytest.mark.parametrize(
    "body", ["ЖАРДАМ балам талма кармап жатат", "Помощь! у ребенка судороги", "ПОСОБИЕ ребенок без сознания"]
)
def test_a_danger_sign_comes_before_any_keyword(session: Session, ctx: Context, body: str) -> None:
    assert "103" in said(session, ctx, body).replies[0]


def test_a_danger_sign_comes_before_a_dialogue_answer(session: Session, ctx: Context) -> None:
    said(session, ctx, "CHECK")
    assert "103" in said(session, ctx, "5 у ребенка судороги", minutes=1).replies[0]


def test_a_danger_word_in_a_complaints_text_is_the_text(session: Session, ctx: Context) -> None:
    handled = said(session, ctx, "ЖАЛОБА врач потребовал деньги за анализ крови")
    assert handled.keyword == "COMPLAINT"
    assert not any("103" in reply for reply in handled.replies)


@pytest.mark.parametrize("glued", ["СТОПstart", "STOPСТАРТ"])
def test_two_keywords_in_mixed_scripts_as_one_word_get_the_menu(session: Session, ctx: Context, glued: str) -> None:
    handled = said(session, ctx, glued)
    assert handled.keyword is None and handled.replies == [ctx.texts.render("menu", handled.language).text]
    assert said(session, ctx, "ПОСОБИЕ", minutes=1).replies  # not unsubscribed


@pytest.mark.parametrize(
    ("first", "body", "language"),
    [("ЁРДАМ", "chek bermadi", "uz"), ("ПОМОЩЬ", "Чек не дали", "ru"), ("ЖАРДАМ", "чек", "ky")],
)
def test_a_word_that_sounds_like_an_english_keyword_keeps_the_phones_language(
    session: Session, ctx: Context, first: str, body: str, language: str
) -> None:
    # чек/chek (a receipt in Russian and Uzbek) sounds like CHECK: the self-check starts in the family's language,
    # asking the household's size; no estimate is given from it.
    said(session, ctx, first)
    handled = said(session, ctx, body, minutes=1)
    assert (handled.keyword, handled.language) == ("CHECK", language)
    assert phone_language(session) == language
    flow = conversation(session)
    assert flow is not None and (flow.flow, flow.step) == ("check", "members")
