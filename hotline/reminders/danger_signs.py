"""Danger signs named in a message, in any script and in everyday words ([danger] in words.toml).

Each WHO sign has word stems in four languages, compared as script skeletons (hotline/lexicon.py). A sign is named
by one of its `words`, or by one word from each group of a `together` entry (a head word and a pain word). Words of
heat and temperature are weaker: `with_person` words ("hot") count only when the text names a child, a pregnancy or
the body; `unless_surroundings` words ("температура") do not count when the text is about a place, water or the
weather and names no person. A temperature of 37.5 to 42.9 counts as fever with a degree word or a person."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hotline.lexicon import Lexicon, line, skeleton

WORDS_FILE = Path(__file__).with_name("words.toml")
_TEMPERATURE = re.compile(r"(?<![\d.,])(3[7-9]|4[0-2])(?:[.,](\d))?(?![\d])\s*([^\s\d.,!?;:)]*)")


@dataclass(frozen=True)
class Sign:
    """One danger sign's words."""

    words: Lexicon
    together: tuple[tuple[str, ...], ...]
    with_person: Lexicon
    unless_surroundings: bool


class DangerSigns:
    """Decides whether a message names a danger sign."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.groups = {name: Lexicon(stems) for name, stems in data["groups"].items()}
        self.not_danger = Lexicon(data["not_danger"])
        self.degree_words = tuple(skeleton(word) for word in data["degree_words"])
        self.signs = {
            name: Sign(
                Lexicon(raw.get("words", [])),
                tuple(tuple(group) for group in raw.get("together", [])),
                Lexicon(raw.get("with_person", [])),
                bool(raw.get("unless_surroundings", False)),
            )
            for name, raw in data["signs"].items()
        }
        unknown = {group for sign in self.signs.values() for combo in sign.together for group in combo} - set(
            self.groups
        )
        if unknown or not {"person", "surroundings"} <= set(self.groups):
            raise ValueError(f"[danger.groups] lacks {sorted(unknown | {'person', 'surroundings'} - set(self.groups))}")
        # Every word that can start a sign, in one index: most messages are decided by one look-up per word.
        self.triggers = Lexicon(
            [w for raw in data["signs"].values() for w in (*raw.get("words", []), *raw.get("with_person", []))]
            + [w for name, stems in data["groups"].items() if name not in ("person", "surroundings") for w in stems]
        )

    @classmethod
    def from_file(cls, path: Path = WORDS_FILE) -> DangerSigns:
        """The signs of the shipped word file."""
        return cls(tomllib.loads(path.read_text(encoding="utf-8"))["danger"])

    def named(self, text: str) -> set[str]:
        """The signs a message names (empty when none)."""
        text_line = self.not_danger.mask(line(text))
        if not self.triggers.search(text_line) and not _TEMPERATURE.search(text):
            return set()
        person = self.groups["person"].search(text_line)
        about_surroundings = not person and self.groups["surroundings"].search(text_line)
        found = set()
        for name, sign in self.signs.items():
            by_words = sign.words.search(text_line)
            if sign.unless_surroundings:
                by_words = (by_words or self._temperature(text, person)) and not about_surroundings
            together = any(all(self.groups[group].search(text_line) for group in combo) for combo in sign.together)
            if by_words or together or (person and sign.with_person.search(text_line)):
                found.add(name)
        return found

    def _temperature(self, text: str, person: bool) -> bool:
        # 38, 39,5, 40° ...: a fever with a degree word after it, or with nothing after it in a text about a person
        # ("у ребенка 39"); "40 дней", "40 тысяч" are no temperature.
        for found in _TEMPERATURE.finditer(text):
            degrees = int(found.group(1)) + int(found.group(2) or 0) / 10
            after = skeleton(found.group(3))
            if degrees >= 37.5 and ((person and not after) or (after and after.startswith(self.degree_words))):
                return True
        return False


@lru_cache(maxsize=1)
def get_danger_signs() -> DangerSigns:
    """The danger signs of the shipped word file."""
    return DangerSigns.from_file()
