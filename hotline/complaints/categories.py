"""Complaint categories: a first guess from the words of the text, deadlines and routing rules (categories.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hotline.keywords import fold
from hotline.models import Jurisdiction

CATEGORIES_FILE = Path(__file__).with_name("categories.toml")


@dataclass(frozen=True)
class Category:
    """A kind of complaint, with its deadlines and where it is routed."""

    code: str
    first_answer_days: int
    resolution_days: int
    route_to: Jurisdiction
    stems: tuple[str, ...]


def _folded_words(text: str) -> str:
    # One space-separated line of folded words, with a space in front so stems match at a word start.
    return " " + " ".join(fold(word) for word in re.findall(r"[\w'’ʻ-]+", text)) + " "


class Rules:
    """Guesses a category and decides routing from a complaint's text."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.categories = {
            code: Category(
                code,
                int(raw["first_answer_days"]),
                int(raw["resolution_days"]),
                Jurisdiction(raw.get("route_to", "municipality")),
                tuple(" " + fold(word) for word in raw["words"]),
            )
            for code, raw in data["categories"].items()
        }
        self.default = data["default"]
        self.staff_stems = tuple(" " + fold(word) for word in data["routing"]["staff_words"])

    @classmethod
    def from_file(cls, path: Path = CATEGORIES_FILE) -> Rules:
        """Load the shipped rules."""
        return cls(tomllib.loads(path.read_text(encoding="utf-8")))

    def guess(self, text: str) -> Category:
        """The category whose words appear most in the text; the default when none do (officers correct it)."""
        words = _folded_words(text)
        scores = {code: sum(words.count(stem) for stem in cat.stems) for code, cat in self.categories.items()}
        best = max(scores, key=lambda code: scores[code])  # ties: the first listed, most serious first
        return self.categories[best if scores[best] else self.default]

    def names_local_staff(self, text: str) -> bool:
        """True when the text names the municipality's own staff (then it must not stay with them)."""
        words = _folded_words(text)
        return any(stem in words for stem in self.staff_stems)


@lru_cache(maxsize=1)
def get_rules() -> Rules:
    """The rules of the shipped data file."""
    return Rules.from_file()
