"""Properties of the segment counter: the SMS standard's sizes, and a count no split could beat or fail to reach."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from hotline.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments
from tests.fuzz.strategies import fuzz_settings

BASIC = sorted(GSM7_BASIC)
EXTENSION = sorted(GSM7_EXTENSION)
# Letters our families' texts use that GSM-7 lacks; emoji and other astral characters take two UTF-16 units.
NOT_GSM = "яңөүЁўқғҳʻ’«»—№ûçЖ"
ASTRAL = "😀🙏🏽👍𝄞"

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
any_texts = st.one_of(gsm_texts, ucs2_texts, st.text(max_size=300))


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


def unit_costs(text: str, gsm: bool) -> list[int]:
    if gsm:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [len(ch.encode("utf-16-le")) // 2 for ch in text]


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
@given(text=st.one_of(gsm_texts, ucs2_texts))
def test_the_count_is_the_fewest_segments_that_hold_the_text(text: str) -> None:
    count = count_segments(text)
    gsm = count.encoding == "GSM-7"
    costs = unit_costs(text, gsm)
    assert count.units == sum(costs)
    if count.units <= count.single_limit:
        assert count.segments == 1
    else:
        # No split into fewer segments exists, and this many do hold it (escape and surrogate pairs whole).
        assert count.segments == fewest_segments(costs, count.multi_limit)
        assert math.ceil(count.units / count.multi_limit) <= count.segments


@fuzz_settings(200)
@given(text=any_texts, more=st.text(max_size=20))
def test_a_longer_message_never_costs_fewer_segments(text: str, more: str) -> None:
    assert count_segments(text + more).segments >= count_segments(text).segments
