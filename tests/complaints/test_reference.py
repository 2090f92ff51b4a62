"""Reference numbers families type on a keypad, and PINs of anonymous complaints."""

from __future__ import annotations

from hotline.complaints.reference import is_valid_reference, new_pin, new_reference, pin_hash


def test_reference_is_eight_digits_with_a_valid_check_digit() -> None:
    for _ in range(200):
        reference = new_reference()
        assert len(reference) == 8 and reference.isdigit()
        assert is_valid_reference(reference)


def test_check_digit_catches_any_one_wrong_digit_and_swapped_neighbours() -> None:
    for _ in range(50):
        reference = new_reference()
        for i in range(8):
            for digit in "0123456789":
                if digit != reference[i]:
                    assert not is_valid_reference(reference[:i] + digit + reference[i + 1 :])
        for i in range(7):
            if reference[i] != reference[i + 1]:
                swapped = reference[:i] + reference[i + 1] + reference[i] + reference[i + 2 :]
                assert not is_valid_reference(swapped)


def test_references_do_not_follow_each_other() -> None:
    drawn = [int(new_reference()[:7]) for _ in range(500)]
    # 500 draws from 10 million collide about 1.2% of the time (birthday paradox): a repeat is drawn again on
    # insert (unique constraint), so allow one here rather than make the test flaky.
    assert len(set(drawn)) >= 499
    steps = {b - a for a, b in zip(drawn, drawn[1:], strict=False)}
    assert len(steps) > 450  # no fixed step between consecutive references


def test_malformed_references_are_invalid() -> None:
    for text in ("", "1234567", "123456789", "abcdefgh", "1234 5678", "-1234567"):
        assert not is_valid_reference(text)


def test_pin_is_four_digits_and_hashed_with_key_and_reference() -> None:
    pin = new_pin()
    assert len(pin) == 4 and pin.isdigit()
    assert pin_hash("k" * 32, "12345678", pin) != pin_hash("k" * 32, "87654321", pin)
    assert pin_hash("k" * 32, "12345678", pin) != pin_hash("j" * 32, "12345678", pin)
    assert pin not in pin_hash("k" * 32, "12345678", pin)
