"""Finding place names in free text: one spelling-blind form for Cyrillic and Latin, and case endings.

A name and a text word are compared by their *skeleton*: Latin letters, one letter per sound whatever the script or
transliteration (ж/zh/dzh/j → j, х/kh/x → h, ы/й/y/i → i, ө/ö/o'/ў → o, ү/ü → u, ң/ng → n, қ/q → k), no hyphens or
apostrophes, no doubled letters. So `Кара-Бак`, `Карабак`, `Kara-Bak` and `karabak` are one word. A word is a place
when it is a whole name followed only by endings: Kyrgyz and Uzbek case, plural and person endings (`-тагы`, `-дан`,
`-нын`, `-да`, `-ning`, `-lik`, `-мын`), chained, or a Russian ending (`-е`, `-ом`, `-ский`); a Russian form that
changes the name's last letter (`в Сулюкте`, `из Кызыл-Кии`) only after a Russian preposition. `Самарканде` is not
`Самаркандек`, and a name that is also an ordinary word (`common`) must be written as a place: next to a place word
(айыл, село, району, шаары, г.), capitalised inside a sentence or with an ending, or a compound name written as one
word (`Жаңы-Жер`, `жаныжер`, not `жаңы жер`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from hotline.lexicon import skeleton

Kind = Literal["rayon", "town", "village"]

_DOUBLE = re.compile(r"(.)\1+")
_WORD = re.compile(r"[^\W\d_]+(?:['’‘`ʻʼ\-][^\W\d_]+)*['’‘`ʻʼ]?")

# Endings, in skeleton letters. Kyrgyz/Uzbek: locative/ablative -да/-дан, relative -гы, genitive/accusative
# -нын/-ны, dative -га (-на after a possessive), -лык, plural -лар, possessive -сы/-ы, person -мын/-быз/-сиз,
# Uzbek -gacha; an optional pronominal н first (Суу-Башында). Russian: the case endings and the adjective -ский.
_MORPH = (
    r"(?:[dt][aeo]n?|[gk][iu]|[ndt][iu]n?|[gkn][aeo]|[ldt][iu]k|[ldt][aeo]r|s[iu][nz]?|[mbp][iu][nz]|ch[aeio]|[iu])"
)
_RUSSIAN = r"(?:a|e|i|u|o|om|em|oi|ei|oiu|eiu|ia|iu|ie|ami|ah|sk[a-z]{0,4})"
_ENDINGS = re.compile(rf"n?{_MORPH}{{0,4}}(?:{_RUSSIAN}|s)?")
_RUSSIAN_ENDING = re.compile(_RUSSIAN)
_RUSSIAN_PREPOSITIONS = frozenset({"v", "vo", "iz", "s", "so", "k", "ko", "u", "do", "ot", "po", "pod", "okolo", "na"})
_DROPPED_LAST = frozenset("аяйыиоуеь")  # the letters a Russian case ending replaces (Сулюкта → в Сулюкте)

# Words around a name that say what kind of place it is, as the beginnings of words (endings may follow): район,
# шаар/shahar/город/town, айыл/aiyl/село/кишлак/qishloq/village; written as skeletons below.
_KIND_SPELLINGS: dict[Kind, tuple[str, ...]] = {
    "rayon": ("район",),
    "town": ("шаар", "shahar", "shahr", "город", "town", "city"),
    "village": ("айыл", "аймак", "сел", "кишлак", "qishloq", "village", "аул", "посел"),
}
_OBLAST_SPELLINGS = ("облус", "область", "обл", "viloyat", "region")  # "Баткен облусу": the oblast, not the rayon
MAX_NAME_WORDS = 3
MIN_CONTENT_LETTERS = 4  # shorter words in a place answer are pronouns and prepositions (мен, мы из, I'm in)


_KIND_WORDS = {kind: tuple(map(skeleton, spellings)) for kind, spellings in _KIND_SPELLINGS.items()}
_OBLAST_WORDS = tuple(map(skeleton, _OBLAST_SPELLINGS))
_TOWN_ABBREVIATION = skeleton("г")  # г. Исфана


@dataclass(frozen=True)
class NameForm:
    """One way a place's name begins a word: its skeleton, and what else a text must show to be that place."""

    stem: str
    code: str
    kind: Kind
    words: int  # how many words the name has when written apart (Кара Бак: 2)
    common: bool = False  # also an ordinary word
    russian_oblique: bool = False  # the name without its last letter: only with a Russian ending and preposition


