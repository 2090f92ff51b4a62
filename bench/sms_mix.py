"""The webhook benchmark's messages, settings and signed requests, shared by bench.webhook, bench.statements and
bench.wrk so that every measurement sends the same mix. Signatures are computed with Twilio's own library, not the
hotline's code: the bench must not depend on the hot path it measures."""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlencode

from cryptography.fernet import Fernet
from twilio.request_validator import RequestValidator

ACCOUNT = "AC" + "c" * 32
SHORT_NUMBER = "+996312900900"
PHONES = [f"+996555{i:06d}" for i in range(2000)]
KEYWORDS = ["HELP", "ПОСОБИЕ", "ЖӨЛӨКПУЛ 1", "BENEFITS 2", "СТАТУС", "CHECK", "ТИЛ", "hello", "ПОМОЩЬ", "НАФАҚА 3"]
# Complaint intake needs the phone's municipality: set for every contact after the warm-up created them.
COMPLAINT_PREPARE = "UPDATE contact SET municipality_code = 'dara'"
# Settings the operator's environment might hold that would make the bench's server differ from production's
# defaults (the production log format is JSON at INFO: HOTLINE_LOG_FORMAT and HOTLINE_LOG_LEVEL unset).
NOT_INHERITED = ("HOTLINE_LOG_FORMAT", "HOTLINE_LOG_LEVEL", "HOTLINE_WEB_WORKERS", "HOTLINE_SCHEDULER_IN_PROCESS")

Mix = list[tuple[str, str]]  # (sender, body)


def keyword_mix(count: int, phones: list[str] = PHONES) -> Mix:
    """(b): real keywords from `phones` in turn, phone p's k-th message keyword (p + k) mod 10: never the same text
    twice in a row (more than 3 alike is a reply loop, not answered), and as a family goes on (ПОСОБИЕ, then a
    programme; ТИЛ, then a word that is no language)."""
    n = len(phones)
    return [(phones[i % n], KEYWORDS[(i % n + i // n) % len(KEYWORDS)]) for i in range(count)]


def complaint_mix(count: int, phones: list[str] = PHONES) -> Mix:
    """(c): `ЖАЛОБА <text>`, one complaint filed per SMS."""
    return [(phones[i % len(phones)], f"ЖАЛОБА пособие не платят уже {i % 12 + 1} месяцев") for i in range(count)]


def warm_mix(phones: list[str] = PHONES) -> Mix:
    """The warm-up: HELP from every phone, so the contacts exist before anything is measured."""
    return [(phone, "HELP") for phone in phones]


def environment(url: str, port: int) -> dict[str, str]:
    """Production settings with fresh secrets for one server on `port` (HOTLINE_* environment variables)."""
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    env.update(
        HOTLINE_ENV="production",
        HOTLINE_DATABASE_URL=url,
        HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOTLINE_SECRET_KEY=secrets.token_urlsafe(32),
        HOTLINE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        HOTLINE_LOOKUP_KEY=secrets.token_urlsafe(32),
        HOTLINE_TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        HOTLINE_TWILIO_ACCOUNT_SID=ACCOUNT,
        HOTLINE_MAX_COMPLAINTS_PER_DAY="1000000",
        # The database is migrated before the server starts; N workers migrating at once would race.
        HOTLINE_MIGRATE_ON_START="false",
    )
    return env


def signed_form(token: str, url: str, sender: str, body: str) -> tuple[bytes, str]:
    """The urlencoded form Twilio posts for one SMS (its own MessageSid) and its X-Twilio-Signature for `url`."""
    form = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": ACCOUNT,
        "From": sender,
        "To": SHORT_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    signature: str = RequestValidator(token).compute_signature(url, form)
    return urlencode(form).encode(), signature


def raw_requests(env: dict[str, str], port: int, mix: Mix) -> list[bytes]:
    """Raw HTTP/1.1 requests to the server on `port`, each signed for its own form, as Twilio would post them."""
    url = f"{env['HOTLINE_PUBLIC_URL']}/twilio/sms"
    built = []
    for sender, body in mix:
        payload, signature = signed_form(env["HOTLINE_TWILIO_AUTH_TOKEN"], url, sender, body)
        head = (
            f"POST /twilio/sms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(payload)}\r\n"
            f"X-Twilio-Signature: {signature}\r\n\r\n"
        )
        built.append(head.encode() + payload)
    return built
