"""The benefits dialogues a family has: the programme menu and the eligibility self-check (CHECK)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import Session, select

from hotline.benefits.service import Catalogue
from hotline.content import LANGUAGES
from hotline.context import Context
from hotline.models import Conversation, utcnow
from tests.factories import converse, render


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


@pytest.mark.parametrize(
    "income",
    ["айына 5 миң сом", "5 тыс.", "5к", "5 минг", "беш миң", "пять тысяч", "5 000", "5.000", "5000с", "5 ming"],
)
def test_check_reads_thousands_as_families_write_them(session: Session, ctx: Context, income: str) -> None:
    result = check_dialogue(session, ctx, ["5", "3", income])[3][0]
    assert "Income per person: 1 000 som" in result and "Not likely" in result


def test_check_reads_household_numbers_in_words(session: Session, ctx: Context) -> None:
    replies = check_dialogue(session, ctx, ["беш адам", "жок", "1000"])
    assert replies[2][0].startswith("3 of 3") and "needs children under 16" in replies[3][0]


@pytest.mark.parametrize("income", ["3-4 миң", "3000-4000", "5abc", "?!", "31.02", "1.5", "много", "5 человек 3000"])
def test_check_gives_no_estimate_from_a_number_it_is_not_sure_of(session: Session, ctx: Context, income: str) -> None:
    reply = check_dialogue(session, ctx, ["5", "3", income])[3][0]
    assert "Income per person" not in reply and "e.g. " in reply and reply.endswith(render_income(ctx, again=False))
    assert session.exec(select(Conversation)).first() is not None  # still waiting for the amount


def test_check_asks_once_whether_a_tiny_income_meant_thousands(session: Session, ctx: Context) -> None:
    replies = check_dialogue(session, ctx, ["5", "3", "5", "5 миң"])
    assert "5 som a month, or 5 000?" in replies[3][0] and "Income per person" not in replies[3][0]
    assert "Income per person: 1 000 som" in replies[4][0]
    again = check_dialogue(session, ctx, ["5", "3", "50", "50"])  # the same answer twice is what was meant
    assert "Income per person: 10 som" in again[4][0]


def render_income(ctx: Context, again: bool) -> str:
    return render(ctx, "check/income", "en", again=again)
