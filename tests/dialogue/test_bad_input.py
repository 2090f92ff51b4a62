"""Bad input gets a clear reply or a 4xx: never a 500, never half-stored data."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.context import Context
from hotline.models import Contact, InboundMessage
from hotline.simulator.sms import replies_from_twiml
from hotline.webhooks import sign
from tests.factories import sms_form


@dataclass
class Case:
    """One hostile or broken request and what must come of it."""

    name: str
    form: dict[str, str] | None = None  # signed and posted as a form
    raw: bytes | None = None  # posted as is, signed over the given params
    signed_params: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/x-www-form-urlencoded"
    status: int = 200
    stored: int = 0  # inbound messages stored
    reply: tuple[str, str] | None = None  # (template, language) the answer must be


def _form(**changes: str) -> dict[str, str]:
    form = sms_form("HELP")
    for key, value in changes.items():
        if value == "<drop>":
            form.pop(key)
        else:
            form[key] = value
    return form


MENU = ("menu", "ky")  # a new phone with no keyword gets the menu in the default language

CASES = [
    Case("empty body", _form(Body=""), stored=1, reply=MENU),
    Case("whitespace body", _form(Body="   \n\t "), stored=1, reply=MENU),
    Case("2000-character body", _form(Body="HELP " + "я" * 1995), stored=1, reply=("help", "en")),
    Case("emoji only", _form(Body="😀🙏🏽👍"), stored=1, reply=MENU),
    Case("emoji after keyword", _form(Body="help 🙏"), stored=1, reply=("help", "en")),
    Case("control characters", _form(Body="HE\x00LP\x07\x1b"), stored=1),
    Case("NUL inside keyword line", _form(Body="STOP\x00"), stored=1, reply=("stop", "en")),
    Case("right-to-left and zero-width marks", _form(Body="\u200fHELP\u200b"), stored=1),
    Case("missing Body field", _form(Body="<drop>"), stored=1, reply=MENU),
    Case("missing From", _form(From="<drop>"), status=400),
    Case("missing MessageSid", _form(MessageSid="<drop>", SmsSid="<drop>"), status=400),
    Case("empty MessageSid", _form(MessageSid=""), status=400),
    Case("MessageSid with markup", _form(MessageSid="SM<script>"), status=400),
    Case("overlong MessageSid", _form(MessageSid="SM" + "a" * 200), status=400),
    Case("unparseable From (alphanumeric sender)", _form(From="Beeline"), stored=1),
    Case("From with letters and digits", _form(From="+996abc"), stored=1),
    Case(
        "unknown extra fields",
        _form(ApiVersion="2010-04-01", NewField="x" * 500),
        stored=1,
        reply=("help", "en"),
    ),
    Case("body not valid UTF-8", raw=b"MessageSid=SM1&From=%2B996555123456&To=1&Body=%FF%FE", status=400),
    Case(
        "surrogate encoded in UTF-8",
        raw=b"MessageSid=SM2&From=%2B996555123456&To=1&Body=%ED%A0%80",
        status=400,
    ),
    Case("raw latin-1 bytes", raw="MessageSid=SM3&From=1&To=1&Body=caf\xe9".encode("latin-1"), status=400),
    Case("wrong content type (JSON)", raw=b'{"Body": "HELP"}', content_type="application/json", status=415),
    Case("multipart form", raw=b"--x\r\n", content_type="multipart/form-data; boundary=x", status=415),
    Case("no content type", raw=b"Body=HELP", content_type="", status=415),
    Case("huge request", raw=b"Body=" + b"A" * 200_000, status=413),
    Case("too many fields", raw=b"&".join(b"f%d=1" % i for i in range(300)), status=400),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Case, client: TestClient, settings: Settings, session: Session, ctx: Context) -> None:
    url = settings.public_url + "/twilio/sms"
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    if case.form is not None:
        response = client.post(
            "/twilio/sms", data=case.form, headers={"X-Twilio-Signature": sign(settings, url, case.form)}
        )
    else:
        headers["X-Twilio-Signature"] = sign(settings, url, case.signed_params)
        response = client.post("/twilio/sms", content=case.raw, headers=headers)
    assert response.status_code == case.status, response.text
    if case.status != 200:
        assert response.json()["detail"]  # a reason a developer or Twilio's debugger can read
    assert session.exec(select(func.count()).select_from(InboundMessage)).one() == case.stored
    if case.stored == 0:
        assert session.exec(select(func.count()).select_from(Contact)).one() == 0
    if case.reply:
        template, language = case.reply
        assert replies_from_twiml(response.text) == [ctx.texts.render(template, language).text]


def test_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


def test_oversized_body_is_stored_whole(client: TestClient, settings: Settings, session: Session) -> None:
    body = "ЖАЛОБА " + "я" * 1593
    from tests.factories import post_form

    assert post_form(client, settings, sms_form(body)).status_code == 200
    assert session.exec(select(InboundMessage)).one().body == body


def test_control_characters_are_replaced_not_dropped(client: TestClient, settings: Settings, session: Session) -> None:
    from tests.factories import post_form

    post_form(client, settings, sms_form("a\x00b\nc"))
    assert session.exec(select(InboundMessage)).one().body == "a\ufffdb\nc"


def test_alphanumeric_sender_is_kept_without_reply_or_contact(
    client: TestClient, settings: Settings, session: Session
) -> None:
    from tests.factories import post_form

    response = post_form(client, settings, sms_form("Your balance is 5 som", sender="Beeline"))
    assert replies_from_twiml(response.text) == []
    stored = session.exec(select(InboundMessage)).one()
    assert stored.contact_id is None and stored.unparsed_sender_encrypted
