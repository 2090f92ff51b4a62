"""Danger signs as families text them (issue #17 point 6): every WHO sign of ../shared/DOMAIN.md §2 in Kyrgyz,
Russian, Uzbek and English, in Cyrillic and Latin letters, in everyday words and inflected forms; and ordinary
benefit or complaint texts that must not be taken for one. A false positive answers "go to a facility / call 103";
a false negative can cost a life, so texts about a child or a pregnancy lean to danger."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.keywords import KEYWORDS_FILE
from hotline.places import get_gazetteer
from hotline.reminders.dates import WORDS_FILE, has_symptom
from tests.fuzz.strategies import fuzz_settings, nasty_text

# (language-script, sign, text). The sign names are the tables of [danger] in words.toml.
DANGER = [
    # the examples
    ("ky-cyrl", "fever", "бала ысып жатат"),
    ("uz-latn", "bleeding", "qon ketyapti"),
    ("ru-latn", "fever", "u rebenka temperatura 40"),
    ("ky-cyrl", "convulsions", "балам талма кармап жатат"),
    ("ky-cyrl", "convulsions", "ЖАРДАМ балам талма кармап жатат"),
    ("ru-cyrl", "convulsions", "ребенок в судорогах"),
    ("ru-cyrl", "convulsions", "Помощь! ребенок в судорогах"),
    # Kyrgyz, Cyrillic
    ("ky-cyrl", "fever", "Баламдын ысытмасы көтөрүлдү"),
    ("ky-cyrl", "fever", "кызымдын ысыгы 39"),
    ("ky-cyrl", "fever", "уулумдун температурасы бар"),
    ("ky-cyrl", "bleeding", "кош бойлуумун, кан келип жатат"),
    ("ky-cyrl", "bleeding", "төрөгөндөн кийин каным токтобой жатат"),
    ("ky-cyrl", "convulsions", "бала калтырап, колу-буту тартылып жатат"),
    ("ky-cyrl", "unconscious", "бала эсин жоготуп койду"),
    ("ky-cyrl", "unconscious", "наристе ойгонбой жатат"),
    ("ky-cyrl", "breathing", "бала дем ала албай жатат"),
    ("ky-cyrl", "breathing", "баланын деми кысылып, тумчугуп жатат"),
    ("ky-cyrl", "not_feeding", "наристе эмчек эмбей жатат"),
    ("ky-cyrl", "not_feeding", "бала эч нерсе ичпей жатат"),
    ("ky-cyrl", "vomiting", "бала эмне ичсе да кусуп жатат"),
    ("ky-cyrl", "headache", "башым катуу ооруп, көзүм караңгылап жатат"),
    ("ky-cyrl", "belly_pain", "кош бойлуумун, ичим катуу ооруп жатат"),
    ("ky-cyrl", "swelling", "бетим менен бутум шишип кетти"),
    ("ky-cyrl", "waters", "суусу агып кетти, 7 айлык"),
    ("ky-cyrl", "baby_moves", "ичимдеги бала кыймылдабай калды"),
    ("ky-cyrl", "diarrhoea", "баланын ичи өтүп жатат"),
    ("ky-cyrl", "jaundice", "наристе саргайып кетти"),
    # Kyrgyz, Latin
    ("ky-latn", "fever", "bala ysyp jatat"),
    ("ky-latn", "fever", "balamdyn ysytmasy bar"),
    ("ky-latn", "convulsions", "balam talma karmap jatat"),
    ("ky-latn", "bleeding", "kan ketip jatat"),
    ("ky-latn", "breathing", "bala dem ala albay jatat"),
    ("ky-latn", "not_feeding", "emchek embei jatat"),
    ("ky-latn", "vomiting", "balam kusup jatat"),
    ("ky-latn", "unconscious", "bala esin jogotup koydu"),
    ("ky-latn", "swelling", "butum shishti"),
    ("ky-latn", "baby_moves", "bala kyimyldabai kaldy"),
    # Russian, Cyrillic
    ("ru-cyrl", "fever", "у ребенка высокая температура"),
    ("ru-cyrl", "fever", "у дочки жар второй день"),
    ("ru-cyrl", "fever", "малыш весь горячий"),
    ("ru-cyrl", "fever", "у ребенка 39,5"),
    ("ru-cyrl", "bleeding", "кровотечение после родов"),
    ("ru-cyrl", "bleeding", "беременна 7 месяцев, идет кровь"),
    ("ru-cyrl", "bleeding", "мажет кровью, 30 недель"),
    ("ru-cyrl", "not_feeding", "ребенок не берет грудь"),
    ("ru-cyrl", "not_feeding", "малыш не сосёт и не пьёт"),
    ("ru-cyrl", "unconscious", "ребенок потерял сознание"),
    ("ru-cyrl", "unconscious", "сын вялый, не просыпается"),
    ("ru-cyrl", "breathing", "ребенок тяжело дышит"),
    ("ru-cyrl", "breathing", "задыхается, помогите"),
    ("ru-cyrl", "vomiting", "его рвёт после каждого кормления"),
    ("ru-cyrl", "headache", "сильно болит голова и в глазах темнеет"),
    ("ru-cyrl", "belly_pain", "беременна, сильно болит живот"),
    ("ru-cyrl", "swelling", "отекли ноги и лицо"),
    ("ru-cyrl", "waters", "отошли воды"),
    ("ru-cyrl", "baby_moves", "ребенок не шевелится второй день"),
    ("ru-cyrl", "diarrhoea", "у малыша понос с кровью"),
    ("ru-cyrl", "jaundice", "новорожденный пожелтел"),
    ("ru-cyrl", "convulsions", "у сына припадок"),
    # Russian, Latin
    ("ru-latn", "convulsions", "rebenok v sudorogah"),
    ("ru-latn", "bleeding", "krovotechenie posle rodov"),
    ("ru-latn", "breathing", "rebenok ploho dyshit"),
    ("ru-latn", "not_feeding", "malysh ne soset grud"),
    ("ru-latn", "unconscious", "rebenok bez soznaniya"),
    ("ru-latn", "fever", "u dochki zhar"),
    ("ru-latn", "fever", "u syna vysokaya temperatura"),
    ("ru-latn", "vomiting", "rvota u rebenka"),
    ("ru-latn", "belly_pain", "beremennaya, silno bolit zhivot"),
    ("ru-latn", "waters", "otoshli vody"),
    # Uzbek, Cyrillic
    ("uz-cyrl", "bleeding", "қон кетяпти"),
    ("uz-cyrl", "convulsions", "болам тутқаноқ бўлди"),
    ("uz-cyrl", "fever", "боламнинг иситмаси баланд"),
    ("uz-cyrl", "fever", "боланинг ҳарорати 39"),
    ("uz-cyrl", "not_feeding", "чақалоқ эммаяпти"),
    ("uz-cyrl", "breathing", "бола нафас ололмаяпти"),
    ("uz-cyrl", "unconscious", "бола ҳушсиз ётибди"),
    ("uz-cyrl", "belly_pain", "ҳомиладорман, қорним қаттиқ оғрияпти"),
    ("uz-cyrl", "vomiting", "бола қусяпти"),
    ("uz-cyrl", "swelling", "оёқларим шишиб кетди"),
    ("uz-cyrl", "headache", "бошим оғрияпти, кўзим хиралашди"),
    # Uzbek, Latin
    ("uz-latn", "convulsions", "bolam tutqanoq bo'ldi"),
    ("uz-latn", "convulsions", "bola talvasaga tushdi"),
    ("uz-latn", "fever", "bolaning isitmasi bor"),
    ("uz-latn", "fever", "bolaning harorati 39"),
    ("uz-latn", "not_feeding", "chaqaloq emmayapti"),
    ("uz-latn", "breathing", "bola nafas ololmayapti"),
    ("uz-latn", "unconscious", "bola hushini yo'qotdi"),
    ("uz-latn", "belly_pain", "qornim og‘riyapti, homiladorman"),
    ("uz-latn", "vomiting", "bola qusyapti"),
    ("uz-latn", "baby_moves", "homila qimirlamayapti"),
    ("uz-latn", "diarrhoea", "bolaning ichi ketyapti"),
    ("uz-latn", "bleeding", "qon kelyapti, 8 oylik homiladorman"),
    # English
    ("en-latn", "fever", "my baby has a fever"),
    ("en-latn", "fever", "baby is very hot"),
    ("en-latn", "convulsions", "my child is having fits"),
    ("en-latn", "convulsions", "my son had a seizure"),
    ("en-latn", "bleeding", "she is bleeding a lot after the birth"),
    ("en-latn", "not_feeding", "the baby is not breastfeeding"),
    ("en-latn", "unconscious", "my son is unconscious"),
    ("en-latn", "breathing", "baby breathing very fast"),
    ("en-latn", "vomiting", "he is vomiting everything"),
    ("en-latn", "headache", "severe headache and blurred vision"),
    ("en-latn", "belly_pain", "bad stomach pain, 8 months pregnant"),
    ("en-latn", "waters", "my waters broke"),
    ("en-latn", "baby_moves", "the baby is not moving since yesterday"),
]

# (language-script, text): ordinary benefit, complaint and dialogue texts. Choices: a temperature or heat word
# about a place, water or the weather (no child, pregnancy or body named) is not a danger sign; a blood test for a
# certificate is not bleeding; "дем алыш" (a day off) is not breathing.
NOT_DANGER = [
    ("ru-cyrl", "температура в школе"),
    ("ky-cyrl", "мен ысык суу жок"),
    ("ru-cyrl", "в классе холодно, температура 12 градусов"),
    ("ru-cyrl", "горячей воды нет уже неделю"),
    ("ru-cyrl", "нужно сдать анализ крови для справки?"),
    ("ru-cyrl", "нам нужна кровать для ребенка"),
    ("ru-cyrl", "пособие не выплатили уже три месяца"),
    ("ru-cyrl", "как получить детские"),
    ("ru-cyrl", "ребенку 40 дней, как получить суйунчу"),
    ("ru-cyrl", "у меня 4 детей, доход 40 тысяч"),
    ("ru-cyrl", "Соцработник грубо говорил со мной"),
    ("ru-cyrl", "жарко, воды нет"),
    ("ru-cyrl", "ребенок родился 5 марта"),
    ("ru-latn", "posobie ne prishlo uzhe 2 mesyaca"),
    ("ru-latn", "kak poluchit detskie"),
    ("ky-cyrl", "бүгүн аба ысык"),
    ("ky-cyrl", "жөлөкпул качан келет?"),
    ("ky-cyrl", "кандай алсам болот?"),
    ("ky-cyrl", "балама жардам керек"),
    ("ky-cyrl", "дем алыш күнү иштебейт экен"),
    ("ky-cyrl", "эсиңизде болсун, мен арыз жазгам"),
    ("ky-cyrl", "айыл өкмөтү 500 сом сурады"),
    ("ky-cyrl", "балам 40 күндүк"),
    ("ky-cyrl", "бала 3 айлык"),
    ("ky-cyrl", "кан анализ тапшыруу керекпи"),
    ("ky-latn", "jolokpul kachan kelet"),
    ("ky-latn", "mektepte suu jok, ysyk"),
    ("ky-latn", "kandai jardam alsa bolot"),
    ("uz-latn", "issiq suv yo'q"),
    ("uz-latn", "maktabda harorat past"),
    ("uz-latn", "qonun bo'yicha nafaqa qachon beriladi?"),
    ("uz-latn", "nafaqa qachon keladi"),
    ("uz-latn", "boshliq yomon gapirdi"),
    ("uz-cyrl", "нафақа қачон келади?"),
    ("uz-cyrl", "қонун бўйича ёрдам керак"),
    ("uz-cyrl", "бола 2 ёшда"),
    ("en-latn", "the school is too hot"),
    ("en-latn", "complaint payment late"),
    ("en-latn", "the temperature in the office is low"),
    ("en-latn", "no hot water at home"),
    ("en-latn", "I need help with the child benefit"),
    ("en-latn", "the benefit does not fit our family"),
    ("en-latn", "is a blood test needed for the certificate?"),
    ("en-latn", "my baby was born 3 months ago"),
]


# Written after the word lists, to measure them on texts they were not built from (see the report in
# docs/REMINDERS.md for the figures before the few general fixes they led to).
HELD_OUT_DANGER = [
    ("ky-cyrl", "fever", "балам түнү менен ысып чыкты"),
    ("ky-cyrl", "fever", "кызымдын денеси ысып кетти"),
    ("ky-cyrl", "fever", "наристенин ысыгы түшпөй жатат"),
    ("ky-cyrl", "bleeding", "аялым төрөп, каны токтобой жатат"),
    ("ky-cyrl", "not_feeding", "бала эмчек албай ыйлап жатат"),
    ("ky-cyrl", "not_feeding", "бала тамак жебей, суу ичпей калды"),
    ("ky-cyrl", "swelling", "кош бойлуумун, бутум шишип кетти"),
    ("ky-cyrl", "belly_pain", "7 айлык кош бойлуумун, курсагым ооруп жатат"),
    ("ky-latn", "fever", "balam ysytma bolup jatat"),
    ("ky-latn", "vomiting", "bala kusup, ichi otup jatat"),
    ("ky-latn", "bleeding", "kan agyp jatat"),
    ("ky-latn", "unconscious", "balam talyp kaldy"),
    ("ky-latn", "fever", "kyzymdyn temperaturasy 39"),
    ("ru-cyrl", "fever", "у малыша температура 38 и не спадает"),
    ("ru-cyrl", "not_feeding", "сыну 2 месяца, плохо сосет"),
    ("ru-cyrl", "bleeding", "жена беременна, сильное кровотечение"),
    ("ru-cyrl", "vomiting", "ребенка всю ночь рвало"),
    ("ru-cyrl", "breathing", "дочка задыхается от кашля"),
    ("ru-cyrl", "not_feeding", "ребенок не ест второй день и вялый"),
    ("ru-cyrl", "headache", "голова раскалывается, беременна 8 месяцев"),
    ("ru-cyrl", "convulsions", "у ребенка судороги были ночью"),
    ("ru-cyrl", "fever", "малыш горячий как печка"),
    ("ru-latn", "fever", "u syna temperatura 39 i ne padaet"),
    ("ru-latn", "not_feeding", "rebenok ne est i ne pyet"),
    ("ru-latn", "bleeding", "krov idet posle rodov"),
    ("ru-latn", "unconscious", "malysh vyalyi i ne prosypaetsya"),
    ("ru-latn", "convulsions", "u dochki sudorogi"),
    ("uz-cyrl", "fever", "боламнинг иситмаси тушмаяпти"),
    ("uz-cyrl", "fever", "қизимнинг ҳарорати 40"),
    ("uz-cyrl", "not_feeding", "чақалоқ кўкрак эммаяпти"),
    ("uz-cyrl", "bleeding", "хотиним туғгандан кейин қон кетяпти"),
    ("uz-latn", "fever", "bolam isitmalab yotibdi"),
    ("uz-latn", "not_feeding", "chaqaloq sut emmayapti"),
    ("uz-latn", "vomiting", "qizim qusyapti, ichi ketyapti"),
    ("uz-latn", "breathing", "o'g'lim nafas ololmayapti"),
    ("uz-latn", "belly_pain", "homiladorman, qornim qattiq og'riyapti"),
    ("en-latn", "fever", "my daughter has a high temperature"),
    ("en-latn", "vomiting", "baby has been vomiting all night"),
    ("en-latn", "bleeding", "my wife is bleeding heavily"),
    ("en-latn", "not_feeding", "the baby won't feed and is very sleepy"),
    ("en-latn", "convulsions", "child having convulsions"),
    ("en-latn", "jaundice", "newborn is yellow"),
    ("en-latn", "breathing", "my son cannot breathe properly"),
]
HELD_OUT_NOT_DANGER = [
    ("ky-cyrl", "Жарык жок, үйдө суук"),
    ("ky-cyrl", "пособие 1200 сом келбей жатат"),
    ("ky-cyrl", "мектепте жылуулук жок"),
    ("ky-cyrl", "биздин айылда суу жок, ысык"),
    ("ky-latn", "menin kyzym mektepke barat"),
    ("ru-cyrl", "температура воздуха 40 градусов, воды нет"),
    ("ru-cyrl", "жалоба на школу, там холодно"),
    ("ru-cyrl", "деньги за справку просят"),
    ("ru-cyrl", "у нас большая семья, 5 детей, помогите"),
    ("ru-cyrl", "ребенку 1 год, как получить пособие"),
    ("ru-latn", "soc rabotnik grubo otvetil"),
    ("uz-latn", "bizning mahallada issiq suv yo'q"),
    ("uz-latn", "hokimiyatda navbat qimirlamayapti"),
    ("uz-latn", "bolalar puli qachon keladi"),
    ("en-latn", "How much is the benefit for 3 children?"),
    ("en-latn", "my application is not moving"),
    ("en-latn", "the office is very hot and crowded"),
    ("en-latn", "I paid 500 som for a blood test certificate"),
]


@pytest.mark.parametrize(("language", "sign", "text"), DANGER + HELD_OUT_DANGER)
def test_a_danger_sign_in_everyday_words_is_found(language: str, sign: str, text: str) -> None:
    assert has_symptom(text), f"{language} {sign}: {text}"


@pytest.mark.parametrize(("language", "text"), NOT_DANGER + HELD_OUT_NOT_DANGER)
def test_ordinary_texts_are_not_danger(language: str, text: str) -> None:
    assert not has_symptom(text), f"{language}: {text}"


def test_every_sign_is_tested_in_four_languages_and_both_scripts() -> None:
    signs = set(tomllib.loads(WORDS_FILE.read_text(encoding="utf-8"))["danger"]["signs"])
    assert {sign for _, sign, _ in DANGER} == signs
    assert {language for language, _, _ in DANGER} == {
        f"{lang}-{script}" for lang in ("ky", "ru", "uz") for script in ("cyrl", "latn")
    } | {"en-latn"}
    for name, found, ordinary in (("table", DANGER, NOT_DANGER), ("held out", HELD_OUT_DANGER, HELD_OUT_NOT_DANGER)):
        hits = sum(has_symptom(text) for _, _, text in found)
        false_alarms = sum(has_symptom(text) for _, text in ordinary)
        print(f"danger words, {name}: {hits}/{len(found)} found, {false_alarms}/{len(ordinary)} false positives")


def test_no_keyword_or_place_name_is_a_danger_sign() -> None:
    keywords = tomllib.loads(KEYWORDS_FILE.read_text(encoding="utf-8"))["keywords"]
    aliases = [alias for by_language in keywords.values() for spellings in by_language.values() for alias in spellings]
    places = [name for place in get_gazetteer().places.values() for name in (*place.names.values(), *place.aliases)]
    assert [word for word in aliases + places if has_symptom(word)] == []


# An informal Latin spelling of Cyrillic, written independently of the code's folding: each letter may be typed
# in more than one way, and a danger text must stay a danger text whichever way it is typed.
_LATIN = {
    "а": ["a"], "б": ["b"], "в": ["v"], "г": ["g"], "ғ": ["g'", "gh", "g"], "д": ["d"], "е": ["e"], "ё": ["yo", "e"],
    "ж": ["j", "zh", "dj"], "з": ["z"], "и": ["i"], "й": ["y", "i"], "к": ["k"], "қ": ["q", "k"], "л": ["l"],
    "м": ["m"], "н": ["n"], "ң": ["ng", "n", "ñ"], "о": ["o"], "ө": ["o", "ö"], "п": ["p"], "р": ["r"], "с": ["s"],
    "т": ["t"], "у": ["u"], "ү": ["u", "ü"], "ў": ["o'", "o‘", "o"], "ф": ["f"], "х": ["h", "kh", "x"],
    "ҳ": ["h"], "ц": ["ts", "c"], "ч": ["ch"], "ш": ["sh"], "щ": ["sh", "sch"], "ъ": [""], "ы": ["y", "i"],
    "ь": ["", "'"], "э": ["e"], "ю": ["yu"], "я": ["ya"],
}  # fmt: skip


def _latin(text: str, choices: list[int]) -> str:
    out, spare = [], iter(choices)
    for ch in text.lower():
        options = _LATIN.get(ch, [ch])
        out.append(options[next(spare, 0) % len(options)])
    return "".join(out)


_CYRILLIC_DANGER = [text for language, _, text in DANGER if language.endswith("cyrl")]


@fuzz_settings(60)
@given(st.sampled_from(_CYRILLIC_DANGER), st.lists(st.integers(0, 2), max_size=60))
def test_a_cyrillic_danger_text_typed_in_latin_letters_is_still_danger(text: str, choices: list[int]) -> None:
    assert has_symptom(_latin(text, choices)), _latin(text, choices)


@fuzz_settings(60)
@given(
    st.sampled_from([text for _, _, text in DANGER]),
    st.sampled_from(["", "Салам! ", "ЖАРДАМ ", "help, ", "Ассалому алайкум. "]),
)
def test_a_danger_sign_after_a_greeting_or_keyword_is_found(text: str, before: str) -> None:
    assert has_symptom(before + text)


@fuzz_settings(100)
@given(nasty_text)
def test_any_text_is_answered_without_a_crash(text: str) -> None:
    assert has_symptom(text) in (True, False)
