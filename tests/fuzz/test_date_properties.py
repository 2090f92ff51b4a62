"""Properties of the date parser: the forms families type a due date or a birth date in, day first."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from hotline.reminders.dates import parse_date
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
