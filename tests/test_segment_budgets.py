"""What each text may cost (issue #19 points 6 and 7): every SMS template has its own segment budget, declared once
in message_templates/budgets.toml, and fits it in every language with the longest real data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotline.benefits.service import get_catalogue
from hotline.content import LANGUAGES, TextLibrary, TextTooLong, load_budgets
from hotline.dialogue.place_question import MAX_CANDIDATES
from hotline.places import get_gazetteer
from tests.test_templates import TEMPLATES, realistic_contexts

BUDGETS = load_budgets(TEMPLATES)
# What a family pays for most often: the menus, HELP (2 Cyrillic segments) and the language list (1).
MENUS = (
    "help",
    "menu",
    "benefits/list",
    "complaints/ask_district",
    "complaints/ask_municipality",
    "reminders/join_place",
)


def worst_cases(language: str) -> dict[str, list[dict[str, Any]]]:
    """The production contexts of tests/test_templates.py, plus the longest place names of places.toml."""
    contexts = realistic_contexts()
    # The acknowledgement with and without the invitation to name the village.
    contexts["complaints/ack"] = [
        {**context, "village_wanted": wanted} for context in contexts["complaints/ack"] for wanted in (False, True)
    ]
    places = get_gazetteer()
    everywhere = sorted(places.places.values(), key=lambda p: len(p.name(language)), reverse=True)
    villages = [p for p in everywhere if p.district is not None]
    # A name that fits several places is asked about with the candidates listed: the longest ones.
    contexts["complaints/ask_municipality"].append({"district": None, "municipalities": everywhere[:MAX_CANDIDATES]})
    contexts["reminders/volunteer_alert"].append(
        {"place": villages[0].name(language), "phone": "+996555123456", "time": "23:59"}
    )
    return contexts


def test_every_template_declares_its_budget() -> None:
    library = TextLibrary(TEMPLATES, 10)
    templates = set(library.names("en"))
    assert sorted(templates - BUDGETS.keys()) == [], (
        "declare these templates' budgets in message_templates/budgets.toml"
    )
    assert sorted(BUDGETS.keys() - templates) == [], "budgets.toml names templates that do not exist"


def test_menus_and_help_are_budgeted_at_two_segments_and_the_language_list_at_one() -> None:
    assert {name: BUDGETS[name] for name in MENUS} == dict.fromkeys(MENUS, 2)
    assert BUDGETS["lang/list"] == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_fits_its_own_budget(language: str) -> None:
    library = TextLibrary(TEMPLATES, 10)  # the global maximum out of the way: each template's own budget decides
    over = []
    for name in library.names(language):
        for context in worst_cases(language).get(name, [{}]):
            try:
                library.render(name, language, **context)
            except TextTooLong as exc:
                over.append(f"{name}: {exc.segments} > {exc.budget}")
    assert over == []


def test_the_largest_village_menu_lists_every_village_in_two_segments() -> None:
    library = TextLibrary(TEMPLATES, 10)
    places = get_gazetteer()
    largest = max(places.districts, key=lambda d: len(places.municipalities[d.code]))
    for language in LANGUAGES:
        sms = library.render(
            "complaints/ask_municipality",
            language,
            district=largest,
            municipalities=places.municipalities[largest.code],
        )
        assert sms.count.segments <= 2, language
        for number, village in enumerate(places.municipalities[largest.code], start=1):
            assert f"{number} {village.name(language)}" in sms.text, (language, village.code)


def test_a_text_over_its_template_budget_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ru").mkdir()
    (tmp_path / "ru" / "menu.txt.j2").write_text("я" * 71)
    (tmp_path / "ru" / "long.txt.j2").write_text("я" * 71)
    (tmp_path / "budgets.toml").write_text('[segments]\nmenu = 1\n"long" = 3\n')
    with pytest.raises(TextTooLong, match="ru/menu is 2 segments \\(budget 1\\)"):
        TextLibrary(tmp_path, 3).render("menu", "ru")
    assert TextLibrary(tmp_path, 3).render("long", "ru").count.segments == 2
    # The global maximum still caps every template.
    with pytest.raises(TextTooLong, match="budget 1"):
        TextLibrary(tmp_path, 1).render("long", "ru")


# Point 7: wording.


def test_kyrgyz_says_sms_ten() -> None:
    text = TextLibrary(TEMPLATES, 10).render("reminders/join_consent", "ky").text
    assert "SMSтен" in text and "SMS дан" not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_acknowledgement_ends_with_a_full_stop(language: str) -> None:
    library = TextLibrary(TEMPLATES, 10)
    for context in worst_cases(language)["complaints/ack"]:
        assert library.render("complaints/ack", language, **context).text.endswith("."), context


CHECK_WORD = {"ky": "ТЕКШЕР", "ru": "ПРОВЕРКА", "uz": "ТЕКШИРИШ", "en": "CHECK"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_benefit_rules_say_what_the_check_keyword_does(language: str) -> None:
    library = TextLibrary(TEMPLATES, 10)
    for version in get_catalogue().all_versions():
        text = library.render(version.template, language, p=version).text
        assert not text.rstrip(".").endswith(CHECK_WORD[language]), (version.template, text)


# ЕСП spelled out once, where a family first meets it: the programme list.
ESP_IN_FULL = {
    "ky": "ай сайынкы социалдык жөлөкпул",
    "ru": "ежемесячное социальное пособие",
    "uz": "ҳар ойлик ижтимоий нафақа",
    "en": "Monthly social benefit",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_esp_is_spelled_out_in_the_programme_list(language: str) -> None:
    context = realistic_contexts()["benefits/list"][0]
    text = TextLibrary(TEMPLATES, 10).render("benefits/list", language, **context).text
    assert ESP_IN_FULL[language].lower() in text.lower()


def test_russian_texts_name_the_benefit_in_russian() -> None:
    library = TextLibrary(TEMPLATES, 10)
    contexts = worst_cases("ru")
    for name in library.names("ru"):
        for context in contexts.get(name, [{}]):
            text = library.render(name, "ru", **context).text
            assert "Уй-булого" not in text and "комок" not in text, name


# HELP: STOP silences the line (officers' answers too), not only the reminders: "nothing (more) comes".
STOP_SAYS = {
    "ky": ("ТОКТОТ", "эч нерсе"),
    "ru": ("СТОП", "ничего"),
    "uz": ("ТЎХТАТ", "ҳеч нарса"),
    "en": ("STOP", "not even answers"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_help_says_stop_stops_everything(language: str) -> None:
    keyword, answers = STOP_SAYS[language]
    for free in (False, True):
        text = TextLibrary(TEMPLATES, 10).render("help", language, free=free).text
        assert answers in text.split(keyword, 1)[1], text
