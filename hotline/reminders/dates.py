"""Dates and ages as families type them: numeric dates (12.03.2025, 12/3/25, 3.2025), month names in Kyrgyz,
Russian, Uzbek and English in both scripts ("15 март", "5 марта", "мартта", "15 noyabr"), ages and times ago
("3 айлык", "1 жаш", "эки ай мурун", "o'tgan oy", "born 2 months ago") and months of pregnancy ("5 ай", "бешинчи
ай"). The rules are in docs/REMINDERS.md; anything date-like that cannot be read for certain (31.02, "3-4 ай") is
None, so the dialogue asks again rather than guesses."""

from __future__ import annotations

import re
import tomllib
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import dateparser
from dateutil.relativedelta import relativedelta

from hotline import keywords
from hotline.lexicon import skeleton
from hotline.numbers import ordinal, read_number, word_value
from hotline.reminders.danger_signs import get_danger_signs

WORDS_FILE = Path(__file__).with_name("words.toml")
DATE_WORDS_FILE = Path(__file__).with_name("date_words.toml")
# dateparser's language codes for ours; Russian is always tried too (month names are often typed in Russian).
_DATE_LANGUAGES = {"ru": ["ru"], "ky": ["ky", "ru"], "uz": ["uz", "ru"], "en": ["en", "ru"]}
When = Literal["past", "future", "any"]
_ANY_DAY = date(2001, 1, 1)
RECENTLY_DUE = timedelta(weeks=4)  # for readings that need no calendar (a month of pregnancy)
_ANSWER_WORD = re.compile(r"[^\W_]+(?:['’‘`ʻʼ][^\W_]+)*")  # o'/oʻ inside a word (xo'p) keep it whole


@lru_cache(maxsize=1)
def words() -> dict[str, frozenset[str]]:
    """The answer lists of words.toml, as keyword skeletons (a phrase's words joined by a space)."""
    data = tomllib.loads(WORDS_FILE.read_text(encoding="utf-8"))
    return {k: frozenset(_answer(w) for w in v) for k, v in data.items() if isinstance(v, list) and k != "needs_review"}


def _answer(text: str) -> str:
    # Read as keywords are (hotline/keywords.py): any script or both in a word, Latin spellings (ooba, xa, mayli).
    return " ".join(keywords.skeleton(w) for w in _ANSWER_WORD.findall(text))


def is_one_of(text: str, kind: str) -> bool:
    """True when the message is one of the listed answers (e.g. kind='yes'), or only such words ('да, согласна'),
    politeness aside ('yes please', 'ооба рахмат'). A question ('да?') or any other word ('да нет', 'не согласна')
    is not: consent is never guessed."""
    polite = words().get("polite", frozenset())
    listed, said = words()[kind], " ".join(w for w in _answer(text).split() if w not in polite)
    return bool(said) and "?" not in text and (said in listed or all(w in listed for w in said.split()))


