"""Keyword matching that forgives what basic-phone typing does to words: case, punctuation, either script or both
in one word, Latin transliterations, endings, one-letter typos, and greetings or filler words before the keyword.

Every word, of the keyword table and of the message alike, is reduced to one canonical Latin skeleton (`skeleton`),
so `жардам`, `jardam`, `zhardam` and `жardam` are one word; the spellings are never listed one by one."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import OSA

from hotline import lexicon

KEYWORDS_FILE = Path(__file__).with_name("keywords.toml")
MIN_TYPO_LENGTH = 5
MAX_LEAD_WORDS = 6  # greetings and filler words looked past before a keyword ("Саламатсызбы! Мага жардам керек")
MIN_STEM = 4  # a shorter word takes no endings: "ТИЛ" is not "тилек"
MAX_ENDING = 6  # letters an ending may add to a stem: "жалоб|у", "жардам|га", "отпис|аться"
MAX_FILLER_ENDING = 3
MAX_FILLER_WORDS = 12  # a longer text is never "only filler"

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
_TOKEN = re.compile(r"\S+")


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _is_latin(ch: str) -> bool:
    return "A" <= ch <= "Z"


def _one_script(upper: str) -> str:
    """A mixed word read in one script when its look-alike letters allow it (СТOП is СТОП); else as typed."""
    cyrillic = sum(_is_cyrillic(ch) for ch in upper)
    latin = sum(_is_latin(ch) for ch in upper)
    if not (cyrillic and latin):
        return upper
    as_cyrillic, as_latin = upper.translate(_LATIN_TO_CYRILLIC), upper.translate(_CYRILLIC_TO_LATIN)
    for candidate in (as_cyrillic, as_latin) if cyrillic >= latin else (as_latin, as_cyrillic):
        if not (any(map(_is_cyrillic, candidate)) and any(map(_is_latin, candidate))):
            return candidate
    # Truly both scripts (жardam): each letter keeps its own sound.
    return upper


def fold(word: str) -> str:
    """The comparable form of a word for dates' and places' lists: upper case, one script where its look-alike
    letters allow (_one_script), Kyrgyz and Uzbek letters as their nearest Russian ones, no inner marks."""
    return _one_script(_INNER_MARKS.sub("", word.upper()).translate(_FOLD))


def skeleton(word: str) -> str:
    """The canonical Latin skeleton of a word in any script or mixture: жардам, jardam, zhardam → jardam."""
    return _sounds(_one_script(_INNER_MARKS.sub("", word.upper())))


def _sounds(upper: str) -> str:
    """The skeleton of an upper-case word, each letter read in its own script (the one table: hotline/lexicon.py)."""
    return lexicon.skeleton(upper, ng_is_n=False)


def _other_script(word: str) -> str | None:
    """The same word in the other script when every letter has a look-alike (CTOP is СТОП)."""
    letters = set(word)
    if letters <= _LOOKALIKES_LATIN:
        return word.translate(_LATIN_TO_CYRILLIC)
    if letters <= _LOOKALIKES_CYRILLIC:
        return word.translate(_CYRILLIC_TO_LATIN)
    return None


@lru_cache(maxsize=8192)
def _letters(word: str) -> str:
    """A word's letters as typed: upper case, one script where its look-alikes allow (HELР is HELP), no inner marks."""
    return _one_script(_INNER_MARKS.sub("", word.upper()))


@lru_cache(maxsize=8192)
def _skeletons(word: str) -> tuple[str, ...]:
    """The readings of a word: its skeleton, each letter as typed when it mixes scripts (сtop), and the other
    script's reading when all its letters are look-alikes (HET is НЕТ)."""
    upper = _INNER_MARKS.sub("", word.upper())
    readings = [_sounds(_letters(word)), _sounds(upper)]
    if upper[:1] == "Е":
        readings.append(_sounds("Ё" + upper[1:]))  # е typed for a first ё on Russian keyboards: ердам is ёрдам
    other = _other_script(upper)
    if other is not None:
        readings.append(_sounds(other))
    return tuple(dict.fromkeys(readings))