@dataclass(frozen=True)
class Mention:
    """A place named in a text: the words it covers and the places it may be."""

    start: int
    end: int  # exclusive, in words
    codes: tuple[str, ...]


@dataclass(frozen=True)
class _Word:
    text: str
    skeleton: str
    sentence_start: bool
    set_off: bool  # followed by a comma, colon or the end: a heading ("АРЫЗ Кулунду, ...")


def _kind_of(word: str) -> Kind | None:
    for kind, prefixes in _KIND_WORDS.items():
        if word.startswith(prefixes):
            return kind
    return None


def _is_generic(word: str) -> bool:
    return _kind_of(word) is not None or word.startswith(_OBLAST_WORDS) or word == _TOWN_ABBREVIATION


def name_kind(names: Iterable[str]) -> Kind | None:
    """The kind of place its names' place words say (Баткен шаары: a town), if any."""
    for name in names:
        for word in re.split(r"[\s.]+", name):
            kind = "town" if skeleton(word) == _TOWN_ABBREVIATION else _kind_of(skeleton(word))
            if kind:
                return kind
    return None


def name_forms(name: str, code: str, kind: Kind, *, common: bool = False) -> list[NameForm]:
    """The forms of one name of a place: its core without place words (Баткен шаары → Баткен, Лейлекский → Лейлек)."""
    core = [w for w in re.split(r"[\s.]+", name) if w and not _is_generic(skeleton(w))]
    if not core:
        return []
    core[-1] = re.sub(r"(ский|ская|ское)$", "", core[-1])
    words = sum(len(w.split("-")) for w in core)
    forms = [NameForm(skeleton("".join(core)), code, kind, words, common)]
    if core[-1][-1].lower() in _DROPPED_LAST:
        oblique = skeleton("".join(core)[:-1])
        forms.append(NameForm(oblique, code, kind, words, common, russian_oblique=True))
    return [form for form in forms if len(form.stem) >= 3]


def mark_common(forms: Iterable[NameForm]) -> list[NameForm]:
    """A stem that is an ordinary word for one place is one for every place spelt so (Лейлек the rayon and village)."""
    forms = list(forms)
    common = {form.stem for form in forms if form.common}
    return [replace(form, common=form.stem in common) for form in forms]


def _words(text: str) -> list[_Word]:
    found = []
    for match in _WORD.finditer(text):
        before, after = _neighbour_char(text, match.start() - 1, -1), _neighbour_char(text, match.end(), 1)
        # At either end of the text the neighbour is "", which `in` finds: a sentence starts, a heading ends.
        found.append(_Word(match.group(), skeleton(match.group()), before in ".!?:", after in ",:;"))
    return found


def _neighbour_char(text: str, at: int, step: int) -> str:
    """The first character that is not a space from `at` on, going by `step`; '' at either end of the text."""
    while 0 <= at < len(text) and text[at].isspace():
        at += step
    return text[at] if 0 <= at < len(text) else ""


def _ends_well(rest: str, form: NameForm, previous: str | None) -> bool:
    if form.russian_oblique:
        return bool(rest) and previous in _RUSSIAN_PREPOSITIONS and _RUSSIAN_ENDING.fullmatch(rest) is not None
    # An ending that begins with the name's last letter loses it when doubles are merged (Бешкентте → beshkente).
    return not rest or any(_ENDINGS.fullmatch(r) for r in (rest, form.stem[-1] + rest))


