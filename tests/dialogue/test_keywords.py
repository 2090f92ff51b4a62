"""Keyword matching forgives what basic-phone typing does to words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.keywords import KeywordMatcher, get_matcher, skeleton, split_first_word
from tests.fuzz.strategies import KEYWORD_ALIASES, fuzz_settings


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


@pytest.mark.parametrize("text", ["hello", "", "   ", "😀😀", "1", "STIP", "ХЕЛЛОУ", "СТОРП ПОЖАЛУЙСТА ОЧЕНЬ", "LAN"])
def test_matches_nothing(text: str) -> None:
    assert get_matcher().match(text).keyword is None


def test_short_keywords_allow_no_typo() -> None:
    # STOP has four letters: one typo away it would catch real words (SHOP, STEP).
    assert get_matcher().match("STEP").keyword is None
    assert get_matcher().match("ЖОИМ").keyword is None
    # Spelled with the other alphabet's letters for the same sounds is no typo: ХЕЛП is HELP, ЖОИН is JOIN.
    assert get_matcher().match("ХЕЛП").keyword == "HELP"
    assert get_matcher().match("ЖОИН").keyword == "JOIN"


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


# Issue #17: Latin spellings, mixed scripts, greetings and filler, natural phrasings.


@pytest.mark.parametrize(
    ("text", "keyword", "language"),
    [
        # Informal and official Latin for Cyrillic keywords (ж j/zh/dj, ш sh/ş, ө o/ö/o', ү u/ü, х h/kh/x ...).
        ("POSOBIE", "BENEFITS", "ru"),
        ("posobie 1", "BENEFITS", "ru"),
        ("jardam", "HELP", "ky"),
        ("zhardam", "HELP", "ky"),
        ("djardam", "HELP", "ky"),
        ("jolokpul", "BENEFITS", "ky"),
        ("jölökpul", "BENEFITS", "ky"),
        ("zho'lo'kpul", "BENEFITS", "ky"),
        ("pomosh", "HELP", "ru"),
        ("pomoshch", "HELP", "ru"),
        ("kattaluu", "JOIN", "ky"),
        ("katalu", "JOIN", "ky"),
        ("ARYZ aksakal akcha surady", "COMPLAINT", "ky"),
        ("ariz", "COMPLAINT", "ky"),
        ("ariza pul so'radi", "COMPLAINT", "uz"),  # the Uzbek word for a petition, not the Kyrgyz АРЫЗ
        ("ZHALOBA akim prosil dengi", "COMPLAINT", "ru"),
        ("teksher", "CHECK", "ky"),
        ("toktot", "STOP", "ky"),
        ("tohtat", "STOP", "uz"),
        ("xavf", "DANGER", "uz"),
        ("khavf", "DANGER", "uz"),
        ("korkunuch", "DANGER", "ky"),
        ("korkunuç", "DANGER", "ky"),
        ("shikoyat", "COMPLAINT", "uz"),
        ("şikoyat", "COMPLAINT", "uz"),
        ("podpiska", "JOIN", "ru"),
        ("rodila", "BORN", "ru"),
        ("törödüm", "BORN", "ky"),
        ("jogotuu", "LOSS", "ky"),
        ("yazyk", "LANG", "ru"),
        ("jazyk", "LANG", "ru"),
        ("proverka", "CHECK", "ru"),
        ("opasnost", "DANGER", "ru"),
        ("srochno", "DANGER", "ru"),
        ("bashta", "START", "ky"),
        ("start", "START", "en"),
        # Both scripts inside one word.
        ("жardam", "HELP", "ky"),
        ("POSОБИЕ", "BENEFITS", "ru"),
        ("zhалоба", "COMPLAINT", "ru"),
        # Inflected forms.
        ("жалобу", "COMPLAINT", "ru"),
        ("пособия", "BENEFITS", "ru"),
        ("пособию", "BENEFITS", "ru"),
        ("жардамга", "HELP", "ky"),
        ("арызым бар", "COMPLAINT", "ky"),
        # Greetings and filler before the keyword, in four languages and both scripts.
        ("salam ПОСОБИЕ керек", "BENEFITS", "ru"),
        ("салам, пособие керек", "BENEFITS", "ru"),
        ("Саламатсызбы! Мага жардам керек", "HELP", "ky"),
        ("Здравствуйте! Мне нужна помощь", "HELP", "ru"),
        ("assalomu alaykum, menga yordam kerak", "HELP", "uz"),
        ("Ассалому алайкум нафака керак", "BENEFITS", "uz"),
        ("hello, I need help please", "HELP", "en"),
        ("privet pomosh nuzhna", "HELP", "ru"),
        ("мен пособие алгым келет", "BENEFITS", "ru"),
        ("жалобу хочу написать", "COMPLAINT", "ru"),
        ("хочу подать жалобу", "COMPLAINT", "ru"),
        # Natural phrasings of the main intents.
        ("как получить детские", "BENEFITS", "ru"),
        ("больше не пишите", "STOP", "ru"),
        ("не присылайте мне ничего", "STOP", "ru"),
        ("отписаться", "STOP", "ru"),
        ("мага жазбагыла", "STOP", "ky"),
        ("снова присылайте", "START", "ru"),
        ("qayta boshlash", "START", "uz"),
    ],
)
def test_matches_in_every_script_and_after_greetings(text: str, keyword: str, language: str) -> None:
    match = get_matcher().match(text)
    assert match.keyword == keyword, text
    assert language in match.languages, (text, match.languages)


@pytest.mark.parametrize(
    "text",
    [
        "salam",
        "Саламатсызбы!",
        "здравствуйте здравствуйте здравствуйте здравствуйте здравствуйте здравствуйте",
        "балам ооруп жатат жардам керек",  # the first word that is no filler decides: no keyword here
        "пишите",
        "...",
        "hello hello hello hello hello hello hello help",  # a keyword only among the first few words
        "payment",
        "menu1menu2",
    ],
)
def test_greetings_alone_or_words_that_are_no_keyword_match_nothing(text: str) -> None:
    assert get_matcher().match(text).keyword is None


def test_latin_kyrgyz_spelling_is_kyrgyz_only() -> None:
    # TEKSHIR is Uzbek, TEKSHER Kyrgyz: a Kyrgyz phone's `teksher` must not be read as Uzbek.
    assert get_matcher().match("teksher").languages == ("ky",)
    assert get_matcher().match("tekshir").languages == ("uz",)


def test_words_after_a_keyword_found_after_greetings_are_the_rest() -> None:
    match = get_matcher().match("Здравствуйте, ЖАЛОБА аким просил 2000 сом")
    assert (match.keyword, match.rest) == ("COMPLAINT", "аким просил 2000 сом")
    assert get_matcher().match("salam posobie 2").rest == "2"


@pytest.mark.parametrize(
    ("rest", "filler"),
    [
        ("хочу написать", True),
        ("керек", True),
        ("алгым келет", True),
        ("please", True),
        ("", True),
        ("аким просил деньги", False),
        ("payment late", False),
        ("2", False),
    ],
)
def test_a_rest_of_only_filler_is_told_apart(rest: str, filler: bool) -> None:
    assert get_matcher().only_filler(rest) is filler


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("russkiy", "ru"),
        ("russkii", "ru"),
        ("на русском", "ru"),
        ("kyrgyzcha", "ky"),
        ("kirgizcha", "ky"),
        ("qirg'izcha", "ky"),
        ("uzbekcha", "uz"),
        ("ozbekcha", "uz"),
        ("orusça", "ru"),
        ("angliyskiy", "en"),
    ],
)
def test_language_answers_in_latin(text: str, language: str) -> None:
    assert get_matcher().language(text) == language


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        ("jardam", "жардам"),
        ("zhardam", "жардам"),
        ("shikoyat", "шикоят"),
        ("o'zbekcha", "ўзбекча"),
        ("chech", "чеч"),
        ("tsentr", "центр"),
        ("yordam", "ёрдам"),
        ("kattaluu", "катталуу"),
        ("xavf", "хавф"),
        ("kyrgyz", "кыргыз"),
        ("russkiy", "русский"),
    ],
)
def test_one_skeleton_for_both_scripts(latin: str, cyrillic: str) -> None:
    assert skeleton(latin) == skeleton(cyrillic)


# How families write each Cyrillic letter in Latin (official Kyrgyz/Uzbek Latin and informal transliteration).
LATIN_VARIANTS = {
    "А": ["a"],
    "Б": ["b"],
    "В": ["v"],
    "Г": ["g"],
    "Ғ": ["g'", "gh", "g"],
    "Д": ["d"],
    "Е": ["e"],
    "Ё": ["yo", "jo"],
    "Ж": ["j", "zh", "dj"],
    "З": ["z"],
    "И": ["i"],
    "Й": ["y", "j"],
    "К": ["k"],
    "Қ": ["q", "k"],
    "Л": ["l"],
    "М": ["m"],
    "Н": ["n"],
    "Ң": ["n", "ñ"],
    "О": ["o"],
    "Ө": ["ö", "o", "o'"],
    "П": ["p"],
    "Р": ["r"],
    "С": ["s"],
    "Т": ["t"],
    "У": ["u"],
    "Ү": ["u", "ü"],
    "Ў": ["o'", "oʻ", "o"],
    "Ф": ["f"],
    "Х": ["h", "kh", "x"],
    "Ҳ": ["h", "x"],
    "Ц": ["ts"],
    "Ч": ["ch", "ç"],
    "Ш": ["sh", "ş"],
    "Щ": ["sh", "shch"],
    "Ъ": ["", "'"],
    "Ы": ["y", "i", "ı"],
    "Ь": [""],
    "Э": ["e"],
    "Ю": ["yu", "ju"],
    "Я": ["ya", "ja"],
}
CYRILLIC_ALIASES = [a for a in KEYWORD_ALIASES if all(ch in LATIN_VARIANTS for ch in a[2])]


@fuzz_settings(300)
@given(alias=st.sampled_from(CYRILLIC_ALIASES), data=st.data())
def test_a_cyrillic_keyword_written_in_any_latin_spelling_or_a_mixture_matches(
    alias: tuple[str, str, str], data: st.DataObject
) -> None:
    keyword, _, spelling = alias
    # Each letter in one of its Latin spellings, or left Cyrillic (both scripts inside one word).
    typed = "".join(data.draw(st.sampled_from([*LATIN_VARIANTS[ch], ch.lower()]), label=ch) for ch in spelling)
    assert get_matcher().match(typed).keyword == keyword, typed


# Bad input (#17): a word in mixed scripts that could spell two keywords, and a Latin word that is a keyword in one
# language and an ordinary word in another.
_LOOKALIKE = dict(zip("ABCEHKMOPTXYАВСЕНКМОРТХУ", "АВСЕНКМОРТХУABCEHKMOPTXY", strict=True))


def _mixtures(spelling: str) -> list[str]:
    """Every way of typing a spelling with either alphabet's look-alike letters (СТОП, CТОП, СTOП, CTOП ...)."""
    typed = [""]
    for ch in spelling.upper():
        typed = [start + letter for start in typed for letter in dict.fromkeys((ch, _LOOKALIKE.get(ch, ch)))]
    return typed


