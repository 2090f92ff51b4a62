"""Keyword matching that forgives what basic-phone typing does to words."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import OSA

KEYWORDS_FILE = Path(__file__).with_name("keywords.toml")
MIN_TYPO_LENGTH = 5

# Latin capitals that look like Cyrillic ones (after upper-casing), both ways.
_LATIN_TO_CYRILLIC = str.maketrans("ABCEHKMOPTXY", "АВСЕНКМОРТХУ")
_CYRILLIC_TO_LATIN = str.maketrans("АВСЕНКМОРТХУ", "ABCEHKMOPTXY")
_LOOKALIKES_LATIN = set("ABCEHKMOPTXY")
_LOOKALIKES_CYRILLIC = set("АВСЕНКМОРТХУ")
# Kyrgyz and Uzbek letters typed as their nearest Russian letter on phones without them.
_FOLD = str.maketrans("ӨҮҢЎҚҒҲЁ", "ОУНУКГХЕ")
# Apostrophes and hyphens inside words vary by phone (o' oʻ o’ o`): compare without them.
_INNER_MARKS = re.compile(r"['’‘`ʻʼ\-]")
_EDGE_PUNCT = re.compile(r"^[^\w']+|[^\w']+$")
_WORD_DIGITS = re.compile(r"^(\D+?)(\d+)$")


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _is_latin(ch: str) -> bool:
    return "A" <= ch <= "Z"


def fold(word: str) -> str:
    """The comparable form of a word: upper case, one script, Russian-nearest letters, no inner marks."""
    upper = _INNER_MARKS.sub("", word.upper()).translate(_FOLD)
    cyrillic = sum(_is_cyrillic(ch) for ch in upper)
    latin = sum(_is_latin(ch) for ch in upper)
    if cyrillic and latin:
        # Prefer the reading that leaves one script only; else follow the majority of letters.
        as_cyrillic = upper.translate(_LATIN_TO_CYRILLIC)
        as_latin = upper.translate(_CYRILLIC_TO_LATIN)
        tries = (as_cyrillic, as_latin) if cyrillic >= latin else (as_latin, as_cyrillic)
        for candidate in tries:
            if not (any(map(_is_cyrillic, candidate)) and any(map(_is_latin, candidate))):
                return candidate
        return tries[0]
    return upper


def _other_script(word: str) -> str | None:
    """The same word in the other script when every letter has a look-alike (CTOP is СТОП)."""
    letters = set(word)
    if letters <= _LOOKALIKES_LATIN:
        return word.translate(_LATIN_TO_CYRILLIC)
    if letters <= _LOOKALIKES_CYRILLIC:
        return word.translate(_CYRILLIC_TO_LATIN)
    return None


@dataclass(frozen=True)
class Match:
    """What a message asked for: a keyword, the languages its spelling belongs to, and the words after it."""

    keyword: str | None
    languages: tuple[str, ...]
    rest: str


def split_first_word(text: str) -> tuple[str, str]:
    """The first word without edge punctuation, and the rest; 'LANG2' splits as ('LANG', '2')."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    parts = cleaned.split(maxsplit=1)
    if not parts:
        return "", ""
    first = _EDGE_PUNCT.sub("", parts[0])
    rest = parts[1] if len(parts) > 1 else ""
    glued = _WORD_DIGITS.match(first)
    if glued:
        first, rest = glued.group(1), f"{glued.group(2)} {rest}".strip()
    return first, rest


class KeywordMatcher:
    """Maps a folded spelling to its keyword and languages; falls back to one-letter typos."""

    def __init__(self, table: dict[str, dict[str, list[str]]], languages: dict[str, list[str]]) -> None:
        self._exact: dict[str, tuple[str, tuple[str, ...]]] = {}
        for keyword, by_language in table.items():
            for language, aliases in by_language.items():
                for alias in aliases:
                    key = fold(alias)
                    known, langs = self._exact.get(key, (keyword, ()))
                    if known != keyword:
                        raise ValueError(f"{alias!r} is an alias of both {known} and {keyword}")
                    self._exact[key] = (keyword, (*langs, language) if language not in langs else langs)
        self._languages = {fold(alias): code for code, aliases in languages.items() for alias in aliases}

    @classmethod
    def from_file(cls, path: Path = KEYWORDS_FILE) -> KeywordMatcher:
        """Load the keyword table from its TOML data file."""
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(data["keywords"], data["languages"])

    def _lookup(self, word: str) -> tuple[str, tuple[str, ...]] | None:
        candidates = [word]
        other = _other_script(word)
        if other:
            candidates.append(other)
        for candidate in candidates:
            if candidate in self._exact:
                return self._exact[candidate]
        for candidate in candidates:
            if len(candidate) < MIN_TYPO_LENGTH - 1:
                continue
            near = {
                self._exact[alias]
                for alias in self._exact
                if len(alias) >= MIN_TYPO_LENGTH and OSA.distance(candidate, alias, score_cutoff=1) <= 1
            }
            if len({keyword for keyword, _ in near}) == 1:
                return near.pop()
        return None

    def match(self, text: str) -> Match:
        """Find the keyword a message starts with; Match.keyword is None when nothing matches."""
        first, rest = split_first_word(text)
        found = self._lookup(fold(first)) if first else None
        if found is None:
            return Match(None, (), text.strip())
        keyword, languages = found
        return Match(keyword, languages, rest)

    def language(self, text: str) -> str | None:
        """The language a LANG answer names (a number, a code or a name), if any."""
        first, _ = split_first_word(text)
        word = fold(first)
        return self._languages.get(word) or self._languages.get(_other_script(word) or "")


@lru_cache(maxsize=1)
def get_matcher() -> KeywordMatcher:
    """The matcher for the shipped keyword file."""
    return KeywordMatcher.from_file()
