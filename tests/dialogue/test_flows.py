"""The conversations a family has with the hotline, through the service and the webhook."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.context import Context
from hotline.models import Contact, Conversation, utcnow
from tests.factories import PHONE, converse, render, text_in

NOON = datetime(2026, 11, 22, 6, 0, tzinfo=datetime.now().astimezone().tzinfo).astimezone()


def contact(session: Session) -> Contact:
    session.expire_all()
    return session.exec(select(Contact)).one()


def test_unknown_message_gets_the_menu_in_the_default_language(session: Session, ctx: Context) -> None:
    assert converse(session, ctx, "салам") == [render(ctx, "menu", "ky")]


def test_reply_comes_in_the_keywords_language_and_is_remembered(session: Session, ctx: Context) -> None:
    assert converse(session, ctx, "ПОМОЩЬ") == [render(ctx, "help", "ru")]
    assert contact(session).language == "ru"
    assert converse(session, ctx, "что это?") == [render(ctx, "menu", "ru")]
    assert converse(session, ctx, "yordam") == [render(ctx, "help", "uz")]
    assert contact(session).language == "uz"


def test_shared_spelling_keeps_the_remembered_language(session: Session, ctx: Context) -> None:
    converse(session, ctx, "ЁРДАМ")
    converse(session, ctx, "ТИЛ")  # both Kyrgyz and Uzbek: stays Uzbek
    assert contact(session).language == "uz"


def test_lang_alone_lists_choices_then_a_number_switches(session: Session, ctx: Context) -> None:
    assert converse(session, ctx, "LANG") == [render(ctx, "lang/list", "en")]
    assert converse(session, ctx, "2") == [render(ctx, "lang/set", "ru")]
    assert contact(session).language == "ru"
    assert converse(session, ctx, "help") == [render(ctx, "help", "en")]


@pytest.mark.parametrize(
    ("text", "language"),
    [("LANG ru", "ru"), ("ТИЛ 3", "uz"), ("язык english", "en"), ("LANG кыргызча", "ky")],
)
def test_lang_with_choice_switches_in_one_message(session: Session, ctx: Context, text: str, language: str) -> None:
    assert converse(session, ctx, text) == [render(ctx, "lang/set", language)]
    assert contact(session).language == language


def test_lang_with_unknown_choice_lists_again(session: Session, ctx: Context) -> None:
    converse(session, ctx, "LANG")
    assert converse(session, ctx, "french") == [render(ctx, "lang/list", "en")]
    assert converse(session, ctx, "4") == [render(ctx, "lang/set", "en")]


def test_a_keyword_interrupts_the_dialogue(session: Session, ctx: Context) -> None:
    converse(session, ctx, "CHECK")
    converse(session, ctx, "5")
    assert converse(session, ctx, "BENEFITS")[0].startswith("Benefits:")
    assert session.exec(select(Conversation)).one().flow == "benefits"
    assert converse(session, ctx, "HELP") == [render(ctx, "help", "en")]
    assert session.exec(select(Conversation)).first() is None


def test_dialogue_expires_after_the_timeout(session: Session, ctx: Context, settings: Settings) -> None:
    start = utcnow()
    converse(session, ctx, "CHECK", now=start)
    converse(session, ctx, "5", now=start + timedelta(minutes=29))
    late = start + timedelta(minutes=29 + settings.conversation_timeout_minutes + 1)
    assert converse(session, ctx, "3", now=late) == [render(ctx, "expired", "en", flow="check")]
    assert session.exec(select(Conversation)).first() is None
    assert converse(session, ctx, "3", now=late) == [render(ctx, "menu", "en")]


def test_each_answer_extends_the_dialogue(session: Session, ctx: Context, settings: Settings) -> None:
    start = utcnow()
    step = timedelta(minutes=settings.conversation_timeout_minutes - 1)
    converse(session, ctx, "CHECK", now=start)
    converse(session, ctx, "5", now=start + step)
    converse(session, ctx, "3", now=start + 2 * step)
    assert "Income per person" in converse(session, ctx, "100", now=start + 3 * step)[0]


def test_two_phones_have_separate_dialogues(session: Session, ctx: Context) -> None:
    other = "+996700111222"
    converse(session, ctx, "CHECK")
    converse(session, ctx, "ПРОВЕРКА", sender=other)
    converse(session, ctx, "4")
    converse(session, ctx, "10", sender=other)
    assert converse(session, ctx, "2")[0].startswith("3 of 3")
    assert converse(session, ctx, "2", sender=other)[0].startswith("3 из 3")


def test_stop_and_start_in_every_language(session: Session, ctx: Context) -> None:
    for stop, start, language in [
        ("STOP", "START", "en"),
        ("СТОП", "СТАРТ", "ru"),
        ("ТОКТОТ", "БАШТА", "ky"),
        ("ТЎХТАТ", "БОШЛАШ", "uz"),
    ]:
        assert converse(session, ctx, stop) == [render(ctx, "stop", language)]
        assert contact(session).opted_out_at is not None
        assert converse(session, ctx, start) == [render(ctx, "start", language)]
        assert contact(session).opted_out_at is None


def test_second_stop_keeps_the_first_opt_out_time(session: Session, ctx: Context) -> None:
    first = utcnow()
    converse(session, ctx, "STOP", now=first)
    converse(session, ctx, "STOP", now=first + timedelta(days=2))
    assert contact(session).opted_out_at == first


def test_opted_out_phone_gets_nothing_until_start(session: Session, ctx: Context) -> None:
    converse(session, ctx, "STOP")
    assert converse(session, ctx, "BENEFITS 3") == []  # stored, but nothing is written to the phone
    assert converse(session, ctx, "hello") == []
    assert converse(session, ctx, "STOP") == [render(ctx, "stop", "en")]  # a repeated STOP is confirmed again
    assert converse(session, ctx, "START") == [render(ctx, "start", "en")]
    assert converse(session, ctx, "BENEFITS 3")[0].startswith("Birth grant")


def test_through_the_webhook_end_to_end(client: TestClient, settings: Settings) -> None:
    assert text_in(client, settings, "Жардам", sender=PHONE)[0] != ""
    listing = text_in(client, settings, "жолокпул")[0]
    assert "1" in listing
    detail = text_in(client, settings, "1")[0]
    assert "1 200" in detail and "1 000" in detail
