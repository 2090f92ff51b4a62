"""A body reaching the Twilio webhook is stored exactly as the family wrote it: only what a database cannot hold (C0
and C1 controls but line breaks and tabs, lone surrogates) becomes U+FFFD, and a long concatenated SMS that Twilio
sends base64-encoded is decoded (RapidPro courier's rule), while a short word that happens to be base64 is not."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.channels.twilio import decode_possible_base64
from hotline.config import Settings
from hotline.engine import clean_body
from hotline.models import InboundMessage
from tests.factories import post_form, sms_form

CYRILLIC = "Саламатсызбы! Балам үч күндөн бери ооруп жатат, дарыгерге кантип жазылсам болот? Рахмат."
GORSUCH = "dGhlIHN3ZWF0LCB0aGUgdGVhcnMgYW5kIHRoZSBzYWNyaWZpY2Ugb2Ygd29ya2luZyBBbWVyaWNh\r"  # courier's own test case


def stored_body(client: TestClient, settings: Settings, session: Session, body: str) -> str:
    assert post_form(client, settings, sms_form(body)).status_code == 200
    return session.exec(select(InboundMessage)).one().body


def textwrap_76(text: str) -> list[str]:
    return [text[i : i + 76] for i in range(0, len(text), 76)]


KEPT = [
    "👨\u200d👩\u200d👧",  # family: joined by zero-width joiners
    "ден\u00adсоолук",  # soft hyphen
    "HELP\u200bme",  # zero-width space
    "\ufeffHELP",  # byte-order mark
    "e\u0301 ы\u0306",  # combining acute and breve
    "\u200fمرحبا\u200e",  # direction marks
    "🇰🇬 👍🏽",  # a flag (two regional indicators) and a skin tone
    "line\r\nnext\ttab",
    "\ue000\U000f0000",  # private use: storable, so kept
]


@pytest.mark.parametrize("body", KEPT)
def test_format_and_combining_characters_are_stored_exactly(
    client: TestClient, settings: Settings, session: Session, body: str
) -> None:
    assert clean_body(body) == body
    assert stored_body(client, settings, session, body) == body


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        ("a\x00b", "a\ufffdb"),  # NUL: PostgreSQL cannot store it
        ("x\x07\x1b\x7fy", "x\ufffd\ufffd\ufffdy"),  # C0 and DEL
        ("c1\x80\x85\x9f", "c1\ufffd\ufffd\ufffd"),  # C1 controls, NEL included
        ("😀\u200d\x00", "😀\u200d\ufffd"),
    ],
)
def test_control_characters_are_still_replaced(
    client: TestClient, settings: Settings, session: Session, body: str, stored: str
) -> None:
    assert clean_body(body) == stored
    assert stored_body(client, settings, session, body) == stored


def test_a_lone_surrogate_is_replaced() -> None:
    assert clean_body("a\ud800b") == "a\ufffdb"  # no UTF-8 for it: neither database can hold it


def test_a_base64_body_is_decoded_and_stored(client: TestClient, settings: Settings, session: Session) -> None:
    encoded = base64.b64encode(CYRILLIC.encode()).decode()
    assert len(encoded) >= 60
    assert stored_body(client, settings, session, encoded) == CYRILLIC


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        (
            base64.b64encode("СТОП жардам керек, балам ооруп жатат 🙏".encode()).decode(),
            "СТОП жардам керек, балам ооруп жатат 🙏",
        ),
        (GORSUCH, "the sweat, the tears and the sacrifice of working America"),
        # Twilio cuts the text mid-character: the incomplete last character is dropped, as courier does.
        (
            "QmFubm9uIEV4cGxhaW5zIFRoZSBXb3JsZCAuLi4K4oCcVGhlIENhbXAgb2YgdGhlIFNhaW50c+KA\r",
            "Bannon Explains The World ...\n\u201cThe Camp of the Saints",
        ),
        # Wrapped over lines, as courier's longer case is.
        ("\n".join(textwrap_76(base64.b64encode(CYRILLIC.encode()).decode())), CYRILLIC),
    ],
)
def test_base64_is_decoded_as_courier_does(encoded: str, decoded: str) -> None:
    assert decode_possible_base64(encoded) == decoded


NOT_BASE64 = [
    "HELP",
    "Test",
    "abcd",
    "STOP",
    "ЖАРДАМ",
    "a" * 64,  # valid base64, but decodes to bytes that are not UTF-8
    "A" * 64,  # valid base64 of NULs: not readable
    "9967" * 16,  # a long run of digits
    base64.b64encode(b"short text").decode(),  # under 60 characters
    base64.b64encode("Это не base64 текст".encode())[:-1].decode() + "!" * 4,  # not base64
    base64.b64encode(CYRILLIC.encode()).decode() + " ok",  # text after it
    "",
]


@pytest.mark.parametrize("body", NOT_BASE64)
def test_ordinary_text_is_not_decoded(client: TestClient, settings: Settings, session: Session, body: str) -> None:
    assert decode_possible_base64(body) == body
    assert stored_body(client, settings, session, body) == body
