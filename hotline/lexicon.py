"""Word lists that match text in any script: words and stems are compared as one Latin "skeleton".

Families type Kyrgyz, Russian and Uzbek in Cyrillic, in official Latin and in informal Latin (ж as j/zh/dj, х as
h/kh/x, ц as ts/c, ы as y/i, ң as ng, ў as o', қ as q...). Rather than list every spelling, the text and each
listed word are reduced to the same skeleton: lower-case Latin, one letter per sound class, no apostrophes or
doubled letters. "взятка", "vzyatka" and "vziatka" all read "vziatka"; "сўради" and "so'radi" read "soradi".

This is the project's one folding table (keywords, numbers, dates, places, categories and danger signs all use
`skeleton`), read the same way from either script. The decisions, once: и, ы, й, і and Latin y all read i (Kyrgyz
Latin writes ы as y, Uzbek writes й as y, and families mix them), so я/ya/ia read "ia", ю/yu/iu "iu", ё/yo "io",
and ж alone reads j (ja is ж+а, not я); ц, ts and c before e/i/y read "ts", any other c (not ch) reads k; ң and
ng read n; a word-initial ye/е reads e; digits are kept as typed (1000 stays 1000: amounts and dates need them)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# Cyrillic letters (Russian, Kyrgyz, Uzbek) to the Latin letters of the skeleton.
_CYRILLIC = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "io", "ж": "j", "з": "z", "и": "i",
    "й": "i", "к": "k", "қ": "k", "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ү": "u", "ў": "o", "ф": "f", "х": "h", "ҳ": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sh", "ъ": "", "ь": "", "ы": "i", "э": "e", "ю": "iu", "я": "ia", "ә": "a", "і": "i", "җ": "j",
    "һ": "h",
})  # fmt: skip
# Latin letters with marks (Turkish-style Kyrgyz, Uzbek 1990s Latin) to plain ones.
_MARKED = str.maketrans({
    "ö": "o", "ü": "u", "ñ": "n", "ş": "sh", "ç": "ch", "ğ": "g", "ı": "i", "é": "e", "ä": "a", "ō": "o", "ū": "u",
})  # fmt: skip
# A soft or hard sign before a vowel is the sound y ("пьет" is typed "pyet"); elsewhere it is not typed.
_SIGN_BEFORE_VOWEL = re.compile(r"[ьъ](?=[аеёиоуыэюяөүў])")
# Apostrophes and hyphens inside words vary by phone (o' oʻ o’ o`, g'): compared without them.
_MARKS = re.compile(r"['’‘`ʻʼ\-]")
# Spellings of one sound, to one: ж j/zh/dzh/dj; х h/kh/x; қ q; ғ gh; ц c before e/i/y (centr); к other c
# (doktor, doctor); ң ng; й ы y; щ shch/sch; в w.
_DIGRAPHS = re.compile(r"shch|sch|dzh|zh|dj|kh|gh|c(?!h)|ng|[xqyw]")
_DIGRAPH_SOUND = {
    "shch": "sh", "sch": "sh", "dzh": "j", "zh": "j", "dj": "j", "kh": "h", "gh": "g", "c": "k", "ng": "n",
    "x": "h", "q": "k", "y": "i", "w": "v",
}  # fmt: skip
_SOFT_C = re.compile(r"c(?=[eiy])")
# Uzbek Latin writes a word-initial е as "ye" (yemayapti, емаяпти).
_INITIAL_YE = re.compile(r"\bie")
_DOUBLED = re.compile(r"(\D)\1+")
_TOKENS = re.compile(r"[\w$]+")
_KEY = 2  # stems are indexed by their first letters: one dictionary look-up per word of a message


def skeleton(word: str, *, ng_is_n: bool = True) -> str:
    """The comparable form of a word, phrase or whole text in any script (see the module's docstring).

    ng_is_n=False keeps a typed ng (нг, ng) as two letters, ң still n: keywords are short, and LAN is not LANG."""
    text = _SIGN_BEFORE_VOWEL.sub("й", word.lower())
    text = _SOFT_C.sub("ts", _MARKS.sub("", text).translate(_MARKED).translate(_CYRILLIC))
    if not ng_is_n:
        text = text.replace("ng", "n\0g")  # a separator no spelling rule reads across; dropped below
    text = _DIGRAPHS.sub(lambda found: _DIGRAPH_SOUND[found.group()], text)
    return _DOUBLED.sub(r"\1", _INITIAL_YE.sub("e", text)).replace("\0", "")


def words(text: str) -> list[str]:
    """The skeletons of a text's words, in order (digits and $ kept: "300с" reads "300s")."""
    return _TOKENS.findall(skeleton(text))


def line(text: str) -> str:
    """The skeletons of a text's words on one line, with a space at each end so a stem matches at a word start."""
    return " " + " ".join(words(text)) + " "


def _entry(stem: str, short_is_whole: bool) -> tuple[str, bool]:
    # An entry ending in a space, or (with short_is_whole) written with three letters or fewer, is a whole word:
    # КАН "blood" must not catch КАНДАЙ "how", PAY not "payment".
    core = " ".join(skeleton(part) for part in stem.split())
    return core, stem.endswith(" ") or (short_is_whole and len(_MARKS.sub("", stem.strip())) <= 3)


class Lexicon:
    """A list of words, stems and phrases in any script, matched at word starts of a `line`."""

    def __init__(self, stems: Iterable[str], short_is_whole: bool = True) -> None:
        self._index: dict[str, list[tuple[str, bool]]] = {}
        for core, whole in sorted({_entry(s, short_is_whole) for s in stems if s.strip()}, key=lambda e: -len(e[0])):
            self._index.setdefault(core[:_KEY], []).append((core, whole))

    def _match_at(self, text_line: str, start: int) -> int:
        # The end of the longest listed word that starts at `start`, or -1.
        for core, whole in self._index.get(text_line[start : start + _KEY], ()):
            end = start + len(core)
            if text_line.startswith(core, start) and (not whole or text_line[end : end + 1] == " "):
                return end
        return -1

    def _starts(self, text_line: str) -> Iterator[int]:
        start = text_line.find(" ") + 1
        while 0 < start < len(text_line):
            yield start
            start = text_line.find(" ", start) + 1

    def search(self, text_line: str) -> bool:
        """True when a listed word occurs on the line."""
        return any(self._match_at(text_line, start) >= 0 for start in self._starts(text_line))

    def count(self, text_line: str) -> int:
        """How many words of the line start with a listed word."""
        return sum(self._match_at(text_line, start) >= 0 for start in self._starts(text_line))

    def mask(self, text_line: str) -> str:
        """The line with the listed words (or phrases) replaced by a placeholder word."""
        kept, done = [], 0
        for start in self._starts(text_line):
            if start < done:
                continue  # inside a masked phrase
            end = self._match_at(text_line, start)
            if end >= 0:
                kept.append(text_line[done:start] + "~")
                done = end
        return "".join(kept) + text_line[done:]
