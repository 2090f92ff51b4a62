"""Reference data and the first guess of category and routing."""

from __future__ import annotations

import pytest

from hotline.complaints.categories import get_rules
from hotline.complaints.service import route
from hotline.models import Jurisdiction
from hotline.places import get_gazetteer


def test_batken_reference_data() -> None:
    places = get_gazetteer()
    assert [d.code for d in places.districts] == [
        "batken-rayon",
        "kadamjay-rayon",
        "leilek-rayon",
        "kyzyl-kiya",
        "sulukta",
    ]
    assert len(places.municipalities["batken-rayon"]) == 10
    assert len(places.municipalities["leilek-rayon"]) == 10
    assert places.get("dara") is not None and places.get("dara").needs_review  # type: ignore[union-attr]
    assert places.get("leilek").district == "leilek-rayon"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Дара", "dara"),
        ("кара булак", "kara-bulak"),
        ("Сулюкта", "sulukta"),
        ("Сүлүктү", "sulukta"),
        ("г. Исфана", "isfana"),
        ("TOGUZ-BULAK", "toguz-bulak"),
        ("Тогуз Булак", "toguz-bulak"),
        ("zzz", None),
    ],
)
def test_places_are_found_by_typed_name(typed: str, code: str | None) -> None:
    place = get_gazetteer().find_by_name(typed)
    assert (place.code if place else None) == code


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Аким просил 2000 сом за справку", "bribe"),
        ("Айыл өкмөтүнүн кызматкери пара сурады", "bribe"),
        ("the social worker asked for money to register us", "bribe"),
        ("Мне отказали в пособии, сказали не положено", "excluded"),
        ("пособие не платят уже 3 месяца", "not_paid"),
        ("benefit is late again", "not_paid"),
        ("На меня кричали и оскорбляли в соцзащите", "rude"),
        ("просто вопрос", "other"),
    ],
)
def test_category_is_guessed_from_words(text: str, category: str) -> None:
    assert get_rules().guess(text).code == category


def test_deadlines_default_to_seven_and_twenty_one_days() -> None:
    for category in get_rules().categories.values():
        assert (category.first_answer_days, category.resolution_days) == (7, 21)


def test_routing_keeps_the_accused_municipality_out() -> None:
    rules, places = get_rules(), get_gazetteer()
    dara, sulukta = places.get("dara"), places.get("sulukta")
    assert route(rules, rules.guess("пособие не платят"), "пособие не платят", dara) == (
        Jurisdiction.MUNICIPALITY,
        None,
    )
    assert route(rules, rules.guess("просил деньги"), "просил деньги", dara) == (
        Jurisdiction.DISTRICT,
        "category bribe",
    )
    text = "аким отказал в пособии"
    assert route(rules, rules.guess(text), text, dara) == (Jurisdiction.DISTRICT, "names local staff")
    # A town that is its own district: routed to the oblast.
    assert route(rules, rules.guess("просил деньги"), "просил деньги", sulukta)[0] == Jurisdiction.OBLAST
    assert route(rules, rules.guess("x"), "x", None) == (Jurisdiction.OBLAST, "place unknown")