def _stem(sounds: str) -> str:
    """The part of a skeleton that endings attach to: final vowels dropped (ЖАЛОБА → jalob), unless too short."""
    stem = sounds.rstrip("aeiou")
    return stem if len(stem) >= MIN_STEM else sounds


def _takes_ending(sounds: str, stem: str, word: str, max_ending: int) -> bool:
    """True when a word is the stem and an ending of letters; one that replaces the final vowels of a short stem
    starts with a vowel (жалоб|у); a longer stem (каттал|гым) or a whole word (арыз|дан) takes any ending."""
    ending = sounds[len(stem) :]
    return (
        len(stem) >= MIN_STEM
        and sounds.startswith(stem)
        and 0 < len(ending) <= max_ending
        and ending.isalpha()
        and (stem == word or len(stem) > MIN_STEM or ending[0] in "aeiou")
    )


def _deletions(sounds: str) -> set[str]:
    return {sounds[:i] + sounds[i + 1 :] for i in range(len(sounds))} | {sounds}


Spellings = tuple[tuple[str, bool, str], ...]  # (language, listed in Cyrillic, its letters) of a word's spellings


@dataclass(frozen=True)
class Match:
    """What a message asked for: a keyword, the languages its spelling belongs to, and the words after it.
    `context` holds the languages of the greetings and filler words before it and of the known words just after it
    (to keep a phone's language)."""

    keyword: str | None
    languages: tuple[str, ...]
    rest: str
    context: tuple[str, ...] = ()


class _Lexicon:
    """Words (as skeletons) with a value and the languages they belong to; found exactly, by stem and ending, or
    one letter off. A skeleton may belong to one value only."""

    def __init__(self, entries: Iterable[tuple[str, str, str]], max_ending: int, typos: bool) -> None:
        # Each language with the script and letters its spelling was listed in: a word typed in one script takes
        # the languages listed in that script (STATUS is English, СТАТУС not; _Word.languages).
        self.exact: dict[str, tuple[str, Spellings]] = {}
        for value, language, spelling in entries:
            written = (language, any(map(_is_cyrillic, spelling.upper())), _letters(spelling))
            for key in _skeletons(spelling):
                known, spellings = self.exact.get(key, (value, ()))
                if known != value:
                    raise ValueError(f"{spelling!r} is an alias of both {known} and {value}")
                self.exact[key] = (value, spellings if written in spellings else (*spellings, written))
        # A whole word as its own stem (ТОКТОТ) takes any ending; it wins over a word whose vowels made the same stem.
        by_stem = sorted(self.exact.items(), key=lambda item: _stem(item[0]) == item[0])
        self._stems = {_stem(key): (key, found) for key, found in by_stem if len(_stem(key)) >= MIN_STEM}
        self._max_ending = max_ending
        self._near: dict[str, set[str]] = {}
        for key in self.exact if typos else ():
            if len(key) >= MIN_TYPO_LENGTH:
                for variant in _deletions(key):
                    self._near.setdefault(variant, set()).add(key)

    def find(self, sounds: str) -> tuple[str, Spellings] | None:
        """The exact word, else a stem with an ending (жалобу, жардамга)."""
        found = self.exact.get(sounds)
        if found is not None:
            return found
        for end in range(len(sounds) - 1, max(MIN_STEM, len(sounds) - self._max_ending) - 1, -1):
            stemmed = self._stems.get(sounds[:end])
            if stemmed is not None and _takes_ending(sounds, sounds[:end], stemmed[0], self._max_ending):
                return stemmed[1]
        return None

    def near(self, sounds: str) -> tuple[str, Spellings] | None:
        """The one value one letter away (a letter changed, dropped, added or two swapped); none if two are."""
        if len(sounds) < MIN_TYPO_LENGTH - 1:
            return None
        keys = {key for variant in _deletions(sounds) for key in self._near.get(variant, ())}
        close = [self.exact[key] for key in keys if OSA.distance(sounds, key, score_cutoff=1) <= 1]
        if len({value for value, _ in close}) != 1:
            return None
        return close[0][0], tuple(dict.fromkeys(written for _, found in close for written in found))


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


