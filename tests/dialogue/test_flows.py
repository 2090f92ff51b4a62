"""The conversations a family has with the hotline, through the service and the webhook."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.benefits.service import Catalogue
from hotline.config import Settings
from hotline.content import LANGUAGES
from hotline.context import Context
from hotline.models import Contact, Conversation, utcnow
from tests.factories import PHONE, converse, text_in

NOON = datetime(2026, 11, 22, 6, 0, tzinfo=datetime.now().astimezone().tzinfo).astimezone()


def render(ctx: Context, name: str, language: str, **context: Any) -> str:
    return ctx.texts.render(name, language, **context).text


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


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_programme_is_two_messages_away_in_every_language(session: Session, ctx: Context, language: str) -> None:
    keyword = {"ky": "ЖӨЛӨКПУЛ", "ru": "ПОСОБИЕ", "uz": "НАФАҚА", "en": "BENEFITS"}[language]
    day = ctx.local_day(utcnow())
    programmes = ctx.catalogue.listing(day)
    assert {p.id for p in programmes} >= {"uy_bulogo_komok", "esp", "balaga_suyunchu"}
    for programme in programmes:
        listing = converse(session, ctx, keyword)
        assert listing == [render(ctx, "benefits/list", language, programmes=programmes)]
        assert converse(session, ctx, str(programme.number)) == [render(ctx, programme.template, language, p=programme)]
        # And in one message, keyword plus number.
        assert converse(session, ctx, f"{keyword} {programme.number}") == [
            render(ctx, programme.template, language, p=programme)
        ]


def test_programme_reply_states_the_figures_in_force(session: Session, ctx: Context) -> None:
    reply = converse(session, ctx, "BENEFITS 1")[0]
    assert "1 200 som/month per child under 16" in reply
    assert "1 000 som per person" in reply
    assert "passport" in reply and "social development office" in reply


def test_wrong_programme_number_lists_the_numbers(session: Session, ctx: Context) -> None:
    converse(session, ctx, "BENEFITS")
    programmes = ctx.catalogue.listing(ctx.local_day(utcnow()))
    assert converse(session, ctx, "9") == [render(ctx, "benefits/unknown", "en", programmes=programmes)]
    assert converse(session, ctx, "what?") == [render(ctx, "benefits/unknown", "en", programmes=programmes)]
    assert converse(session, ctx, "1")[0].startswith("Uy-bulogo komok")


def test_reply_uses_the_version_in_force_on_the_day(session: Session, ctx: Context) -> None:
    data = {
        "programmes": [
            {
                "id": "uy_bulogo_komok",
                "number": 1,
                "versions": [
                    {
                        "effective_from": date(2025, 2, 1),
                        "needs_review": False,
                        "source": "s",
                        "template": "benefits/uy_bulogo_komok",
                        "amount_som": 1200,
                        "gmi_som": 1000,
                        "child_age_limit": 16,
                        "hotline_phone": "1966",
                        "eligibility": "e",
                        "documents": "d",
                        "where": "w",
                        "appeal": "a",
                    },
                    {
                        "effective_from": date(2027, 1, 1),
                        "needs_review": False,
                        "source": "s",
                        "template": "benefits/uy_bulogo_komok",
                        "amount_som": 1500,
                        "gmi_som": 1500,
                        "child_age_limit": 16,
                        "hotline_phone": "1966",
                        "eligibility": "e",
                        "documents": "d",
                        "where": "w",
                        "appeal": "a",
                    },
                ],
            }
        ]
    }
    future_ctx = Context(**{**ctx.__dict__, "catalogue": Catalogue(data)})
    before = converse(session, future_ctx, "BENEFITS 1", now=datetime(2026, 12, 31, 17, 59, tzinfo=ctx.tz))[0]
    # 1 January 2027 00:00 in Bishkek is still 31 December in UTC: the local day decides.
    after = converse(session, future_ctx, "BENEFITS 1", now=datetime(2027, 1, 1, 0, 1, tzinfo=ctx.tz))[0]
    assert "1 200 som" in before and "1 500 som" not in before
    assert "1 500 som/month" in after and "below 1 500 som per person" in after


def test_programme_not_yet_in_force_is_not_listed(ctx: Context) -> None:
    assert "bala_yrysy" not in {p.id for p in ctx.catalogue.listing(date(2026, 6, 30))}
    assert "bala_yrysy" in {p.id for p in ctx.catalogue.listing(date(2026, 7, 1))}


def check_dialogue(session: Session, ctx: Context, answers: list[str]) -> list[list[str]]:
    return [converse(session, ctx, text) for text in ["CHECK", *answers]]


def test_check_likely_eligible_shows_per_person_figure(session: Session, ctx: Context) -> None:
    replies = check_dialogue(session, ctx, ["5", "3", "4 000 som"])
    assert replies[1][0].startswith("2 of 3")
    assert replies[2][0].startswith("3 of 3")
    result = replies[3][0]
    assert "Income per person: 800 som; limit 1 000 som" in result
    assert "LIKELY eligible" in result
    assert "Only the district social development office decides" in result
    assert session.exec(select(Conversation)).first() is None


def test_check_not_eligible_above_the_limit(session: Session, ctx: Context) -> None:
    result = check_dialogue(session, ctx, ["4", "2", "4000"])[3][0]
    assert "Income per person: 1 000 som" in result and "Not likely: income is at or above" in result


def test_check_without_children_is_not_eligible(session: Session, ctx: Context) -> None:
    result = check_dialogue(session, ctx, ["2", "0", "100"])[3][0]
    assert "needs children under 16" in result


def test_check_in_russian(session: Session, ctx: Context) -> None:
    replies = [converse(session, ctx, t) for t in ("ПРОВЕРКА", "6 человек", "4", "3000")]
    assert replies[0][0].startswith("Проверка (1 из 3)")
    assert "Доход на человека 500 сом" in replies[3][0] and "Вероятно, право" in replies[3][0]


def test_check_asks_again_after_a_wrong_answer(session: Session, ctx: Context) -> None:
    replies = check_dialogue(session, ctx, ["many", "0", "5", "7", "2", "a lot", "2500"])
    assert replies[1] == [render(ctx, "check/members", "en", again=True)]
    assert replies[2] == [render(ctx, "check/members", "en", again=True)]  # a household has at least 1
    assert replies[4] == [
        render(
            ctx,
            "check/children",
            "en",
            again=True,
            p=ctx.catalogue.in_force("uy_bulogo_komok", ctx.local_day(utcnow())),
        )
    ]  # 7 children in a household of 5
    assert replies[6] == [render(ctx, "check/income", "en", again=True)]
    assert "Income per person: 500 som" in replies[7][0]


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
