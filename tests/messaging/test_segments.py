"""What an SMS costs: the counter every reply is measured with."""

from __future__ import annotations

import pytest

from hotline.segments import count_segments, split_segments


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


# Twilio's own segment calculator (TwilioDevEd/message-segment-calculator, SegmentedMessage.segmentsCount) keeps
# each grapheme cluster whole: a flag, a skin tone, a joined emoji or a letter with its combining mark that does not
# fit in what is left of a segment starts the next one. Every count below is what that calculator gives.
Y = "я"
FLAG = "🇰🇬"  # two regional indicators: 4 UTF-16 units, one cluster
FAMILY = "👨\u200d👩\u200d👧"  # three emoji joined by ZWJ: 8 units


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        pytest.param(Y * 66 + FLAG, 1, id="flag-fits-one-sms-of-70"),
        pytest.param(Y * 65 + FLAG + Y * 65, 3, id="flag-across-67"),
        pytest.param(Y * 67 + FLAG + Y * 63, 2, id="flag-just-after-67"),
        pytest.param(Y * 132 + FLAG + Y * 65, 4, id="flag-across-134"),
        pytest.param(FLAG * 33 + Y, 3, id="sixteen-flags-a-segment"),
        pytest.param(FLAG * 33 + Y * 2, 3, id="flags-then-letters"),
        pytest.param(Y * 66 + "🇰" + Y * 66, 3, id="lone-regional-indicator"),
        pytest.param(Y * 65 + "👍🏽" + Y * 65, 3, id="skin-tone-across-67"),
        pytest.param(Y * 62 + FAMILY + Y * 64, 3, id="zwj-family-across-67"),
        pytest.param(Y * 66 + "❤️" + Y * 66, 3, id="variation-selector-across-67"),
        pytest.param(Y * 66 + "1️⃣" + Y * 65, 3, id="keycap-across-67"),
        pytest.param(Y * 66 + "е\u0301" + Y * 66, 3, id="cyrillic-combining-acute-across-67"),
        pytest.param(Y * 66 + "и\u0306" + Y * 66, 3, id="decomposed-й-across-67"),
        pytest.param("a" * 66 + "e\u0301" + "a" * 66, 3, id="latin-combining-acute-across-67"),
        pytest.param(Y * 66 + "😀" + Y * 66, 3, id="surrogate-pair-across-67"),
        pytest.param(Y * 65 + "😀" + Y * 67, 2, id="surrogate-pair-before-67"),
        pytest.param(Y * 66 + "\r\n" + Y * 66, 2, id="crlf-may-split-ucs2"),
        pytest.param("a" * 152 + "€" + "a" * 152, 3, id="escape-across-153"),
        pytest.param("a" * 151 + "€" + "a" * 153, 2, id="escape-before-153"),
        pytest.param("a" * 305 + "€" + "a" * 100, 3, id="escape-across-306"),
        pytest.param("a" * 152 + "\r\n" + "a" * 152, 2, id="crlf-may-split-gsm7"),
    ],
)
def test_counts_as_twilios_calculator_grapheme_clusters_kept_whole(text: str, segments: int) -> None:
    assert count_segments(text).segments == segments


def test_segments_join_back_to_the_text_and_keep_the_flag_whole() -> None:
    text = Y * 65 + FLAG + Y * 65
    parts = split_segments(text)
    assert "".join(parts) == text
    assert parts == [Y * 65, FLAG + Y * 63, Y * 2]


def test_a_cluster_longer_than_a_segment_is_cut_between_code_points() -> None:
    # Twilio's calculator would put all 201 units in one overfull segment; no handset can, so we cut it (and never
    # inside a surrogate pair), which counts what it really costs.
    text = "a" + "\u0301" * 200
    assert count_segments(text).segments == 3
    assert [len(part) for part in split_segments(text)] == [67, 67, 67]
    assert count_segments(Y * 60 + "😀" + "\U000e0020" * 40).segments == 3
