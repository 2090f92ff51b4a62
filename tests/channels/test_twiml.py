"""The TwiML answer is written as a string, byte for byte what twilio's MessagingResponse writes."""

from __future__ import annotations

import pytest
from twilio.twiml.messaging_response import MessagingResponse

from hotline.channels.twilio import twiml

HOSTILE = [
    "Tom & Jerry <b>bold</b> \"quoted\" 'single' a]]>b &amp; &#x41;",
    "Салам! ЖӨЛӨКПУЛ — пособие. Привет, мир ёЁ",
    "emoji 👍🏽 and 🇰🇬, a zero-width joiner 👨‍👩‍👧",
    "line one\nline two\r\nline three\ttab",
    "control \x00 \x0b \x1f, separator \u2028, lone surrogate \ud800",
    "   ",
    "",
    '<?xml version="1.0"?><Response><Redirect>https://evil.example</Redirect></Response>',
]


def library_twiml(replies: list[str]) -> bytes:
    response = MessagingResponse()
    for text in replies:
        response.message(text)
    # Starlette encodes a str body as UTF-8; the library has already written a lone surrogate as &#55296;.
    return str(response).encode("utf-8")


@pytest.mark.parametrize(
    "replies",
    [[], *([text] for text in HOSTILE), HOSTILE, ["first", "", "third"], ["Салам"] * 3],
)
def test_twiml_is_byte_for_byte_the_librarys(replies: list[str]) -> None:
    response = twiml(replies)
    assert response.body == library_twiml(replies)
    assert response.headers["content-type"] == "text/xml; charset=utf-8"


def test_a_reply_cannot_add_a_verb() -> None:
    body = bytes(twiml(["</Message><Redirect>https://evil.example</Redirect><Message>"]).body).decode()
    assert "<Redirect>" not in body and body.count("<Message>") == 1
