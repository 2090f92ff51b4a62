"""Numbers as families write them, in any of our languages and either script: "5 000", "5.000", "5к", "5 миң",
"беш миң", "пять тысяч", "besh ming", "айына 5 миң сом". A reading says when it is not one sure number (a range
"3-4 миң", two numbers, letters glued on, "1.5" alone), so a dialogue can ask again instead of guessing.

Shared base: imports no domain. Word lists live in numbers.toml."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Literal

from hotline.lexicon import skeleton

NUMBERS_FILE = Path(__file__).with_name("numbers.toml")
MAX_VALUE = 10**12  # beyond any household's figures: more digits is a typo or a phone number
Problem = Literal["", "none", "range", "several", "unclear"]

_TOKEN = re.compile(
    r"(?P<num>[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+(?![0-9.,])|[0-9]+(?:[.,][0-9]+)*)"
    r"|(?P<word>[^\W\d_]+(?:['’‘`ʻʼ][^\W\d_]+)*['’‘`ʻʼ]?)"
    r"|(?P<dash>[-–—~])"
    r"|(?P<other>\S)"
)
_WORD = re.compile(r"[^\W_]+(?:['’‘`ʻʼ][^\W\d_]+)*")
_GROUPED = re.compile(r"[0-9]{1,3}(?:([ \u00a0\u202f.,])[0-9]{3})(?:\1[0-9]{3})*")
_DECIMAL = re.compile(r"[0-9]+[.,][0-9]{1,2}")


@dataclass(frozen=True)
class Words:
    """The number words of numbers.toml, by skeleton."""

    units: dict[str, int]
    multipliers: dict[str, int]
    halves: dict[str, Fraction]
    endings: frozenset[str]
    currency: frozenset[str]
    range_words: frozenset[str]
    connectors: frozenset[str]
    ordinals: dict[str, int]
    ordinal_endings: tuple[str, ...]


@lru_cache(maxsize=1)
def words() -> Words:
    """The number words, loaded once."""
    data = tomllib.loads(NUMBERS_FILE.read_text(encoding="utf-8"))

    def by_value(table: dict[str, list[str]]) -> dict[str, int]:
        return {skeleton(w): int(value) for value, ws in table.items() for w in ws}

    halves = {skeleton(w): Fraction(3, 2) for w in data["halves"]["one_and_a_half"]}
    halves |= {skeleton(w): Fraction(1, 2) for w in data["halves"]["half"]}
    return Words(
        units=by_value(data["units"]),
        multipliers=by_value(data["multipliers"]),
        halves=halves,
        endings=frozenset(skeleton(w) for w in data["glued"]["endings"]),
        currency=frozenset(skeleton(w) for w in data["glued"]["currency"]),
        range_words=frozenset(skeleton(w) for w in data["between"]["range"]),
        connectors=frozenset(skeleton(w) for w in data["between"]["connectors"]),
        ordinals=by_value({k: v for k, v in data["ordinals"].items() if k != "endings"}),
        ordinal_endings=tuple(sorted({skeleton(w) for w in data["ordinals"]["endings"]}, key=len, reverse=True)),
    )


def multiplier(word: str) -> int | None:
    """What a multiplier word is worth, also with a case ending ('миңден', 'mingdan') or Russian forms ('тыщ')."""
    found = words()
    sk = skeleton(word)
    if sk == "k" and word.lower() not in ("k", "к"):
        return None  # only the letter itself is a thousand ("5к"), not "q" or "къ" that fold to it
    if sk in found.multipliers:
        return found.multipliers[sk]
    if sk.startswith("tis") and len(sk) <= 9:  # тыс., тысяча, тысячи, тыщ, tisyach: every form of the Russian word
        return 1000
    for cut in range(1, min(6, len(sk) - 1)):
        if sk[-cut:] in found.endings and sk[:-cut] in found.multipliers:
            return found.multipliers[sk[:-cut]]
    return None


def word_value(word: str) -> int | None:
    """The value of one number word below a thousand ('беш', 'besh', 'пять', 'five' → 5), else None."""
    return words().units.get(skeleton(word))


def ordinal(word: str) -> int | None:
    """The value of an ordinal word: 'второй', 'second', 'экинчиси', 'birinchi', 'бешинчи' → 2, 2, 2, 1, 5."""
    found = words()
    sk = skeleton(word)
    if sk in found.ordinals:
        return found.ordinals[sk]
    for ending in found.ordinal_endings:
        if sk.endswith(ending) and len(sk) > len(ending):
            stem = sk[: -len(ending)]
            for candidate in (stem, stem + "i", stem + "u"):  # беш+инчи, эк(и)+инчи, тогуз+унчу
                if candidate in found.units and found.units[candidate] > 0:
                    return found.units[candidate]
    return None


def read_choice(text: str) -> int | None:
    """A choice from a numbered menu: one sure number ('2', 'номер 3', '№1', '1-чи') or one ordinal ('второй',
    'экинчиси', 'the first one')."""
    ordinals = {ordinal(w) for w in _WORD.findall(text[:200])} - {None}
    if len(ordinals) == 1:
        return ordinals.pop()
    return parse_amount(text) if not ordinals else None


@dataclass(frozen=True)
class _Atom:
    kind: Literal["num", "unit", "half", "mult", "range", "join", "word", "bad"]
    value: Fraction = Fraction(0)
    needs_number: bool = False  # "к", "k": a thousand only right after a number
    weak: bool = False  # "он", "on": ten, or "he" and "on"


def _digits(text: str) -> _Atom:
    if _GROUPED.fullmatch(text):  # 5 000, 5.000, 1,500,000: thousands in groups
        digits = re.sub(r"\D", "", text)
        return _Atom("num", Fraction(int(digits))) if len(digits) <= 13 else _Atom("bad")
    if _DECIMAL.fullmatch(text):  # 1,5 or 2.5: meaningful before a multiplier only
        return _Atom("num", Fraction(text.replace(",", ".")))
    if text.isdecimal() and len(text) <= 13:
        return _Atom("num", Fraction(int(text)))
    return _Atom("bad")  # a date, a version, a phone number: not an amount


def _word(text: str, glued: bool) -> _Atom:
    if any(ch.isnumeric() for ch in text):
        return _Atom("bad")  # ², ①, ٣: digits we do not read
    found = words()
    sk = skeleton(text)
    if sk in found.units and not glued:
        return _Atom("unit", Fraction(found.units[sk]), weak=sk == "on")
    if sk in found.halves and not glued:
        return _Atom("half", found.halves[sk])
    value = multiplier(text)
    if value is not None:
        return _Atom("mult", Fraction(value), needs_number=len(sk) == 1)
    if sk in found.currency or (glued and sk in found.endings):
        return _Atom("join")
    if sk in found.range_words and not glued:
        return _Atom("range")
    if sk in found.connectors and not glued:
        return _Atom("join")
    return _Atom("bad") if glued else _Atom("word")


def _atoms(text: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    end, previous = -1, ""
    for found in _TOKEN.finditer(text):
        kind, token = found.lastgroup or "other", found.group(0)
        glued = found.start() == end
        if kind == "num":
            atom = _Atom("bad") if glued and previous == "word" else _digits(token)
        elif kind == "word":
            atom = _word(token, glued and previous in ("num", "hyphen"))
        elif kind == "dash" and glued and previous == "num" and text[found.end() : found.end() + 1].isalpha():
            atom, kind = _Atom("join"), "hyphen"  # "5000-ден", "5-ти": an ending after a hyphen
        elif kind == "dash":
            atom = _Atom("range")
        else:
            atom = (
                _Atom("bad")
                if token.isnumeric()
                else _Atom("join")
                if token in ".,;:!?()\"«»'/+=*#№"
                else _Atom("word")
            )
        atoms.append(atom)
        end, previous = found.end(), kind
    return _drop_weak(atoms)


def _drop_weak(atoms: list[_Atom]) -> list[_Atom]:
    # "он"/"on" is ten in Kyrgyz and Uzbek but "he" in Russian and a preposition in English: ten only beside
    # another number word ("он беш" = 15) or as the whole answer.
    if len(atoms) == 1:
        return atoms
    kept = list(atoms)
    for i, atom in enumerate(atoms):
        if atom.weak:
            near = [a.kind for a in atoms[max(0, i - 1) : i] + atoms[i + 1 : i + 2]]
            if not any(k in ("unit", "mult", "half") for k in near):
                kept[i] = _Atom("word")
    return kept


@dataclass
class _Number:
    total: Fraction = Fraction(0)
    current: Fraction = Fraction(0)
    scale: int = 0  # the last multiplier of a thousand or more: a later one must be smaller
    in_words: bool = False
    after_range: bool = False

    @property
    def value(self) -> Fraction:
        return self.total + self.current


def _trailing_zeros(value: Fraction) -> int:
    n, zeros = int(value), 0
    while value.denominator == 1 and n and n % 10 == 0:
        n, zeros = n // 10, zeros + 1
    return zeros


class _Reader:
    """Builds numbers from atoms the way they are said: units add up, multipliers multiply what precedes them."""

    def __init__(self) -> None:
        self.numbers: list[_Number] = []
        self.current: _Number | None = None
        self.pending_range = False
        self.unclear = False

    def start(self, number: _Number) -> None:
        number.after_range, self.pending_range = self.pending_range, False
        self.numbers.append(number)
        self.current = number

    def feed(self, atom: _Atom) -> None:
        current = self.current
        if atom.kind == "bad":
            self.unclear = True
        elif atom.kind == "word":
            self.current = None
        elif atom.kind == "range":
            self.pending_range, self.current = current is not None, None
        elif atom.kind == "num":
            if current is not None and current.current == 0 and current.scale > atom.value:
                current.current = atom.value  # "1 миллион 500 миң", "5 миң 300"
            else:
                self.start(_Number(current=atom.value))
        elif atom.kind in ("unit", "half"):
            self.add(atom.value, atom.kind == "half")
        elif atom.kind == "mult":
            self.multiply(atom)

    def add(self, value: Fraction, half: bool) -> None:
        current = self.current
        if half and value == Fraction(1, 2):
            if current is not None and current.current.denominator == 1 and current.current > 0:
                current.current += value  # "бир жарым" = 1.5
            else:
                self.start(_Number(current=value, in_words=True))
            return
        if current is not None and (
            (current.current == 0 and current.total > 0 and current.scale > value)
            or (current.current > 0 and current.in_words and value < 10 ** _trailing_zeros(current.current))
        ):
            current.current += value  # "жыйырма беш" = 25, "миң беш жүз" = 1 500
        else:
            self.start(_Number(current=value, in_words=True))

    def multiply(self, atom: _Atom) -> None:
        current, m = self.current, atom.value
        has_number = current is not None and current.current > 0
        if atom.needs_number and not has_number:
            self.current = None  # "к" alone is a Russian preposition
        elif m == 100 and current is not None and 0 < current.current < 10:
            current.current *= m  # "беш жүз" = 500
        elif m == 100:
            self.start(_Number(current=m, in_words=True))
        elif current is not None and has_number and (current.scale == 0 or m < current.scale):
            current.total += current.current * m
            current.current, current.scale = Fraction(0), int(m)
        elif current is not None and has_number:  # "5 миң 3 миң": two numbers
            moved, current.current = current.current, Fraction(0)
            self.start(_Number(total=moved * m, scale=int(m)))
        else:
            self.start(_Number(total=m, scale=int(m), in_words=True))  # "миң" alone is a thousand


@dataclass(frozen=True)
class NumberReading:
    """What a message says as a number: `value` when it is one sure whole number; otherwise `problem` says why not
    ('none', 'range' with `low`/`high`, 'several', 'unclear')."""

    value: int | None
    problem: Problem = ""
    low: int | None = None
    high: int | None = None


def read_number(text: str) -> NumberReading:
    """Read the one number a message holds, in any language or script; never raises."""
    reader = _Reader()
    for atom in _atoms(text[:500]):
        reader.feed(atom)
    numbers = reader.numbers
    if reader.unclear:
        return NumberReading(None, "unclear")
    if not numbers:
        return NumberReading(None, "none")
    if len(numbers) == 2 and numbers[1].after_range:
        low, high = numbers[0], numbers[1]
        low_value = low.value
        if low.scale == 0 and high.scale and low_value * high.scale <= high.value:
            low_value *= high.scale  # "3-4 миң": the multiplier belongs to both ends
        if low_value.denominator == 1 and high.value.denominator == 1 and low_value < high.value:
            return NumberReading(None, "range", int(low_value), int(high.value))
        return NumberReading(None, "unclear")
    if len(numbers) > 1:
        return NumberReading(None, "several")
    value = numbers[0].value
    if value.denominator != 1 or value >= MAX_VALUE:
        return NumberReading(None, "unclear")  # "1.5" alone: one and a half, or 1 500?
    return NumberReading(int(value))


def parse_amount(text: str) -> int | None:
    """The one whole number a message holds when it is sure ('айына 5 миң сом' → 5000), else None."""
    return read_number(text).value
