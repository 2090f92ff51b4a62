"""Numbers as families write them (hotline/numbers.py): digits, groups, words in four languages and two scripts."""

from __future__ import annotations

import pytest

from hotline.numbers import parse_amount, read_choice, read_number

SURE = {
    "5000": 5000,
    "5 000": 5000,
    "5.000": 5000,
    "5,000": 5000,
    "5\u00a0000": 5000,
    "5000с": 5000,
    "5000 сом": 5000,
    "5000som": 5000,
    "5 миң": 5000,
    "5 мин": 5000,
    "5миң": 5000,
    "5 тыс.": 5000,
    "5 тыс": 5000,
    "5 тысяч": 5000,
    "5к": 5000,
    "5k": 5000,
    "5 К": 5000,
    "5 минг": 5000,
    "5 ming": 5000,
    "5 ming so'm": 5000,
    "беш миң": 5000,
    "besh ming": 5000,
    "beş miñ": 5000,
    "пять тысяч": 5000,
    "pyat tysyach": 5000,
    "айына 5 миң сом": 5000,
    "oyiga 5 ming so'm": 5000,
    "в месяц 5 тыс. сом": 5000,
    "1,5 миң": 1500,
    "2.5к": 2500,
    "бир жарым миң": 1500,
    "полторы тысячи": 1500,
    "беш миң беш жүз": 5500,
    "пять тысяч пятьсот": 5500,
    "две тысячи": 2000,
    "жыйырма беш": 25,
    "двадцать пять": 25,
    "yigirma besh": 25,
    "twenty five": 25,
    "bir ming besh yuz": 1500,
    "12 миңдей": 12000,
    "15 000 сомдон": 15000,
    "миң": 1000,
    "тысяча сом": 1000,
    "6 человек": 6,
    "5 киши": 5,
    "беш адам": 5,
    "olti kishi": 6,
    "0": 0,
    "жок": 0,
    "нет": 0,
    "yo'q": 0,
    "ноль": 0,
    "three": 3,
    "эки": 2,
    "ikki": 2,
    "икки": 2,
    "тогуз": 9,
    "to'qqiz": 9,
    "тўққиз": 9,
}


@pytest.mark.parametrize(("text", "expected"), SURE.items())
def test_numbers_as_people_write_them(text: str, expected: int) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("3-4 миң", 3000, 4000), ("3 - 4 тысячи", 3000, 4000), ("3000-4000", 3000, 4000), ("от 3 до 4 тыс", 3000, 4000),
     ("3 же 4 миң", 3000, 4000), ("3-4 ming", 3000, 4000)],
)  # fmt: skip
def test_a_range_is_read_as_a_range_not_a_number(text: str, low: int, high: int) -> None:
    reading = read_number(text)
    assert reading.value is None and (reading.low, reading.high) == (low, high) and reading.problem == "range"
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    "text",
    ["", "   ", "?!...", "много", "не знаю", "5abc", "abc5", "5000xyz", "1.5", "12.03.2025", "5 человек 3000",
     "5 5", "5 миң 3 миң", "99999999999999", "5 ²"],
)  # fmt: skip
def test_what_is_not_one_sure_number_has_no_value(text: str) -> None:
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "choice"),
    [("1", 1), ("биринчи", 1), ("экинчиси", 2), ("1-чи", 1), ("второй", 2), ("номер 3", 3), ("№1", 1),
     ("birinchi", 1), ("учинчи", 3), ("the first one", 1), ("2 жана 3", None), ("много", None)],
)  # fmt: skip
def test_a_menu_choice_by_number_or_ordinal(text: str, choice: int | None) -> None:
    assert read_choice(text) == choice
