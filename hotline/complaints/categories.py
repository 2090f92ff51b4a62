"""Complaint categories: a first guess from the words of the text, deadlines and routing rules (categories.toml).

The guess leans to bribe: money or a gift named with any official, office or asking routes it as a bribe (one level
above the municipality), because a false positive costs a level and a false negative exposes the family."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hotline import lexicon
from hotline.lexicon import Lexicon, skeleton
from hotline.models import Jurisdiction

CATEGORIES_FILE = Path(__file__).with_name("categories.toml")


@dataclass(frozen=True)
class Category:
    """A kind of complaint, with its deadlines and where it is routed."""

    code: str
    first_answer_days: int
    resolution_days: int
    route_to: Jurisdiction
    stems: Lexicon


_NUMBER = re.compile(r"^(\$?)(\d+)(.*)$")


def _line(tokens: list[str]) -> str:
    # Skeleton words (hotline/lexicon.py) on one line, a space at each end so stems match at a word start.
    return " " + " ".join(tokens) + " "


def _stems(listed: list[str]) -> tuple[str, ...]:
    # As skeletons, matched at a word start; a word ending in a space in the data must be matched whole.
    return tuple(" " + " ".join(map(skeleton, word.split())) + (" " if word.endswith(" ") else "") for word in listed)


@dataclass(frozen=True)
class BribeSigns:
    """The word lists of the conservative bribe guess ([bribe] in categories.toml)."""

    category: str
    words: tuple[str, ...]
    money: tuple[str, ...]
    not_money: tuple[str, ...]
    currencies: tuple[str, ...]
    min_bare_amount: int
    year_words: tuple[str, ...]
    year_before: tuple[str, ...]
    officials: tuple[str, ...]
    asking: tuple[str, ...]

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> BribeSigns:
        """The lists as the data file gives them, folded."""
        lists = ("words", "money", "not_money", "currencies", "year_words", "year_before", "officials", "asking")
        return cls(
            category=str(raw["category"]),
            min_bare_amount=int(raw["min_bare_amount"]),
            **{name: _stems(raw[name]) for name in lists},
        )

    def _starts(self, word: str, stems: tuple[str, ...]) -> bool:
        return any((" " + word + " ").startswith(stem) for stem in stems)

    def has_amount(self, tokens: list[str]) -> bool:
        """A number with a currency ("1000 сом", "300с", "$50"), or a bare number large enough that is no year."""
        for i, token in enumerate(tokens):
            number = _NUMBER.match(token)
            if number is None:
                continue
            dollar, digits, suffix = number.groups()
            after = suffix or (tokens[i + 1] if i + 1 < len(tokens) else "")
            if dollar or after.startswith("$") or self._starts(after, self.currencies):
                return True
            value = int(digits)
            if digits.startswith("0") or len(digits) > 6 or value < self.min_bare_amount:
                continue  # a phone number, a count of children or months
            year = 1900 <= value <= 2099 and (
                self._starts(after, self.year_words) or (i > 0 and self._starts(tokens[i - 1], self.year_before))
            )
            if not year:
                return True
        return False

    def without_false_money(self, line: str) -> str:
        """The folded line with the words that only look like money masked ("жөлөк пул" is the benefit)."""
        for phrase in self.not_money:
            line = line.replace(phrase, " ~")
        return line

    def names_money(self, tokens: list[str]) -> bool:
        """Money, a gift, paying or an amount."""
        line = self.without_false_money(_line(tokens))
        return any(stem in line for stem in self.money) or self.has_amount(tokens)

    def is_bribe(self, text: str) -> bool:
        """A bribe word; or money or a gift together with an official, an office or asking, taking, giving."""
        tokens = lexicon.words(text)
        line = _line(tokens)
        if any(stem in line for stem in self.words):
            return True
        if not self.names_money(tokens):
            return False
        return any(stem in line for stem in self.officials) or any(stem in line for stem in self.asking)


class Rules:
    """Guesses a category and decides routing from a complaint's text."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.categories = {
            code: Category(
                code,
                int(raw["first_answer_days"]),
                int(raw["resolution_days"]),
                Jurisdiction(raw.get("route_to", "municipality")),
                Lexicon(raw["words"]),
            )
            for code, raw in data["categories"].items()
        }
        self.default = data["default"]
        self.staff_words = Lexicon(data["routing"]["staff_words"])
        self.bribe = BribeSigns.from_data(data["bribe"])
        if self.bribe.category not in self.categories:
            raise ValueError(f"[bribe] category {self.bribe.category} is not a category")

    @classmethod
    def from_file(cls, path: Path = CATEGORIES_FILE) -> Rules:
        """Load the shipped rules."""
        return cls(tomllib.loads(path.read_text(encoding="utf-8")))

    def guess(self, text: str) -> Category:
        """A bribe when the text looks like one at all; else the category whose words appear most in the text, or
        the default when none do (officers correct it)."""
        if self.bribe.is_bribe(text):
            return self.categories[self.bribe.category]
        plain = lexicon.line(text)
        masked = self.bribe.without_false_money(plain)  # "жөлөк пул" is no money; "not paid" is still not paid
        scores = {
            code: cat.stems.count(masked if code == self.bribe.category else plain)
            for code, cat in self.categories.items()
        }
        best = max(scores, key=lambda code: scores[code])  # ties: the first listed, most serious first
        return self.categories[best if scores[best] else self.default]

    def names_local_staff(self, text: str) -> bool:
        """True when the text names the municipality's own staff (then it must not stay with them)."""
        return self.staff_words.search(lexicon.line(text))


@lru_cache(maxsize=1)
def get_rules() -> Rules:
    """The rules of the shipped data file."""
    return Rules.from_file()
