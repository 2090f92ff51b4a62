"""Properties of the segment counter: the SMS standard's sizes, and a count no split could beat or fail to reach."""

from __future__ import annotations

import math
import unicodedata

import regex
from hypothesis import given
from hypothesis import strategies as st

from hotline.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments, split_segments
from tests.fuzz.strategies import fuzz_settings

BASIC = sorted(GSM7_BASIC)
EXTENSION = sorted(GSM7_EXTENSION)
# Letters our families' texts use that GSM-7 lacks; emoji and other astral characters take two UTF-16 units.
NOT_GSM = "яңөүЁўқғҳʻ’«»—№ûçЖ"
ASTRAL = "😀🙏🏽👍𝄞"
# Pieces that build grapheme clusters of several UTF-16 units: regional indicators (flags), skin tones, ZWJ,
# variation selectors, a keycap and combining marks. Drawn loose, so they also come unpaired and in odd places.
JOINERS = ["🇰", "🇬", "🇺", "🇿", "🏽", "\u200d", "\ufe0f", "\u20e3", "\u0301", "\u0306", "\u0308", "👨", "👩", "❤"]
CLUSTERS = ["🇰🇬", "🇺🇿", "👍🏽", "👨\u200d👩\u200d👧", "❤️", "1️⃣", "е\u0301", "и\u0306", "ё", "\r\n"]

# Lengths around every boundary: 70/67 and 160/153, and their multiples.
lengths = st.one_of(
    st.integers(0, 500),
    st.sampled_from([n + d for n in (67, 70, 134, 153, 160, 201, 306, 459) for d in (-1, 0, 1)]),
)
gsm_basic_texts = lengths.flatmap(lambda n: st.text(st.sampled_from(BASIC), min_size=n, max_size=n))
gsm_texts = st.text(st.sampled_from(BASIC + EXTENSION), max_size=400)
bmp_texts = st.builds(
    lambda text, ch, at: text[:at] + ch + text[at:],
    st.text(st.sampled_from(BASIC + list(NOT_GSM)), max_size=300),
    st.sampled_from(NOT_GSM),
    st.integers(0, 300),
)
ucs2_texts = st.builds(
    lambda text, ch, at: text[:at] + ch + text[at:],
    st.text(st.sampled_from(BASIC + list(NOT_GSM + ASTRAL)), max_size=300),
    st.sampled_from(NOT_GSM),
    st.integers(0, 300),
)
cluster_pieces = st.lists(
    st.one_of(st.sampled_from(BASIC[:20] + list(NOT_GSM)), st.sampled_from(CLUSTERS), st.sampled_from(JOINERS)),
    min_size=1,
    max_size=250,
).map("".join)
# A cluster placed just before a 67- or 134-unit boundary, where it could straddle two segments, in a text that
# ends at or just short of a multiple of 67 units (where one segment more or less shows).
cluster_texts = st.one_of(
    cluster_pieces,
    st.builds(
        lambda n, cluster, end, short: (
            "я" * n + cluster + "я" * max(0, end - n - len(cluster.encode("utf-16-le")) // 2 - short)
        ),
        st.sampled_from([n - d for n in (67, 134) for d in range(8)]),
        st.sampled_from(CLUSTERS),
        st.sampled_from([134, 201, 268]),
        st.integers(0, 3),
    ),
)
any_texts = st.one_of(gsm_texts, ucs2_texts, cluster_texts, st.text(max_size=300))


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters, CR LF taken apart (Twilio's calculator may split it)."""
    found: list[str] = []
    for cluster in regex.findall(r"\X", text, flags=regex.DOTALL):
        found.extend(cluster if cluster == "\r\n" else [cluster])
    return found


def expected_segments(length: int, single: int, multi: int) -> int:
    """The textbook count when every character costs one unit."""
    return 1 if length <= single else math.ceil(length / multi)


def fewest_segments(costs: list[int], multi: int) -> int:
    """The fewest segments of at most `multi` units holding the characters in order, none cut in two (by search)."""
    best = [0] + [len(costs) + 1] * len(costs)  # best[i]: segments for the first i characters
    for end in range(1, len(costs) + 1):
        used, start = 0, end
        while start > 0 and used + costs[start - 1] <= multi:
            used += costs[start - 1]
            start -= 1
            best[end] = min(best[end], best[start] + 1)
    return best[-1]


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def unit_costs(text: str, gsm: bool) -> list[int]:
    """What each unsplittable piece costs: a GSM-7 character (escape pairs 2), or a UCS-2 grapheme cluster."""
    if gsm:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [utf16(cluster) for cluster in graphemes(text)]


@fuzz_settings(200)
@given(text=gsm_basic_texts)
def test_gsm7_texts_cost_160_then_153_a_segment(text: str) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units) == ("GSM-7", len(text))
    assert count.segments == expected_segments(len(text), 160, 153)


@fuzz_settings(200)
@given(text=bmp_texts)
def test_one_letter_outside_gsm7_makes_the_text_ucs2_at_70_then_67(text: str) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units) == ("UCS-2", len(text))
    assert count.segments == expected_segments(len(text), 70, 67)


