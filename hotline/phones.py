"""Phone numbers: E.164 normalisation, encryption at rest, keyed look-up hashes, masking for people and logs."""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

_OLD_TRUNK = re.compile(r"^8(\d{9})$")


class InvalidPhone(ValueError):
    """The text is not a phone number we can send to."""


@lru_cache(maxsize=16384)
def normalise_phone(raw: str, region: str = "KG") -> str:
    """Return the number in E.164 (+996555123456), accepting the forms people and operators write. Kept per raw
    form: parsing costs more than the rest of a keyword SMS's Python, and a phone writes again and again."""
    digits = re.sub(r"[\s\-().]", "", raw or "")
    # The Soviet-era trunk prefix "8 555 123456" is still written; phonenumbers rejects it for KG.
    old = _OLD_TRUNK.match(digits)
    if old and region == "KG":
        digits = "0" + old.group(1)
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("not a valid phone number")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def mask_phone(e164: str) -> str:
    """Show a number to officers without revealing it: +996 55• ••• •56."""
    if len(e164) < 8:
        return "•" * len(e164)
    country, rest = e164[:4], e164[4:]
    hidden = rest[:2] + "•" * (len(rest) - 4) + rest[-2:]
    return f"{country} {hidden[:3]} {hidden[3:6]} {hidden[6:]}".rstrip()


def log_phone(e164: str) -> str:
    """The only form of a number allowed in logs: country code and last two digits."""
    return f"{e164[:4]}…{e164[-2:]}" if len(e164) > 6 else "…"


class PhoneVault:
    """Encrypts numbers with rotating Fernet keys and hashes them with a keyed HMAC for look-ups."""

    def __init__(self, encryption_keys: list[str], lookup_key: str) -> None:
        if not encryption_keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in encryption_keys])
        self._lookup_key = lookup_key.encode()

    def encrypt(self, value: str) -> str:
        """Encrypt with the newest key."""
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt with whichever configured key made the token."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: is the key that made it still in HOTLINE_ENCRYPTION_KEYS?") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a token with the newest key."""
        return self._fernet.rotate(token.encode()).decode()

    def private_key(self, purpose: str, value: str) -> str:
        """A keyed hash that cannot be joined to the look-up hash: counts per phone without linking rows to it."""
        return hmac.new(self._lookup_key, f"{purpose}\x00{value}".encode(), hashlib.sha512).hexdigest()[:64]

    def lookup_hash(self, e164: str) -> str:
        """A stable keyed hash: finds a phone's rows without storing the number."""
        return hmac.new(self._lookup_key, e164.encode(), hashlib.sha256).hexdigest()