@dataclass(frozen=True)
class _Word:
    """One word of a message: its skeletons, its letters, and what follows it as typed."""

    sounds: tuple[str, ...]
    rest: str
    letters: str

    @property
    def cyrillic(self) -> bool:
        """True when the word has a Cyrillic letter (after look-alikes: HELР is Latin)."""
        return any(map(_is_cyrillic, self.letters))

    def languages(self, spellings: Spellings, spelled: bool = True) -> tuple[str, ...]:
        """The languages of the spellings listed in the script this word is typed in; a Latin word not listed in
        Latin is a transliteration of the Cyrillic spellings' languages (posobie is Russian).

        A Latin listing is spelled one way (English): a word found by its sounds (`spelled`, not as a typo) takes
        its language only with its letters. `chek`, a receipt in Uzbek, and `чек` only sound like CHECK: they tell
        no language, so the phone keeps its own."""
        if self.cyrillic:
            return tuple(dict.fromkeys(language for language, cyrillic, _ in spellings if cyrillic))
        latin = [
            language
            for language, cyrillic, letters in spellings
            if not cyrillic and (not spelled or self.letters.startswith(letters))
        ]
        return tuple(dict.fromkeys(latin or [language for language, cyrillic, _ in spellings if cyrillic]))


def _words(text: str, limit: int) -> list[_Word]:
    """The first `limit` words of a message; digits glued to a word ('LANG2') are the start of its rest."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    words: list[_Word] = []
    for token in _TOKEN.finditer(cleaned):
        if len(words) == limit:
            break
        word, rest = _EDGE_PUNCT.sub("", token.group()), cleaned[token.end() :].strip()
        glued = _WORD_DIGITS.match(word)
        if glued:
            word, rest = glued.group(1), f"{glued.group(2)} {rest}".strip()
        if word:
            words.append(_Word(_skeletons(word), rest, _letters(word)))
    return words


def _table(data: dict[str, dict[str, list[str]]]) -> list[tuple[str, str, str]]:
    return [
        (value, language, word)
        for value, by_language in data.items()
        for language, words in by_language.items()
        for word in words
    ]


class KeywordMatcher:
    """Finds the keyword a message asks for among its first words, after greetings and filler."""

    def __init__(
        self,
        table: dict[str, dict[str, list[str]]],
        languages: dict[str, list[str]],
        fillers: dict[str, list[str]] | None = None,
        phrases: dict[str, dict[str, list[str]]] | None = None,
        thanks: dict[str, list[str]] | None = None,
    ) -> None:
        self._keywords = _Lexicon(_table(table), MAX_ENDING, typos=True)
        self._thanks = _Lexicon(
            [("thanks", language, word) for language, words in (thanks or {}).items() for word in words],
            MAX_FILLER_ENDING,
            typos=False,
        )
        self._languages = _Lexicon(_table({code: {code: names} for code, names in languages.items()}), 4, True)
        self._fillers = _Lexicon(
            [("filler", language, word) for language, words in (fillers or {}).items() for word in words],
            MAX_FILLER_ENDING,
            typos=False,
        )
        # Phrases of several words ("больше не пишите"), by the skeleton of their first word.
        self._phrases: dict[str, list[tuple[list[str], str, str]]] = {}
        for keyword, language, phrase in _table(phrases or {}):
            sounds = [skeleton(word) for word in phrase.split()]
            self._phrases.setdefault(sounds[0], []).append((sounds, keyword, language))

    @classmethod
    def from_file(cls, path: Path = KEYWORDS_FILE) -> KeywordMatcher:
        """Load the keyword table from its TOML data file."""
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(data["keywords"], data["languages"], data.get("fillers"), data.get("phrases"), data.get("thanks"))

    def _filler(self, word: _Word) -> tuple[str, ...] | None:
        for sounds in word.sounds:
            found = self._fillers.find(sounds)
            if found is not None:
                return tuple(language for language, *_ in found[1])
        return None

    def _phrase(self, words: list[_Word], at: int) -> tuple[str, tuple[str, ...], str] | None:
        for sounds in words[at].sounds:
            for phrase, keyword, language in self._phrases.get(sounds, ()):
                following = words[at : at + len(phrase)]
                if len(following) == len(phrase) and all(
                    _fits(word, wanted) for word, wanted in zip(following, phrase, strict=True)
                ):
                    return keyword, (language,), following[-1].rest
        return None

    def match(self, text: str) -> Match:
        """Find the keyword a message starts with, after greetings and filler; Match.keyword is None if none."""
        words = _words(text, MAX_LEAD_WORDS + 1)
        context: dict[str, None] = {}
        for at, word in enumerate(words):
            phrase = self._phrase(words, at) if self._phrases else None
            if phrase is not None:
                return Match(phrase[0], phrase[1], phrase[2], tuple(context))
            found = next(filter(None, map(self._keywords.find, word.sounds)), None)
            if found is not None and self._glued(word):
                break  # two keywords typed as one word (СТОПstart): which one was meant is not sure
            filler = None if found is not None else self._filler(word)
            if filler is not None:
                context.update(dict.fromkeys(filler))
                continue
            spelled = found is not None
            found = found or next(filter(None, map(self._keywords.near, word.sounds)), None)
            if found is None:
                break
            # The next words tell the language too when the table gives them one ("status zhaloby …" is Russian).
            for after in words[at + 1 : at + 3]:
                known = next(filter(None, map(self._keywords.find, after.sounds)), None)
                languages = after.languages(known[1]) if known else self._filler(after) or ()
                if len(languages) == 1:
                    context.update(dict.fromkeys(languages))
            return Match(found[0], word.languages(found[1], spelled), word.rest, tuple(context))
        return Match(None, (), text.strip())

    def _glued(self, word: _Word) -> bool:
        """True when a word found by a stem and an ending ends in a whole keyword (СТОПstart, stopstart): the
        second keyword is no ending of the first."""
        if any(sounds in self._keywords.exact for sounds in word.sounds):
            return False
        tails = (word.letters[cut:] for cut in range(2, len(word.letters) - 2))
        return any(sounds in self._keywords.exact for tail in tails for sounds in _skeletons(tail))

    def only_filler(self, text: str) -> bool:
        """True when a text has no word but greetings and filler ('хочу написать', 'керек'): nothing said."""
        words = _words(text, MAX_FILLER_WORDS + 1)
        return len(words) <= MAX_FILLER_WORDS and all(self._filler(word) is not None for word in words)

    def thanks(self, text: str) -> bool:
        """True when a text only thanks or agrees ('рахмат', 'спасибо большое', 'ok thanks'): nothing to add."""
        words = _words(text, MAX_FILLER_WORDS + 1)
        thanked = [any(self._thanks.find(sounds) for sounds in word.sounds) for word in words]
        return (
            len(words) <= MAX_FILLER_WORDS
            and any(thanked)
            and all(said or self._filler(word) is not None for said, word in zip(thanked, words, strict=True))
        )

    def language(self, text: str) -> str | None:
        """The language a LANG answer names (a number, a code or a name, after filler: 'на русском'), if any."""
        for word in _words(text, MAX_LEAD_WORDS + 1):
            found = next(filter(None, map(self._languages.find, word.sounds)), None)
            if found is None and self._filler(word) is not None:
                continue
            found = found or next(filter(None, map(self._languages.near, word.sounds)), None)
            return found[0] if found is not None else None
        return None


def _fits(word: _Word, wanted: str) -> bool:
    """A phrase's word, exactly or with an ending on its stem (пишите, пишет)."""
    stem = _stem(wanted)
    return any(sounds == wanted or _takes_ending(sounds, stem, wanted, MAX_ENDING) for sounds in word.sounds)


@lru_cache(maxsize=1)
def get_matcher() -> KeywordMatcher:
    """The matcher for the shipped keyword file."""
    return KeywordMatcher.from_file()
