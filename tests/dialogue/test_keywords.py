"""Keyword matching forgives what basic-phone typing does to words."""

from __future__ import annotations

import pytest

from hotline.keywords import KeywordMatcher, get_matcher, split_first_word


@pytest.mark.parametrize(
    ("text", "keyword", "language"),
    [
        # Every keyword named in the issue, in its language.
        ("HELP", "HELP", "en"),
        ("ПОМОЩЬ", "HELP", "ru"),
        ("ЖАРДАМ", "HELP", "ky"),
        ("ЁРДАМ", "HELP", "uz"),
        ("BENEFITS", "BENEFITS", "en"),
        ("ПОСОБИЕ", "BENEFITS", "ru"),
        ("ЖӨЛӨКПУЛ", "BENEFITS", "ky"),
        ("НАФАҚА", "BENEFITS", "uz"),
        ("COMPLAINT", "COMPLAINT", "en"),
        ("ЖАЛОБА", "COMPLAINT", "ru"),
        ("АРЫЗ", "COMPLAINT", "ky"),
        ("ШИКОЯТ", "COMPLAINT", "uz"),
        ("STATUS", "STATUS", "en"),
        ("СТАТУС", "STATUS", "ru"),
        ("JOIN", "JOIN", "en"),
        ("STOP", "STOP", "en"),
        ("СТОП", "STOP", "ru"),
        ("ТОКТОТ", "STOP", "ky"),
        ("ТЎХТАТ", "STOP", "uz"),
        ("START", "START", "en"),
        ("LANG", "LANG", "en"),
        ("CHECK", "CHECK", "en"),
        # Uzbek Latin spellings, with any apostrophe a phone produces.
        ("yordam", "HELP", "uz"),
        ("to'xtat", "STOP", "uz"),
        ("toʻxtat", "STOP", "uz"),
        ("TO’XTAT", "STOP", "uz"),
        # Case, surrounding spaces, punctuation, extra words.
        ("  help  ", "HELP", "en"),
        ("Помощь!!!", "HELP", "ru"),
        ("...stop.", "STOP", "en"),
        ("пособие пожалуйста", "BENEFITS", "ru"),
        ("complaint the akim asked 500 som", "COMPLAINT", "en"),
        # Latin look-alikes inside Cyrillic words and the reverse.
        ("СТOП", "STOP", "ru"),
        ("ЖAЛOБA", "COMPLAINT", "ru"),
        ("CTOП", "STOP", "ru"),
        ("HELР", "HELP", "en"),
        # Kyrgyz/Uzbek letters typed as the nearest Russian letter.
        ("жолокпул", "BENEFITS", "ky"),
        ("нафака", "BENEFITS", "uz"),
        ("тухтат", "STOP", "uz"),
        ("ердам", "HELP", "uz"),
        ("текшеруу", "CHECK", "ky"),
        # One-letter typos in keywords of five letters or more.
        ("BENEFTIS", "BENEFITS", "en"),
        ("benfits", "BENEFITS", "en"),
        ("ПОСОБИК", "BENEFITS", "ru"),
        ("жардaм", "HELP", "ky"),
        ("ЖАЛОЬА", "COMPLAINT", "ru"),
        ("СТАТУЗ", "STATUS", "ru"),
    ],
)
def test_matches_keyword_and_language(text: str, keyword: str, language: str) -> None:
    match = get_matcher().match(text)
    assert match.keyword == keyword
    assert language in match.languages


@pytest.mark.parametrize("text", ["hello", "", "   ", "😀😀", "1", "STIP", "ХЕЛП", "СТОРП ПОЖАЛУЙСТА ОЧЕНЬ", "LAN"])
def test_matches_nothing(text: str) -> None:
    assert get_matcher().match(text).keyword is None


def test_short_keywords_allow_no_typo() -> None:
    # STOP has four letters: one typo away it would catch real words (SHOP, STEP).
    assert get_matcher().match("STEP").keyword is None
    assert get_matcher().match("ЖОИН").keyword is None


def test_words_after_keyword_are_kept() -> None:
    assert get_matcher().match("ПОСОБИЕ 2").rest == "2"
    assert get_matcher().match("LANG2").rest == "2"
    assert split_first_word("  «ЖАЛОБА», аким алды ") == ("ЖАЛОБА", "аким алды")


def test_shared_spelling_reports_every_language() -> None:
    assert set(get_matcher().match("ТИЛ").languages) == {"ky", "uz"}


def test_typo_between_two_keywords_matches_neither() -> None:
    matcher = KeywordMatcher({"A": {"en": ["ABCDE"]}, "B": {"en": ["ABCDF"]}}, {})
    assert matcher.match("ABCDX").keyword is None
    assert matcher.match("ABCDE").keyword == "A"


def test_alias_of_two_keywords_is_refused() -> None:
    with pytest.raises(ValueError, match="alias of both"):
        KeywordMatcher({"A": {"en": ["SAME"]}, "B": {"ru": ["same"]}}, {})


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("1", "ky"),
        ("2", "ru"),
        ("рус", "ru"),
        ("O'zbekcha", "uz"),
        ("ўзбекча", "uz"),
        ("english", "en"),
        ("кыргызча", "ky"),
        ("EN", "en"),
        ("9", None),
        ("french", None),
    ],
)
def test_language_answers(text: str, language: str | None) -> None:
    assert get_matcher().language(text) == language