def _written_as_place(words: list[_Word], start: int, end: int, form: NameForm, rest: str, kind: Kind | None) -> bool:
    first, last = words[start], words[end - 1]
    # A capital means a name unless it only starts a sentence ("Лейлек учуп кетти"); a capitalised word with an
    # ending, or standing apart before a comma, is a name even there.
    capitalised = first.text[:1].isupper() and not first.text.isupper()
    capitalised = capitalised and (bool(rest) or not first.sentence_start or last.set_off)
    joined = form.words > 1 and end - start == 1  # a compound name as one word: Жаңы-Жер, жаныжер
    return kind is not None or capitalised or joined


def _match_at(words: list[_Word], i: int, index: dict[str, list[NameForm]], answering: bool) -> Mention | None:
    best: tuple[int, int, list[NameForm]] | None = None  # (stem length, words, forms)
    previous = words[i - 1].skeleton if i else None
    joined, before_last = "", 0
    for end in range(i + 1, min(i + MAX_NAME_WORDS, len(words)) + 1):
        before_last = len(joined)
        joined = _DOUBLE.sub(r"\1", joined + words[end - 1].skeleton)
        if len(joined) >= 3 and joined[:3] not in index:
            break  # no name begins so, nor will with more words joined
        for form in index.get(joined[:3], ()):
            stem = form.stem
            # The name must reach into the last word taken ("Кара Бакта": both words; "Дара акча": one).
            if not joined.startswith(stem) or len(stem) <= before_last:
                continue
            if not _ends_well(joined[len(stem) :], form, previous):
                continue
            kind = _neighbour_kind(words, i, end)
            if form.common and not answering and not _written_as_place(words, i, end, form, joined[len(stem) :], kind):
                continue
            if best is None or len(stem) > best[0]:
                best = (len(stem), end, [form])
            elif len(stem) == best[0] and end == best[1]:
                best[2].append(form)
    if best is None:
        return None
    _, end, forms = best
    if end < len(words) and words[end].skeleton.startswith(_OBLAST_WORDS):
        return None
    kind = _neighbour_kind(words, i, end)
    chosen = [f for f in forms if f.kind == kind] or forms
    return Mention(i, end, tuple(dict.fromkeys(f.code for f in chosen)))


def _neighbour_kind(words: list[_Word], start: int, end: int) -> Kind | None:
    """The kind of place a word just after (району, шаары, айылы) or before (село, г.) the name says."""
    if end < len(words) and (kind := _kind_of(words[end].skeleton)):
        return kind
    if start:
        before = words[start - 1].skeleton
        return "town" if before == _TOWN_ABBREVIATION else _kind_of(before)
    return None


def index_forms(forms: Iterable[NameForm]) -> dict[str, list[NameForm]]:
    """Forms by their first three letters, so a word is compared with few names."""
    index: dict[str, list[NameForm]] = {}
    for form in forms:
        index.setdefault(form.stem[:3], []).append(form)
    return index


def find_mentions(text: str, index: dict[str, list[NameForm]], *, answering: bool = False) -> list[Mention]:
    """Every place named in a text, left to right; a name's words are not read again."""
    words = _words(text)
    mentions, i = [], 0
    while i < len(words):
        mention = _match_at(words, i, index, answering)
        if mention is None:
            i += 1
            continue
        mentions.append(mention)
        i = mention.end
    return mentions


def other_words(text: str, mentions: list[Mention]) -> int:
    """How many words of a text could say more than where: neither a place's name, nor a place word (айыл, району,
    г.), nor a short word such as a pronoun or preposition (мен, из, in)."""
    covered = {n for m in mentions for n in range(m.start, m.end)}
    return sum(
        1
        for n, word in enumerate(_words(text))
        if n not in covered and len(word.skeleton) >= MIN_CONTENT_LETTERS and not _is_generic(word.skeleton)
    )
