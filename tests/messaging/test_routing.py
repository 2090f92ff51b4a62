"""Which channel a message leaves on: answers go back the way they came, the rest on the configured channel."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from hotline.channels.twilio import TwilioSender
from hotline.config import Settings
from hotline.context import build_context
from hotline.messaging import outbox
from hotline.messaging.dispatcher import RateLimiter, dispatch_once
from hotline.messaging.routing import outbound_transport, reply_number
from hotline.models import Channel, Contact, OutboundMessage, Purpose
from tests.fake_twilio import FakeTwilio

MORNING = datetime.fromisoformat("2026-11-20T04:00:00+00:00")  # 10:00 in Bishkek: outside quiet hours


def test_an_answer_goes_back_on_the_channel_the_family_used(settings: Settings) -> None:
    both = settings.model_copy(update={"channels": "twilio,kannel", "outbound_channel": "twilio"})
    assert outbound_transport(both, Purpose.REPLY, "kannel", Channel.SMS) == "kannel"
    assert outbound_transport(both, Purpose.STOP_CONFIRMATION, "kannel", Channel.SMS) == "kannel"
    # A reminder or an officers' answer goes on the configured outbound channel.
    assert outbound_transport(both, Purpose.REMINDER, "kannel", Channel.SMS) == "twilio"
    assert outbound_transport(both, Purpose.COMPLAINT_UPDATE, "kannel", Channel.SMS) == "twilio"


def test_without_an_outbound_channel_the_phone_s_own_channel_then_the_first(settings: Settings) -> None:
    both = settings.model_copy(update={"channels": "kannel,twilio"})
    assert outbound_transport(both, Purpose.REMINDER, "twilio", Channel.SMS) == "twilio"
    assert outbound_transport(both, Purpose.REMINDER, None, Channel.SMS) == "kannel"  # enrolled by staff
    # A channel no longer in use is not used: the phone's messages fall back to one that is.
    assert outbound_transport(both, Purpose.REPLY, "android", Channel.SMS) == "kannel"


def test_calls_are_placed_by_twilio(settings: Settings) -> None:
    kannel_only = settings.model_copy(update={"channels": "kannel"})
    assert outbound_transport(kannel_only, Purpose.CALLBACK, "kannel", Channel.CALL) == "twilio"


def test_enqueue_routes_by_the_contact_s_last_channel(settings: Settings, session: Session) -> None:
    ctx = build_context(settings.model_copy(update={"channels": "twilio,kannel"}))
    contact = Contact(phone_hash="h" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ky")
    contact.last_channel = "kannel"
    session.add(contact)
    session.flush()
    reply = outbox.enqueue(session, ctx, contact=contact, text="a", purpose=Purpose.REPLY, key="r")
    reminder = outbox.enqueue(session, ctx, contact=contact, text="b", purpose=Purpose.REMINDER, key="m")
    assert (reply.transport, reminder.transport) == ("kannel", "kannel")


def test_settings_name_a_known_channel_and_an_outbound_one_in_use(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="channels are a comma-separated list"):
        Settings(**{**settings.model_dump(), "channels": "twilio,smpp"})
    with pytest.raises(ValidationError, match="HOTLINE_OUTBOUND_CHANNEL=kannel is not in"):
        Settings(**{**settings.model_dump(), "outbound_channel": "kannel"})
    with pytest.raises(ValidationError, match="HOTLINE_PUBLIC_NUMBER"):
        Settings(**{**settings.model_dump(), "outbound_one_way": True})
    one_way = Settings(**{**settings.model_dump(), "outbound_one_way": True, "public_number": "1212"})
    assert reply_number(one_way) == "1212" and reply_number(settings) is None


def test_each_channel_s_dispatcher_sends_only_its_own_messages(
    settings: Settings, session: Session, engine: Engine, fake: FakeTwilio
) -> None:
    # A Kannel link that is down must not hold up what goes by Twilio, nor be sent through Twilio instead.
    ctx = build_context(
        settings.model_copy(
            update={"channels": "kannel,twilio", "twilio_api_url": fake.url, "send_rate_segments_per_second": 1000}
        )
    )
    contact = Contact(phone_hash="h" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ky")
    contact.last_channel = "kannel"
    session.add(contact)
    session.flush()
    by_kannel = outbox.enqueue(
        session, ctx, contact=contact, text="kannel", purpose=Purpose.REPLY, key="k", now=MORNING
    )
    contact.last_channel = "twilio"
    by_twilio = outbox.enqueue(
        session, ctx, contact=contact, text="twilio", purpose=Purpose.REPLY, key="t", now=MORNING
    )
    session.commit()
    limiter = RateLimiter(engine, "routing-test", 1000)
    report = dispatch_once(engine, ctx, TwilioSender(ctx.settings), limiter, now=MORNING, sleep=lambda _: None)
    assert report.sent == 1 and [m["body"] for m in fake.messages] == ["twilio"]
    session.expire_all()
    assert (session.get(OutboundMessage, by_kannel.id) or by_kannel).status == "pending"
    assert (session.get(OutboundMessage, by_twilio.id) or by_twilio).status == "sent"