@dataclass(frozen=True)
class DateWords:
    """The words of date_words.toml, by skeleton."""

    months: dict[str, int]
    units: dict[str, str]
    endings: frozenset[str]
    sets: dict[str, frozenset[str]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def date_words() -> DateWords:
    """The date words, loaded once."""
    data = tomllib.loads(DATE_WORDS_FILE.read_text(encoding="utf-8"))
    listed = data["words"]
    return DateWords(
        months={skeleton(w): int(m) for m, ws in data["months"].items() for w in ws},
        units={skeleton(w): unit for unit, ws in data["units"].items() for w in ws},
        endings=frozenset(skeleton(w) for w in data["endings"]["list"]),
        sets={k: frozenset(skeleton(w) for w in v) for k, v in listed.items()},
    )


def _stem_match(sk: str, table: dict[str, Any], min_stem: int) -> Any:
    """The entry a word names, as listed or as a listed stem plus an ending ('мартта', 'месяцев', 'айлык')."""
    if sk in table:
        return table[sk]
    endings = date_words().endings
    for cut in range(1, min(6, len(sk))):
        stem = sk[:-cut]
        if len(stem) >= min_stem and stem in table and sk[-cut:] in endings:
            return table[stem]
    return None


def _month_of(sk: str) -> int | None:
    return _stem_match(sk, date_words().months, 3) if sk else None


def _unit_of(sk: str) -> str | None:
    return _stem_match(sk, date_words().units, 2) if sk else None


def _is(sk: str, kind: str) -> bool:
    return sk in date_words().sets[kind]


@dataclass(frozen=True)
class _Token:
    kind: Literal["num", "date", "word", "bad"]
    text: str
    sk: str = ""
    range_before: bool = False  # "3-4": a dash between two numbers


_DATE_TOKEN = re.compile(
    r"(?P<date>\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{2,4}|\d{1,2}-\d{4}|\d{1,4}(?:[./]\d{1,4}){1,2})(?![\d./]\d)"
    r"|(?P<num>\d+)|(?P<word>[^\W\d_]+(?:['’‘`ʻʼ][^\W\d_]+)*)|(?P<dash>[-–—])"
)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    dash, end = False, -1
    for found in _DATE_TOKEN.finditer(text):
        kind, token = found.lastgroup or "word", found.group(0)
        glued = found.start() == end and bool(tokens)
        end = found.end()
        if kind == "dash":
            dash = True
            continue
        sk = skeleton(token) if kind == "word" else ""
        if kind == "word" and (
            any(ch.isnumeric() for ch in token)
            or (
                glued and tokens[-1].kind == "num" and not (_unit_of(sk) or _month_of(sk) or sk in date_words().endings)
            )
        ):
            kind = "bad"  # ², ٣, "5abc": what we cannot read makes the message unsure
        if kind == "num" and glued and tokens[-1].kind == "word":
            kind = "bad"  # "abc5"
        numeric = kind == "num" or (kind == "word" and word_value(token) is not None)
        after_number = bool(tokens) and (tokens[-1].kind == "num" or word_value(tokens[-1].text) is not None)
        tokens.append(_Token(kind, token, sk, dash and numeric and after_number))  # type: ignore[arg-type]
        dash = False
    return tokens


def _is_year(tokens: list[_Token], i: int) -> bool:
    """A four-digit number beside a month name or before a year word ("2025-жылы", "2025 г.") is a year."""
    if tokens[i].kind != "num" or len(tokens[i].text) != 4:
        return False
    following = tokens[i + 1].sk if i + 1 < len(tokens) else ""
    return _next_to_month(tokens, i) or _unit_of(following) == "year" or following in ("g", "gg")


@dataclass(frozen=True)
class DateReading:
    """What a message says about a day: `day` when it names one; `ago` for an age or a time before today;
    `month_number` for a number of months that may be a month of pregnancy; `unsure` when something date-like
    cannot be read for certain (31.02, a range, two different dates)."""

    day: date | None = None
    ago: relativedelta | None = None
    month_number: int | None = None
    unsure: bool = False

    @property
    def said_something(self) -> bool:
        return bool(self.day or self.ago or self.month_number is not None or self.unsure)


def read_date(text: str, today: date, when: When = "any") -> DateReading:
    """Everything date-like in a short message, read as one thing (ages in parts, '1 жаш 3 ай', add up)."""
    tokens = _tokens(text[:120])
    if any(t.range_before for t in tokens):
        return DateReading(unsure=True)  # "3-4 ай", "12-15 марта": asked again, never a guess inside the range
    found: list[DateReading] = []
    i = 0
    while i < len(tokens):
        reading, i = _read_at(tokens, i, today, when)
        if reading.said_something:
            found.append(reading)
    if any(f.unsure for f in found):
        return DateReading(unsure=True)
    if len(found) > 1 and all(f.ago is not None and f.day is None for f in found):
        total = relativedelta()
        for f in found:
            total += f.ago or relativedelta()
        return DateReading(ago=total)
    if len(found) > 1:
        return DateReading(unsure=True)
    return found[0] if found else DateReading()


def _read_at(tokens: list[_Token], i: int, today: date, when: When) -> tuple[DateReading, int]:
    token, sk = tokens[i], tokens[i].sk
    if token.kind == "bad":
        return DateReading(unsure=True), i + 1
    if _is_year(tokens, i):  # read with its month; a year word after it is skipped
        following = tokens[i + 1].sk if i + 1 < len(tokens) else ""
        return DateReading(), i + (2 if _unit_of(following) == "year" or following == "g" else 1)
    if token.kind == "date":
        return _numeric_date(token.text, today, when), i + 1
    if _month_of(sk) is not None:
        return _month_name(tokens, i, today, when)
    for kind, days in (("today", 0), ("yesterday", 1), ("before_yesterday", 2)):
        if _is(sk, kind):
            return DateReading(today - timedelta(days=days)), i + 1
    if _is(sk, "last") and i + 1 < len(tokens) and _unit_of(tokens[i + 1].sk):  # "o'tgan oy": one unit ago
        return DateReading(ago=_duration(Fraction(1), _unit_of(tokens[i + 1].sk) or "")), i + 2
    ordinal_number = ordinal(token.text) if sk else None
    if ordinal_number is not None and i + 1 < len(tokens) and _unit_of(tokens[i + 1].sk) == "month":
        return DateReading(month_number=ordinal_number), i + 2  # "бешинчи ай", "пятый месяц"
    quantity = _quantity(tokens, i)
    if quantity is not None:
        return _amount_of_time(tokens, quantity)
    if token.kind == "num" and not _next_to_month(tokens, i):
        return DateReading(
            month_number=int(token.text) if len(token.text) <= 2 else None, unsure=len(token.text) > 2
        ), i + 1
    return DateReading(), i + 1


def _next_to_month(tokens: list[_Token], i: int) -> bool:
    near = tokens[max(0, i - 3) : i] + tokens[i + 1 : i + 4]
    return any(_month_of(t.sk) is not None for t in near)


def _quantity(tokens: list[_Token], i: int) -> tuple[Fraction, int, int] | None:
    """A number in digits or words ('3', 'эки', 'он эки', 'бир жарым') followed by a time unit: (value, index of
    the unit, index after the unit and an 'ago' word if any)."""
    j, plain, extra = i, [], Fraction(0)
    while j < len(tokens):
        t = tokens[j]
        if t.kind == "num" and len(t.text) <= 3:
            plain.append(t.text)
        elif t.kind == "word" and word_value(t.text) is not None:
            plain.append(t.text)
        elif _is(t.sk, "half"):
            extra += Fraction(1, 2)
        elif _is(t.sk, "one_and_a_half"):
            extra += Fraction(3, 2)
        else:
            break
        j += 1
    if j == i or j >= len(tokens) or _unit_of(tokens[j].sk) is None:
        return None
    value = extra
    if plain:
        number = read_number(" ".join(plain))
        if number.value is None:
            return None
        value += number.value
    end = j + 1
    if end < len(tokens) and _is(tokens[end].sk, "ago"):
        end += 1
    return value, j, end


def _amount_of_time(tokens: list[_Token], quantity: tuple[Fraction, int, int]) -> tuple[DateReading, int]:
    value, unit_at, end = quantity
    unit = _unit_of(tokens[unit_at].sk) or ""
    ago = end > unit_at + 1
    whole_months = unit == "month" and not ago and value.denominator == 1
    return DateReading(ago=_duration(value, unit), month_number=int(value) if whole_months else None), end


def _duration(value: Fraction, unit: str) -> relativedelta:
    """An amount of time as a calendar step: months and years by the calendar, a part of a month as 30 days."""
    if unit == "year":
        value, unit = value * 12, "month"
    if unit == "month":
        whole = int(value)
        return relativedelta(months=whole, days=round((value - whole) * 30))
    return relativedelta(days=round(value * (7 if unit == "week" else 1)))


def _numeric_date(text: str, today: date, when: When) -> DateReading:
    parts = [int(p) for p in re.split(r"[./-]", text)]
    separator = next(ch for ch in text if not ch.isdecimal())
    try:
        if len(parts) == 3 and len(text.split(separator)[0]) == 4:  # 2025-03-12
            return DateReading(date(parts[0], parts[1], parts[2]))
        if len(parts) == 3:
            year = parts[2] + 2000 if parts[2] < 100 else parts[2]  # two-digit years are this century
            return DateReading(date(year, parts[1], parts[0]))
        if len(parts) == 2 and parts[1] >= 1000:  # 3.2025: a month and a year mean its 1st
            return DateReading(date(parts[1], parts[0], 1))
        if len(parts) == 2 and parts[1] <= 12:  # 15.03: the day in the direction asked
            return DateReading(_without_year(today, parts[1], parts[0], when))
    except ValueError:
        pass
    return DateReading(unsure=True)  # 31.02, 13.13.2025: asked again, never guessed


def _without_year(today: date, month: int, day: int, when: When) -> date:
    """A day (or a whole month, day 0) without a year: a birth is the last one not after today, a due date the
    next one not more than four weeks past (the enrolment check allows that much)."""
    if day > monthrange(2024, month)[1]:
        raise ValueError("no such day")  # 31 April, 30 February
    # Back four years for a birth: the last 29 February may be that far (a child under five can be born on it).
    years = {"past": (0, -1, -2, -3, -4), "future": (0, 1), "any": (0,)}[when]
    for offset in years:
        year = today.year + offset
        if day > monthrange(year, month)[1]:
            continue  # 29 February outside a leap year
        candidate = date(year, month, day or 1)
        if when == "past" and candidate > today:
            continue
        if when == "future" and candidate < today - RECENTLY_DUE:
            continue
        return candidate
    raise ValueError("no such day in the years looked at")


def _month_name(tokens: list[_Token], i: int, today: date, when: When) -> tuple[DateReading, int]:
    month = _month_of(tokens[i].sk)
    assert month is not None
    day = year = 0
    used = i + 1
    for j in (i - 1, i - 2, i - 3):  # "15 март", "2025-жылы 15-мартта", "2025 март"
        if j >= 0 and tokens[j].kind == "num":
            if len(tokens[j].text) <= 2 and not day and j == i - 1:
                day = int(tokens[j].text)
            elif len(tokens[j].text) == 4 and not year:
                year = int(tokens[j].text)
    for j in (i + 1, i + 2, i + 3):  # "март 2025", "March 15, 2025"
        if j < len(tokens) and tokens[j].kind == "num":
            if len(tokens[j].text) == 4 and not year:
                year, used = int(tokens[j].text), j + 1
            elif len(tokens[j].text) <= 2 and not day and j == i + 1:
                day, used = int(tokens[j].text), j + 1
    try:
        if year:
            return DateReading(date(year, month, day or 1)), used
        return DateReading(_without_year(today, month, day, when)), used
    except ValueError:
        return DateReading(unsure=True), used  # 31 февраля


def pregnancy_month(text: str) -> int | None:
    """ "5", "5 ай", "5 месяцев", "беш ай", "besh oy", "бешинчи ай", "беременна 6 мес" → the month; a range, an age
    in years or a time ago → None."""
    reading = read_date(text, _ANY_DAY)
    if reading.unsure or reading.day is not None:
        return None
    return reading.month_number


def parse_date(text: str, language: str, today: date, *, when: When = "any") -> date | None:
    """A date in the forms people type, day first; a month without a day means its 1st; a day and month without a
    year is the last one (when='past'), the next one (when='future') or this year's."""
    text = text.strip()
    if not text or len(text) > 40:
        return None
    reading = read_date(text, today, when)
    if reading.said_something:
        return reading.day
    return _dateparser(text, language, today)


def birth_date(text: str, language: str, today: date) -> date | None:
    """A child's date of birth from a date ('20 ноября', 'мартта') or an age ('3 айлык', '1 жаш', 'эки ай мурун'):
    a 3-month-old was born 3 calendar months before today. A bare number or an unsure date is None."""
    text = text.strip()
    if not text or len(text) > 60:
        return None
    reading = read_date(text, today, "past")
    if reading.unsure:
        return None
    if reading.day is not None:
        return reading.day
    if reading.ago is not None:
        born: date = today - reading.ago
        return born
    if reading.month_number is not None:
        return None  # "5": five months old, or the 5th? asked again
    return _dateparser(text, language, today)


def enrolment_kind(text: str) -> str | None:
    """'pregnancy' or 'child' when a message names one ('Беременна 6 мес', 'бала 3 айлык', 'кош бойлуумун')."""
    sks = [skeleton(w) for w in re.findall(r"[^\W\d_]+(?:['’‘`ʻʼ][^\W\d_]+)*", text[:200])]
    joined = {a + b for a, b in zip(sks, sks[1:], strict=False)}  # "кош бойлуу" typed as two words
    pregnancy = any(_is(w, "pregnancy") for w in [*sks, *joined])
    child = any(_is(w, "child") for w in sks)
    if pregnancy == child:
        return None
    return "pregnancy" if pregnancy else "child"


def _dateparser(text: str, language: str, today: date) -> date | None:
    # Forms our own reading does not know (a rarer phrasing): dateparser, but only with a month and a year.
    if re.fullmatch(r"\s*\d{1,2}\s*", text):
        return None
    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DAY_OF_MONTH": "first",
        "RELATIVE_BASE": datetime.combine(today, datetime.min.time()),
        "REQUIRE_PARTS": ["month", "year"],
    }
    parsed = dateparser.parse(text, languages=_DATE_LANGUAGES.get(language, ["ru"]), settings=settings)
    return parsed.date() if isinstance(parsed, datetime) else None


def has_symptom(text: str) -> bool:
    """True when a message names a WHO danger sign, in any of our languages and scripts, in everyday words."""
    return bool(get_danger_signs().named(text))
