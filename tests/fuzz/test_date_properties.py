"""Properties of the date parser: the forms families type a due date or a birth date in, day first."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from hypothesis import assume, given
from hypothesis import strategies as st

from hotline.reminders.dates import birth_date, enrolment_kind, parse_date, pregnancy_month
from tests.fuzz.strategies import any_text, fuzz_settings, odd_digits

TODAY = date(2026, 11, 23)
LANGUAGES = st.sampled_from(["ky", "ru", "uz", "en"])
# Pregnancies end within the year; children enrolled are under five.
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31))
RUSSIAN_MONTHS = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
                  "ноябрь", "декабрь"]  # fmt: skip


@fuzz_settings(150)
@given(
    day=days,
    separator=st.sampled_from("./-"),
    padded=st.booleans(),
    language=LANGUAGES,
    spaces=st.text(" ", max_size=2),
)
def test_numeric_dates_are_read_day_first(day: date, separator: str, padded: bool, language: str, spaces: str) -> None:
    d, m = (f"{day.day:02d}", f"{day.month:02d}") if padded else (str(day.day), str(day.month))
    assert parse_date(f"{spaces}{d}{separator}{m}{separator}{day.year}{spaces}", language, TODAY) == day


@fuzz_settings(100)
@given(day=days, separator=st.sampled_from("./"), language=LANGUAGES)
def test_two_digit_years_are_this_century(day: date, separator: str, language: str) -> None:
    text = f"{day.day:02d}{separator}{day.month:02d}{separator}{day.year % 100:02d}"
    assert parse_date(text, language, TODAY) == day


@fuzz_settings(100)
@given(day=days, separator=st.sampled_from("./-"), padded=st.booleans(), language=LANGUAGES)
def test_a_month_and_year_alone_mean_the_first_of_the_month(
    day: date, separator: str, padded: bool, language: str
) -> None:
    month = f"{day.month:02d}" if padded else str(day.month)
    assert parse_date(f"{month}{separator}{day.year}", language, TODAY) == day.replace(day=1)


@fuzz_settings(60)
@given(day=days, language=LANGUAGES, capitalised=st.booleans())
def test_a_russian_month_name_and_year_mean_the_first_of_the_month(day: date, language: str, capitalised: bool) -> None:
    month = RUSSIAN_MONTHS[day.month - 1]
    text = f"{month.capitalize() if capitalised else month} {day.year}"
    assert parse_date(text, language, TODAY) == day.replace(day=1)


@fuzz_settings(100)
@given(number=st.integers(0, 99), language=LANGUAGES)
def test_a_lone_number_is_not_a_date(number: int, language: str) -> None:
    assert parse_date(str(number), language, TODAY) is None  # it may be a month of pregnancy


@fuzz_settings(200)
@given(text=st.one_of(any_text, odd_digits, st.from_regex(r"\d{1,4}[./ -]\d{1,4}([./ -]\d{1,4})?", fullmatch=True)))
def test_any_text_gives_a_date_or_none(text: str) -> None:
    parsed = parse_date(text, "ru", TODAY)
    assert parsed is None or isinstance(parsed, date)
    assert parse_date(text, "ru", TODAY) == parsed


# Month names as they follow a day, written independently of date_words.toml: Russian (genitive), Kyrgyz (Russian
# names, also in Latin), Uzbek (Latin and Cyrillic), English.
MONTH_NAMES = {
    "ru": "января февраля марта апреля мая июня июля августа сентября октября ноября декабря".split(),
    "ky": "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь".split(),
    "ky-latn": "yanvar fevral mart aprel may iyun iyul avgust sentyabr oktyabr noyabr dekabr".split(),
    "uz": "yanvar fevral mart aprel may iyun iyul avgust sentabr oktabr noyabr dekabr".split(),
    "uz-cyrl": "январ феврал март апрел май июн июл август сентябр октябр ноябр декабр".split(),
    "en": "January February March April May June July August September October November December".split(),
}
NUMBER_WORDS = {
    "ky": "бир эки үч төрт беш алты жети сегиз тогуз он".split(),
    "uz": "bir ikki uch to'rt besh olti yetti sakkiz to'qqiz o'n".split(),
    "ru": "один два три четыре пять шесть семь восемь девять десять".split(),
    "en": "one two three four five six seven eight nine ten".split(),
}
MONTH_UNITS = {"ky": "ай", "uz": "oy", "ru": "месяцев", "en": "months"}
recent_births = st.dates(min_value=date(2022, 2, 1), max_value=TODAY).filter(lambda d: (d.month, d.day) != (2, 29))


@fuzz_settings(200)
@given(day=recent_births, style=st.sampled_from(sorted(MONTH_NAMES)), with_year=st.booleans())
def test_a_day_and_a_month_name_read_back_in_every_language(day: date, style: str, with_year: bool) -> None:
    text = f"{day.day} {MONTH_NAMES[style][day.month - 1]}" + (f" {day.year}" if with_year else "")
    last = day.replace(year=TODAY.year) if day.replace(year=TODAY.year) <= TODAY else day.replace(year=TODAY.year - 1)
    assert birth_date(text, "ky", TODAY) == (day if with_year else last)


@fuzz_settings(100)
@given(months=st.integers(1, 10), language=st.sampled_from(sorted(NUMBER_WORDS)), in_words=st.booleans())
def test_an_age_in_months_is_that_many_calendar_months_ago(months: int, language: str, in_words: bool) -> None:
    number = NUMBER_WORDS[language][months - 1] if in_words else str(months)
    text = f"{number} {MONTH_UNITS[language]}"
    assert birth_date(text, language, TODAY) == TODAY - relativedelta(months=months)
    if months <= 9:
        assert pregnancy_month(text) == months


@fuzz_settings(300)
@given(text=st.one_of(any_text, st.from_regex(r"[а-яa-z' ]{1,30}", fullmatch=True)), today=days)
def test_words_alone_never_give_a_birth_date_ahead(text: str, today: date) -> None:
    assume(not any(ch.isdecimal() for ch in text))  # only digits can name a future year
    born = birth_date(text, "ru", today)
    assert born is None or born <= today


@fuzz_settings(300)
@given(text=st.one_of(any_text, odd_digits, st.from_regex(r"\d{1,3}[ -]?[а-яa-z']{0,8}( \d{1,4})?", fullmatch=True)))
def test_the_date_readers_never_raise(text: str) -> None:
    for language in ("ky", "ru", "uz", "en"):
        born = birth_date(text, language, TODAY)
        assert born is None or isinstance(born, date)
    month = pregnancy_month(text)
    assert month is None or isinstance(month, int)
    assert enrolment_kind(text) in (None, "pregnancy", "child")
