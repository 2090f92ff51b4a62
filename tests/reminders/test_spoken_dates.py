"""Dates and ages as mothers write them (hotline/reminders/dates.py), with the rules of docs/REMINDERS.md."""

from __future__ import annotations

from datetime import date

import pytest

from hotline.reminders.dates import birth_date, enrolment_kind, parse_date, pregnancy_month

TODAY = date(2027, 1, 4)

# A child's date of birth, from a date or an age; a day and month without a year is the last one, never ahead.
BIRTHS = {
    "3 айлык": date(2026, 10, 4),  # a 3-month-old was born 3 calendar months ago
    "3 ай": date(2026, 10, 4),
    "uch oylik": date(2026, 10, 4),
    "3 месяца": date(2026, 10, 4),
    "2 oy": date(2026, 11, 4),
    "1 жаш": date(2026, 1, 4),
    "бир жаш": date(2026, 1, 4),
    "2 года": date(2025, 1, 4),
    "1 жаш 3 ай": date(2025, 10, 4),
    "бир жарым жаш": date(2025, 7, 4),
    "он эки ай": date(2026, 1, 4),
    "эки ай мурун": date(2026, 11, 4),
    "born 2 months ago": date(2026, 11, 4),
    "2 месяца назад": date(2026, 11, 4),
    "ikki oy oldin": date(2026, 11, 4),
    "o'tgan oy": date(2026, 12, 4),
    "өткөн айда": date(2026, 12, 4),
    "3 hafta": date(2026, 12, 14),
    "10 күн мурун": date(2026, 12, 25),
    "кечээ": date(2027, 1, 3),
    "вчера": date(2027, 1, 3),
    "15 март": date(2026, 3, 15),
    "5 марта": date(2026, 3, 5),
    "мартта": date(2026, 3, 1),  # a month without a day means its 1st
    "mart": date(2026, 3, 1),
    "родился в марте": date(2026, 3, 1),
    "15-мартта": date(2026, 3, 15),
    "15 noyabr": date(2026, 11, 15),
    "20 ноября": date(2026, 11, 20),
    "4 январь": date(2027, 1, 4),
    "5 январь": date(2026, 1, 5),  # not next year's
    "15 марта 2025": date(2025, 3, 15),
    "2025-жылы 15-мартта": date(2025, 3, 15),
    "12 March 2025": date(2025, 3, 12),
    "12.03.2025": date(2025, 3, 12),
    "15.03": date(2026, 3, 15),
    "29 февраля": date(2024, 2, 29),  # the last 29 February, which is not always within a year
    "29.02": date(2024, 2, 29),
}


@pytest.mark.parametrize(("text", "expected"), BIRTHS.items())
def test_birth_dates_and_ages_as_mothers_say_them(text: str, expected: date) -> None:
    assert birth_date(text, "ky", TODAY) == expected


@pytest.mark.parametrize(
    "text",
    ["31.02.2026", "31 февраля", "3-4 ай", "2-3 жаш", "12-15 марта", "5", "?!", "", "abc", "5abc", "2025",
     "15 март 20 апрель"],
)  # fmt: skip
def test_an_unsure_date_is_not_guessed(text: str) -> None:
    assert birth_date(text, "ky", TODAY) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("15 март", date(2027, 3, 15)), ("5 марта", date(2027, 3, 5)), ("мартта", date(2027, 3, 1)),
     ("15 noyabr", date(2027, 11, 15)), ("январда", date(2027, 1, 1)), ("3 января", date(2027, 1, 3))],
)  # fmt: skip
def test_a_due_date_without_a_year_is_the_next_one(text: str, expected: date) -> None:
    assert parse_date(text, "ru", TODAY, when="future") == expected


@pytest.mark.parametrize(
    ("text", "month"),
    [("5", 5), ("5 ай", 5), ("5 месяцев", 5), ("6 мес", 6), ("беш ай", 5), ("besh oy", 5), ("5 айлык", 5),
     ("5-ай", 5), ("бешинчи ай", 5), ("beshinchi oy", 5), ("пятый месяц", 5), ("на седьмом месяце", 7),
     ("Беременна 6 мес", 6), ("я беременна 5 месяцев", 5), ("кош бойлуумун 4 айлык", 4), ("12", 12)],
)  # fmt: skip
def test_months_of_pregnancy(text: str, month: int) -> None:
    assert pregnancy_month(text) == month


@pytest.mark.parametrize("text", ["3-4 ай", "5 жаш", "2 ай мурун", "12.03.2027", "5abc", "беш", "?"])
def test_what_is_not_a_month_of_pregnancy(text: str) -> None:
    assert pregnancy_month(text) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [("Беременна 6 мес", "pregnancy"), ("я беременна", "pregnancy"), ("кош бойлуумун", "pregnancy"),
     ("kosh boyluu 5 ay", "pregnancy"), ("homiladorman", "pregnancy"), ("бала 3 айлык", "child"),
     ("ребенок родился 20 ноября", "child"), ("bolam 2 oylik", "child"), ("5 ай", None)],
)  # fmt: skip
def test_the_kind_of_enrolment_a_message_names(text: str, kind: str | None) -> None:
    assert enrolment_kind(text) == kind