@pytest.mark.parametrize("alias", KEYWORD_ALIASES, ids=lambda alias: alias[2])
def test_look_alike_letters_never_spell_another_keyword(alias: tuple[str, str, str]) -> None:
    # Р/P, Н/H, В/B, С/C, У/Y look the same and sound different: whichever a phone typed, the word is its own
    # keyword, never a second one (the readings of hotline/keywords.py `_skeletons`).
    keyword, _, spelling = alias
    assert {get_matcher().match(typed).keyword for typed in _mixtures(spelling)} == {keyword}


@pytest.mark.parametrize("glued", ["STOPСТАРТ", "СТОПstart", "stopstart", "TOKTOTБАШТА", "ПОМОЩЬstop", "JOINSTOP"])
def test_two_keywords_typed_as_one_word_are_neither(glued: str) -> None:
    # The second keyword is no ending of the first: a family that typed both gets the menu, not a STOP it may
    # not have meant.
    assert get_matcher().match(glued).keyword is None


@pytest.mark.parametrize("typed", ["chek", "чек", "Чек не дали", "chek bermadi", "chekka"])
def test_a_word_that_only_sounds_like_an_english_keyword_tells_no_language(typed: str) -> None:
    # чек/chek is a receipt in Russian and Uzbek (chekka: an edge): it sounds like CHECK, which English spells
    # otherwise, so it is read as CHECK in the phone's own language, not as English.
    match = get_matcher().match(typed)
    assert (match.keyword, match.languages) == ("CHECK", ())


@pytest.mark.parametrize("typed", ["CHECK", "check", "Check please", "joining", "HELР"])
def test_an_english_keyword_spelled_in_english_is_english(typed: str) -> None:
    assert get_matcher().match(typed).languages == ("en",)
