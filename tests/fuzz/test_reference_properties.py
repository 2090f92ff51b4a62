"""Properties of complaint references: what the Damm check digit promises a family typing one on a keypad."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hotline.complaints.reference import is_valid_reference, new_reference
from tests.fuzz.strategies import fuzz_settings

bodies = st.text("0123456789", min_size=7, max_size=7)


def completed(body: str) -> str:
    """The one reference with this body (found by trying every check digit, not by computing it)."""
    valid = [body + digit for digit in "0123456789" if is_valid_reference(body + digit)]
    assert len(valid) == 1, valid  # exactly one check digit completes any body
    return valid[0]


@fuzz_settings(300)
@given(body=bodies, at=st.integers(0, 7), shift=st.integers(1, 9))
def test_any_single_wrong_digit_is_caught(body: str, at: int, shift: int) -> None:
    reference = completed(body)
    typo = reference[:at] + str((int(reference[at]) + shift) % 10) + reference[at + 1 :]
    assert not is_valid_reference(typo)


@fuzz_settings(300)
@given(body=bodies, at=st.integers(0, 6))
def test_any_two_different_neighbours_swapped_are_caught(body: str, at: int) -> None:
    reference = completed(body)
    swapped = reference[:at] + reference[at + 1] + reference[at] + reference[at + 2 :]
    assert swapped == reference or not is_valid_reference(swapped)


@fuzz_settings(300)
@given(text=st.one_of(st.text(max_size=12), st.text("0123456789 -", max_size=10)))
def test_only_eight_digits_can_be_a_reference(text: str) -> None:
    if is_valid_reference(text):
        assert len(text) == 8 and text.isdigit()


@fuzz_settings(50)
@given(st.integers(0, 10))  # new_reference draws from `secrets`: Hypothesis only repeats it
def test_new_references_are_valid(_: int) -> None:
    reference = new_reference()
    assert len(reference) == 8 and reference.isascii() and reference.isdigit()
    assert is_valid_reference(reference)
