"""Reference numbers (digits, a Damm check digit, random) and the PINs of anonymous complaints."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from stdnum import damm

BODY_DIGITS = 7  # 10 million references: decades of a province's complaints, and hard to guess one


def new_reference() -> str:
    """A random reference: 7 digits and a Damm check digit, which catches any one wrong digit and swapped neighbours."""
    body = f"{secrets.randbelow(10**BODY_DIGITS):0{BODY_DIGITS}d}"
    return body + str(damm.calc_check_digit(body))


def is_valid_reference(text: str) -> bool:
    """True for 8 digits whose check digit matches."""
    return len(text) == BODY_DIGITS + 1 and text.isdigit() and damm.is_valid(text)


def new_pin() -> str:
    """A 4-digit PIN for following an anonymous complaint from any phone."""
    return f"{secrets.randbelow(10_000):04d}"


def pin_hash(key: str, reference: str, pin: str) -> str:
    """The stored form of a PIN, keyed and bound to its complaint."""
    return hmac.new(key.encode(), f"{reference}:{pin}".encode(), hashlib.sha256).hexdigest()
