"""How many SMS segments a text costs: GSM-7 (160/153) or UCS-2 (70/67, counted in UTF-16 units)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

# Extended grapheme clusters (\X). `regex` comes in with dateparser; it is not declared in pyproject.toml itself.
import regex  # grapheme clusters (\X); a direct dependency, pinned in requirements.lock

# GSM 03.38 default alphabet (ESC excluded: it only introduces the extension table).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs an escape plus the character, two septets.
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]

_GRAPHEME = regex.compile(r"\X", regex.DOTALL)


@dataclass(frozen=True)
class SegmentCount:
    """The encoding a text needs, its length in that encoding's units, and the segments it costs."""

    encoding: Encoding
    units: int
    segments: int
    # Characters that fit in one segment of this encoding, and per segment once split.
    single_limit: int
    multi_limit: int


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 alphabet or its extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _clusters(text: str, encoding: Encoding) -> list[str]:
    """What Twilio never splits: one GSM-7 character (an escape pair is one), or a UCS-2 grapheme cluster.

    As in Twilio's calculator, CR LF is two characters that may be split.
    """
    if encoding == "GSM-7":
        return list(text)
    clusters: list[str] = []
    for cluster in _GRAPHEME.findall(text):
        clusters.extend(cluster if cluster == "\r\n" else [cluster])
    return clusters


def _cost(cluster: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if cluster in GSM7_EXTENSION else 1
    # UTF-16 code units: characters beyond the BMP (most emoji, each regional indicator) take a surrogate pair.
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in cluster)


def _pack(text: str, encoding: Encoding, multi: int) -> list[str]:
    """Fill each segment of `multi` units in order; a cluster that does not fit in what is left starts the next.

    A cluster longer than a whole segment (a letter under dozens of combining marks) cannot travel whole: it is
    cut between code points, never inside a surrogate pair.
    """
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for cluster in _clusters(text, encoding):
        cost = _cost(cluster, encoding)
        pieces = [cluster] if cost <= multi else list(cluster)
        for piece in pieces:
            piece_cost = cost if len(pieces) == 1 else _cost(piece, encoding)
            if used + piece_cost > multi and current:
                parts.append("".join(current))
                current, used = [], 0
            current.append(piece)
            used += piece_cost
    if current or not parts:
        parts.append("".join(current))
    return parts


def _limits(encoding: Encoding) -> tuple[int, int]:
    return (160, 153) if encoding == "GSM-7" else (70, 67)


def split_segments(text: str) -> list[str]:
    """The texts of the segments Twilio sends `text` as (one, however short; joined they give `text` back)."""
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    single, multi = _limits(encoding)
    if sum(_cost(ch, encoding) for ch in text) <= single:
        return [text]
    return _pack(text, encoding, multi)


@lru_cache(maxsize=4096)
def count_segments(text: str) -> SegmentCount:
    """Count segments as Twilio's calculator does: an escape pair or a grapheme cluster never straddles two. Kept
    per text: the same replies are counted again and again (every render checks its budget)."""
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    single, multi = _limits(encoding)
    units = sum(_cost(ch, encoding) for ch in text)
    segments = 1 if units <= single else len(_pack(text, encoding, multi))
    return SegmentCount(encoding, units, segments, single, multi)