@fuzz_settings(300)
@given(text=st.one_of(gsm_texts, ucs2_texts, cluster_texts))
def test_the_count_is_the_fewest_segments_that_hold_the_text(text: str) -> None:
    count = count_segments(text)
    gsm = count.encoding == "GSM-7"
    costs = unit_costs(text, gsm)
    assert count.units == sum(costs)
    assert count.segments == len(split_segments(text))
    if max(costs, default=0) > count.multi_limit:
        return  # a cluster longer than a segment must be cut: see the next test
    if count.units <= count.single_limit:
        assert count.segments == 1
    else:
        # No split into fewer segments exists, and this many do hold it (escape pairs and grapheme clusters whole).
        assert count.segments == fewest_segments(costs, count.multi_limit)
        assert math.ceil(count.units / count.multi_limit) <= count.segments


@fuzz_settings(200)
@given(text=any_texts, more=st.text(max_size=20))
def test_a_longer_message_never_costs_fewer_segments(text: str, more: str) -> None:
    assert count_segments(text + more).segments >= count_segments(text).segments


@fuzz_settings(300)
@given(text=st.one_of(ucs2_texts, cluster_texts, st.text(max_size=300)))
def test_a_segment_never_splits_a_grapheme(text: str) -> None:
    parts = split_segments(text)
    count = count_segments(text)
    assert "".join(parts) == text
    if len(parts) == 1:
        return
    boundaries, at = set(), 0
    for part in parts[:-1]:
        at += len(part)
        boundaries.add(at)
    clusters, at = graphemes(text), 0
    for cluster in clusters:
        inside = set(range(at + 1, at + len(cluster)))
        if utf16(cluster) <= count.multi_limit:
            assert not inside & boundaries, f"{cluster!r} split across segments"
        at += len(cluster)
    whole = max(map(utf16, clusters)) <= count.multi_limit
    for before, part in zip([None, *parts], parts, strict=False):
        assert 0 < utf16(part) <= count.multi_limit
        # Checked without the grapheme rules too: nothing that only ever follows a character starts a segment.
        if before is not None and whole:
            assert unicodedata.category(part[0]) not in ("Mn", "Me", "Mc")
            assert part[0] not in "\u200d\ufe0f\U0001f3fd"
            assert not before.endswith("\u200d")


@fuzz_settings(100)
@given(base=st.sampled_from("aя😀"), marks=st.integers(67, 300), mark=st.sampled_from("\u0301\U000e0020"))
def test_a_cluster_longer_than_a_segment_is_cut_only_between_code_points(base: str, marks: int, mark: str) -> None:
    text = base + mark * marks
    parts = split_segments(text)
    assert "".join(parts) == text
    if utf16(text) <= 70:
        assert parts == [text]
    else:
        assert all(0 < utf16(part) <= 67 for part in parts)
        assert len(parts) == fewest_segments([utf16(ch) for ch in text], 67)
