"""POST /twilio/status: Twilio's delivery reports, repeated and out of order, never moving a message back."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hotline.channels.twilio import TwilioSender
from hotline.config import Settings
from hotline.context import Context, build_context
from hotline.messaging import outbox
from hotline.messaging.dispatcher import RateLimiter, dispatch_once
from hotline.messaging.sender import Outgoing, SendResult
from hotline.models import Contact, DeliveryReport, OutboundMessage, OutboundStatus, Purpose
from tests.factories import post_form
from tests.fake_twilio import FakeTwilio

MORNING = datetime.fromisoformat("2026-11-20T04:00:00+00:00")  # 10:00 in Bishkek: outside quiet hours


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


def test_a_report_that_comes_before_its_send_is_recorded_is_kept_then_applied(
    client: TestClient, settings: Settings, engine: Engine, session: Session, fake: FakeTwilio
) -> None:
    # Twilio can report on a message while the rest of its batch is still going out, before the dispatcher has
    # saved the message's SID: that report used to be answered 204 and lost, leaving the message "sent" for ever.
    ctx = build_context(settings.model_copy(update={"twilio_api_url": fake.url, "send_rate_segments_per_second": 1000}))
    contact = Contact(phone_hash="p" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ru")
    session.add(contact)
    session.flush()
    message = outbox.enqueue(session, ctx, contact=contact, text="hi", purpose=Purpose.REPLY, key="early", now=MORNING)
    session.commit()

    class ReportsAtOnce(TwilioSender):
        def send(self, sms: Outgoing) -> SendResult:
            result = super().send(sms)  # the real client, to the fake Twilio
            assert callback(client, settings, result.provider_sid or "", "undelivered", "30003") == 204
            return result

    limiter = RateLimiter(engine, "early", 1000)
    dispatch_once(engine, ctx, ReportsAtOnce(ctx.settings), limiter, now=MORNING, sleep=lambda _: None)
    session.expire_all()
    stored = session.get(OutboundMessage, message.id)
    assert stored is not None and (stored.status, stored.last_error_code) == ("undelivered", "30003")
    assert session.exec(select(DeliveryReport)).all() == []  # applied, so not kept


def test_a_report_for_a_message_we_never_sent_is_kept_not_an_error(
    client: TestClient, settings: Settings, session: Session
) -> None:
    assert callback(client, settings, "SM" + "f" * 32, "delivered") == 204
    kept = session.exec(select(DeliveryReport)).one()
    assert (kept.transport, kept.reference, kept.status) == ("twilio", "SM" + "f" * 32, "delivered")


def test_callbacks_must_be_signed(client: TestClient, settings: Settings, session: Session, ctx: Context) -> None:
    message = sent_message(session, ctx)
    response = client.post("/twilio/status", data={"MessageSid": message.provider_sid, "MessageStatus": "failed"})
    assert response.status_code == 403
    assert current(session, message) == "sent"


def test_missing_fields_are_a_clear_400(client: TestClient, settings: Settings) -> None:
    form = {"MessageSid": "SM1", "AccountSid": settings.twilio_account_sid}
    response = post_form(client, settings, form, path="/twilio/status")
    assert response.status_code == 400 and "MessageStatus" in response.json()["detail"]


def test_a_report_kept_just_after_the_batch_looked_is_applied_by_the_next_run(
    client: TestClient, settings: Settings, engine: Engine, session: Session, fake: FakeTwilio
) -> None:
    # The race bench/channels.py found: the report's request read the message before the batch was committed and
    # stored the report after the dispatcher had applied what was waiting. Nothing looked again: it stayed "sent".
    ctx = build_context(settings.model_copy(update={"twilio_api_url": fake.url, "send_rate_segments_per_second": 1000}))
    contact = Contact(phone_hash="p" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ru")
    session.add(contact)
    session.flush()
    message = outbox.enqueue(
        session, ctx, contact=contact, text="hi", purpose=Purpose.REPLY, key="late-kept", now=MORNING
    )
    session.commit()
    limiter = RateLimiter(engine, "late-kept", 1000)
    dispatch_once(engine, ctx, TwilioSender(ctx.settings), limiter, now=MORNING, sleep=lambda _: None)
    session.expire_all()
    sent = session.get(OutboundMessage, message.id)
    assert sent is not None and sent.status == "sent" and sent.provider_sid
    session.add(
        DeliveryReport(transport="twilio", reference=sent.provider_sid, status="delivered", received_at=MORNING)
    )
    session.commit()
    report = dispatch_once(engine, ctx, TwilioSender(ctx.settings), limiter, now=MORNING, sleep=lambda _: None)
    assert report.reports_applied == 1
    session.expire_all()
    assert current(session, message) == "delivered"
    assert session.exec(select(DeliveryReport)).all() == []
