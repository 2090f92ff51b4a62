"""What an SMS costs: the counter every reply is measured with."""

from __future__ import annotations

import pytest

from hotline.segments import count_segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters count twice
        ("€" * 81, "GSM-7", 162, 2),
        ("[]{}^~|\\", "GSM-7", 16, 1),
        ("я" * 70, "UCS-2", 70, 1),
        ("я" * 71, "UCS-2", 71, 2),
        ("я" * 134, "UCS-2", 134, 2),
        ("я" * 135, "UCS-2", 135, 3),
        ("я" * 201, "UCS-2", 201, 3),
        ("ң" + "a" * 69, "UCS-2", 70, 1),  # one Kyrgyz letter makes the whole SMS UCS-2
        ("😀" * 35, "UCS-2", 70, 1),  # emoji are two UTF-16 units
        ("😀" * 36, "UCS-2", 72, 2),
        ("O'zbekcha g'alaba", "GSM-7", 17, 1),  # plain apostrophe stays GSM-7
        ("Oʻzbekcha", "UCS-2", 9, 1),  # the modifier letter ʻ does not
        ("Ça coûte", "UCS-2", 8, 1),  # û is not in GSM-7
    ],
)
def test_counts_encoding_units_and_segments(text: str, encoding: str, units: int, segments: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)


def test_escape_pair_never_straddles_two_segments() -> None:
    # 152 plain characters then "€": the pair cannot fit in the 1 place left, so the split moves it.
    assert count_segments("a" * 152 + "€" + "a" * 153).segments == 3
    assert count_segments("a" * 151 + "€" + "a" * 153).segments == 2


def test_surrogate_pair_never_straddles_two_segments() -> None:
    assert count_segments("я" * 66 + "😀" + "я" * 67).segments == 3
    assert count_segments("я" * 65 + "😀" + "я" * 67).segments == 2
