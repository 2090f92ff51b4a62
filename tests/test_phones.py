"""Phone numbers: normalised, encrypted at rest with rotating keys, looked up by keyed hash, masked."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from hotline.phones import InvalidPhone, PhoneVault, log_phone, mask_phone, normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "0555 123 456",
        "555123456",
        "+996 555 12 34 56",
        "+996555123456",
        "8 555 123456",
        "0555-123-456",
        "(0555) 123456",
    ],
)
def test_normalises_local_forms_to_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+996555123456"


def test_keeps_foreign_numbers_of_migrant_workers() -> None:
    assert normalise_phone("+7 916 123-45-67") == "+79161234567"


@pytest.mark.parametrize("raw", ["", "Beeline", "12", "+996 1", "0000000000000000", "+99655512345678"])
def test_refuses_what_is_not_a_number(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


def test_encryption_round_trip_and_no_plain_text() -> None:
    vault = PhoneVault([Fernet.generate_key().decode()], "k" * 32)
    token = vault.encrypt("+996555123456")
    assert "555123456" not in token
    assert vault.decrypt(token) == "+996555123456"
    assert vault.encrypt("+996555123456") != token  # fresh IV each time: equal numbers look different


def test_rotation_keeps_old_tokens_readable_and_moves_them_to_the_new_key() -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = PhoneVault([old_key], "k" * 32).encrypt("+996555123456")
    rotating = PhoneVault([new_key, old_key], "k" * 32)
    assert rotating.decrypt(token) == "+996555123456"
    rotated = rotating.rotate(token)
    assert PhoneVault([new_key], "k" * 32).decrypt(rotated) == "+996555123456"
    with pytest.raises(ValueError, match="HOTLINE_ENCRYPTION_KEYS"):
        PhoneVault([new_key], "k" * 32).decrypt(token)


def test_lookup_hash_is_stable_and_depends_on_the_key() -> None:
    key = Fernet.generate_key().decode()
    one, two = PhoneVault([key], "a" * 32), PhoneVault([key], "b" * 32)
    assert one.lookup_hash("+996555123456") == one.lookup_hash("+996555123456")
    assert one.lookup_hash("+996555123456") != one.lookup_hash("+996555123457")
    assert one.lookup_hash("+996555123456") != two.lookup_hash("+996555123456")


def test_masks_for_officers_and_logs() -> None:
    assert mask_phone("+996555123456") == "+996 55• ••• •56"
    assert log_phone("+996555123456") == "+996…56"
