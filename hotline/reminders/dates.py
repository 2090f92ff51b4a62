"""Dates as families type them (12.03.2025, 12/3/25, 3.2025, "март 2025") and months of pregnancy ("5 ай")."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import dateparser

from hotline.keywords import fold

WORDS_FILE = Path(__file__).with_name("words.toml")
# dateparser's language codes for ours; Russian is always tried too (month names are often typed in Russian).
_DATE_LANGUAGES = {"ru": ["ru"], "ky": ["ky", "ru"], "uz": ["uz", "ru"], "en": ["en", "ru"]}
_MONTH_OF_PREGNANCY = re.compile(r"^\s*(\d{1,2})\s*([^\d\s.,/-]*)\s*$")
_NUMERIC_DATE = re.compile(r"^\s*\d{1,2}[./-]\d{1,2}([./-]\d{2,4})?\s*$|^\s*\d{1,2}[./-]\d{4}\s*$")


@lru_cache(maxsize=1)
def words() -> dict[str, Any]:
    """The word lists of words.toml, folded."""
    data = tomllib.loads(WORDS_FILE.read_text(encoding="utf-8"))
    folded: dict[str, Any] = {
        k: {fold(w) for w in v} for k, v in data.items() if isinstance(v, list) and k != "needs_review"
    }
    folded["symptoms"] = {lang: [fold(w) for w in stems] for lang, stems in data["symptoms"].items()}
    return folded


def is_one_of(text: str, kind: str) -> bool:
    """True when the message is one of the listed answers (e.g. kind='yes')."""
    return fold(text.strip().rstrip("!.")) in words()[kind]


def pregnancy_month(text: str) -> int | None:
    """ "5", "5 ай", "5 месяцев" → 5; anything that is not a bare number with a month word → None."""
    found = _MONTH_OF_PREGNANCY.match(text)
    if not found:
        return None
    unit = fold(found.group(2)) if found.group(2) else ""
    if unit and unit not in words()["month_words"]:
        return None
    return int(found.group(1))


def parse_date(text: str, language: str, today: date) -> date | None:
    """A date in the forms people type, day first; a month and year alone means the 1st of that month."""
    text = text.strip()
    if not text or len(text) > 40:
        return None
    if re.fullmatch(r"\d{1,2}", text):
        return None  # a lone number is not a date (it may be a month of pregnancy)
    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DAY_OF_MONTH": "first",
        "RELATIVE_BASE": datetime.combine(today, datetime.min.time()),
        "REQUIRE_PARTS": ["month", "year"],
    }
    languages = None if _NUMERIC_DATE.match(text) else _DATE_LANGUAGES.get(language, ["ru"])
    parsed = dateparser.parse(text, languages=languages, settings=settings)
    return parsed.date() if parsed else None


def has_symptom(text: str) -> bool:
    """True when a message names a WHO danger sign in any of our languages (as the start of a word)."""
    folded = " " + " ".join(fold(w) for w in re.findall(r"[\w'’ʻ-]+", text)) + " "
    return any(
        (f" {stem} " if len(stem) <= 3 else f" {stem}") in folded
        for stems in words()["symptoms"].values()
        for stem in stems
    )
