"""POST /twilio/status: Twilio's delivery reports, repeated and out of order, never moving a message back."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hotline.config import Settings
from hotline.context import Context
from hotline.messaging import outbox
from hotline.models import Contact, OutboundMessage, OutboundStatus, Purpose
from tests.factories import post_form


def sent_message(session: Session, ctx: Context, sid: str = "SM" + "a" * 32) -> OutboundMessage:
    contact = Contact(phone_hash="p" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ru")
    session.add(contact)
    session.flush()
    message = outbox.enqueue(session, ctx, contact=contact, text="hi", purpose=Purpose.REMINDER, key="k")
    message.status, message.provider_sid = OutboundStatus.SENT, sid
    session.add(message)
    session.commit()
    return message


def callback(client: TestClient, settings: Settings, sid: str, status: str, error: str | None = None) -> int:
    form = {
        "MessageSid": sid,
        "MessageStatus": status,
        "AccountSid": settings.twilio_account_sid,
        "To": "+996555123456",
        "ApiVersion": "2010-04-01",
    }
    if error:
        form["ErrorCode"] = error
    return post_form(client, settings, form, path="/twilio/status").status_code


def current(session: Session, message: OutboundMessage) -> str:
    session.expire_all()
    found = session.get(OutboundMessage, message.id)
    assert found is not None
    return str(found.status)


def test_statuses_move_forward_only(client: TestClient, settings: Settings, session: Session, ctx: Context) -> None:
    message = sent_message(session, ctx)
    sid = message.provider_sid or ""
    assert callback(client, settings, sid, "queued") == 204
    assert current(session, message) == "sent"  # queued is before sent
    assert callback(client, settings, sid, "delivered") == 204
    assert current(session, message) == "delivered"
    for late in ("sent", "sending", "queued", "undelivered", "delivered"):  # late, repeated, contradictory
        assert callback(client, settings, sid, late) == 204
        assert current(session, message) == "delivered"


def test_undelivered_keeps_the_error_code(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    message = sent_message(session, ctx)
    callback(client, settings, message.provider_sid or "", "undelivered", "30003")
    session.expire_all()
    stored = session.get(OutboundMessage, message.id)
    assert stored is not None and (stored.status, stored.last_error_code) == ("undelivered", "30003")


def test_unknown_message_is_answered_and_logged(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert callback(client, settings, "SM" + "f" * 32, "delivered") == 204
    assert "status callback for unknown message" in caplog.text


def test_callbacks_must_be_signed(client: TestClient, settings: Settings, session: Session, ctx: Context) -> None:
    message = sent_message(session, ctx)
    response = client.post("/twilio/status", data={"MessageSid": message.provider_sid, "MessageStatus": "failed"})
    assert response.status_code == 403
    assert current(session, message) == "sent"


def test_missing_fields_are_a_clear_400(client: TestClient, settings: Settings) -> None:
    response = post_form(client, settings, {"MessageSid": "SM1"}, path="/twilio/status")
    assert response.status_code == 400 and "MessageStatus" in response.json()["detail"]
