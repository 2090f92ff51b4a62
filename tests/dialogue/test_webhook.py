"""POST /twilio/sms: only genuine Twilio requests, stored once, numbers never in plain text."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from hotline.config import Settings
from hotline.context import Context
from hotline.models import Contact, InboundMessage
from tests.factories import OUR_NUMBER, PHONE, new_sid, post_form, sms_form, text_in


def count(session: Session, model: type[SQLModel]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def dump(engine: Engine) -> str:
    """Every value of every table as text, like a database dump an attacker might get."""
    rows = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table.name}"))]
    return "\n".join(rows)


def test_answers_keyword_with_twiml_and_stores_the_message(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    sid = new_sid()
    response = post_form(client, settings, sms_form("ПОСОБИЕ", sid=sid))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Пособия:')
    stored = session.exec(select(InboundMessage)).one()
    assert (stored.message_sid, stored.body, stored.language, stored.keyword) == (
        sid,
        "ПОСОБИЕ",
        "ru",
        "BENEFITS",
    )
    assert stored.received_at.tzinfo is not None
    assert ctx.vault.decrypt(stored.receiver_encrypted) == OUR_NUMBER
    contact = session.exec(select(Contact)).one()
    assert stored.contact_id == contact.id
    assert ctx.vault.decrypt(contact.phone_encrypted) == PHONE
    assert contact.phone_hash == ctx.vault.lookup_hash(PHONE)


def test_no_phone_number_in_plain_text_anywhere(client: TestClient, settings: Settings, engine: Engine) -> None:
    text_in(client, settings, "HELP", sender="0555 123 456")
    text_in(client, settings, "hello", sender="+996 700 98 76 54")
    everything = dump(engine)
    assert "hello" in everything  # the dump does hold the data
    for digits in ("555123456", "700987654", "312900900"):
        assert digits not in everything


def test_local_number_forms_are_one_contact(client: TestClient, settings: Settings, session: Session) -> None:
    text_in(client, settings, "ПОМОЩЬ", sender="0555 123 456")
    text_in(client, settings, "help", sender="+996555123456")
    text_in(client, settings, "hi", sender="8 555 123456")
    assert count(session, Contact) == 1
    assert count(session, InboundMessage) == 3


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "c2lnbmVkLXdpdGgtYW5vdGhlci10b2tlbg=="])
def test_missing_or_wrong_signature_is_403_and_stores_nothing(
    client: TestClient, settings: Settings, session: Session, signature: str | None
) -> None:
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    response = client.post("/twilio/sms", data=sms_form("HELP"), headers=headers)
    assert response.status_code == 403
    assert count(session, InboundMessage) == 0
    assert count(session, Contact) == 0


def test_signature_of_another_account_is_refused(client: TestClient, settings: Settings, session: Session) -> None:
    other = settings.model_copy(update={"twilio_auth_token": "f" * 32})
    form = sms_form("HELP")
    from hotline.webhooks import sign

    response = client.post(
        "/twilio/sms",
        data=form,
        headers={"X-Twilio-Signature": sign(other, settings.public_url + "/twilio/sms", form)},
    )
    assert response.status_code == 403
    assert count(session, InboundMessage) == 0


def test_tampered_body_is_refused(client: TestClient, settings: Settings, session: Session) -> None:
    form = sms_form("HELP")
    from hotline.webhooks import sign

    signature = sign(settings, settings.public_url + "/twilio/sms", form)
    response = client.post("/twilio/sms", data={**form, "Body": "STOP"}, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert count(session, Contact) == 0


def test_signature_is_checked_against_the_public_url_not_the_proxied_one(
    client: TestClient, settings: Settings
) -> None:
    from hotline.webhooks import sign

    form = sms_form("HELP")
    # The test client talks to http://internal:8000, as a TLS proxy would; Twilio signed the public https URL.
    internal = sign(settings, "http://internal:8000/twilio/sms", form)
    assert client.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": internal}).status_code == 403
    public = sign(settings, settings.public_url + "/twilio/sms", form)
    assert client.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": public}).status_code == 200


def test_query_string_is_part_of_the_signed_url(client: TestClient, settings: Settings) -> None:
    form = sms_form("HELP")
    assert post_form(client, settings, form, path="/twilio/sms?site=batken").status_code == 200
    from hotline.webhooks import sign

    without_query = sign(settings, settings.public_url + "/twilio/sms", form)
    response = client.post("/twilio/sms?site=batken", data=form, headers={"X-Twilio-Signature": without_query})
    assert response.status_code == 403


def test_repeated_message_sid_returns_the_same_reply_and_changes_nothing(
    client: TestClient, settings: Settings, session: Session
) -> None:
    sid = new_sid()
    first = post_form(client, settings, sms_form("LANG", sid=sid))
    text_in(client, settings, "2")  # the family then picks Russian
    again = post_form(client, settings, sms_form("LANG", sid=sid))
    assert again.status_code == 200
    assert again.text == first.text
    assert count(session, InboundMessage) == 2
    # The retry did not restart the language dialogue: a bare number is no longer a language choice.
    assert session.exec(select(Contact)).one().language == "ru"
    assert text_in(client, settings, "3")[0].startswith("Горячая линия")


def test_logs_hold_neither_bodies_nor_full_numbers(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    text_in(client, settings, "ЖАЛОБА аким Токтосунов алды 500 сом", sender="+996555987654")
    assert "inbound twilio SM" in caplog.text  # the message was logged, just not its content
    for secret in ("Токтосунов", "ЖАЛОБА аким", "555987654", "+996555987654"):
        assert secret not in caplog.text
