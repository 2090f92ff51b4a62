"""Missed-call callbacks: rejected free of charge, called back from the outbox by the real twilio client (to a
fake Twilio), within quiet hours and daily limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hotline.channels.twilio import TwilioSender
from hotline.config import Settings
from hotline.context import Context, build_context
from hotline.main import create_app
from hotline.messaging.dispatcher import RateLimiter, dispatch_once
from hotline.models import Channel, OutboundMessage, OutboundStatus, Purpose, VoiceCall, utcnow
from hotline.voice.service import Caller, request_callback
from tests.factories import PHONE, post_form
from tests.fake_twilio import FakeTwilio
from tests.voice.phone import Phone, call_sid

MORNING = datetime.fromisoformat("2026-11-20T04:00:00+00:00")  # 10:00 in Bishkek
LATE_EVENING = datetime.fromisoformat("2026-11-20T17:00:00+00:00")  # 23:00 in Bishkek


@pytest.fixture
def cb_settings(voice_settings: Settings, fake: FakeTwilio) -> Settings:
    return voice_settings.model_copy(
        update={"voice_callback": True, "twilio_api_url": fake.url, "send_rate_segments_per_second": 1000}
    )


@pytest.fixture
def cb_ctx(cb_settings: Settings) -> Context:
    return build_context(cb_settings)


@pytest.fixture
def cb_client(cb_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(cb_settings), base_url="http://internal:8000") as client:
        yield client


def dispatch(engine: Engine, ctx: Context, now: datetime) -> None:
    limiter = RateLimiter(engine, "test-sender", ctx.settings.send_rate_segments_per_second)
    dispatch_once(engine, ctx, TwilioSender(ctx.settings), limiter, now=now, sleep=lambda _: None)


def missed_call(session: Session, ctx: Context, now: datetime, phone: str = PHONE) -> bool:
    accepted = request_callback(session, ctx, Caller(call_sid(), phone, callback=False), now)
    session.commit()
    return accepted


def callbacks(session: Session) -> list[OutboundMessage]:
    session.expire_all()
    return list(session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.CALLBACK)))


def test_missed_call_is_rejected_without_charge_and_one_callback_is_queued(
    cb_client: TestClient, cb_settings: Settings, session: Session
) -> None:
    first = Phone(cb_client, cb_settings)
    twiml = first.dial()
    reject = twiml.find("Reject")
    assert reject is not None and reject.attrib["reason"] == "busy"
    assert twiml.find("Gather") is None, "not answered: the family pays nothing"
    Phone(cb_client, cb_settings).dial()  # rings again before we called back
    queued = callbacks(session)
    assert len(queued) == 1
    assert queued[0].channel == Channel.CALL and queued[0].status == OutboundStatus.PENDING
    assert queued[0].expires_at is not None and queued[0].expires_at > queued[0].not_before
    record = session.exec(select(VoiceCall).where(VoiceCall.call_sid == first.sid)).one()
    assert record.direction == "rejected"


def test_callback_is_placed_through_twilio_and_answered_with_the_menu(
    cb_client: TestClient, cb_settings: Settings, cb_ctx: Context, session: Session, engine: Engine, fake: FakeTwilio
) -> None:
    assert missed_call(session, cb_ctx, MORNING - timedelta(minutes=1))
    dispatch(engine, cb_ctx, MORNING)
    assert len(fake.calls) == 1
    placed = fake.calls[0]
    assert placed["to"] == PHONE and placed["from"] == cb_settings.twilio_from_number
    assert placed["url"] == cb_settings.public_url + "/twilio/voice"
    assert placed["status_callback"] == cb_settings.public_url + "/twilio/voice/status"
    (row,) = callbacks(session)
    assert row.status == OutboundStatus.SENT and row.provider_sid == placed["sid"]

    # The family answers: Twilio asks our URL what to say on the call it placed.
    answered = Phone(cb_client, cb_settings, sid=placed["sid"], callback=True)
    answered.dial()
    assert answered.played()[0] == "welcome_callback"
    answered.press("2")
    assert answered.played() == ["menu"]
    record = session.exec(select(VoiceCall).where(VoiceCall.call_sid == placed["sid"])).one()
    assert record.direction == "callback"

    status = {
        "CallSid": placed["sid"],
        "CallStatus": "completed",
        "CallDuration": "95",
        "AccountSid": cb_settings.twilio_account_sid,
    }
    assert post_form(cb_client, cb_settings, status, path="/twilio/voice/status").status_code == 204
    (row,) = callbacks(session)
    session.refresh(record)
    assert row.status == OutboundStatus.DELIVERED and record.duration_seconds == 95


def test_unanswered_callback_is_recorded_as_undelivered(
    cb_client: TestClient, cb_settings: Settings, cb_ctx: Context, session: Session, engine: Engine, fake: FakeTwilio
) -> None:
    missed_call(session, cb_ctx, MORNING - timedelta(minutes=1))
    dispatch(engine, cb_ctx, MORNING)
    status = {"CallSid": fake.calls[0]["sid"], "CallStatus": "no-answer", "AccountSid": cb_settings.twilio_account_sid}
    assert post_form(cb_client, cb_settings, status, path="/twilio/voice/status").status_code == 204
    assert callbacks(session)[0].status == OutboundStatus.UNDELIVERED
    unknown = {"CallSid": call_sid(), "CallStatus": "completed", "AccountSid": cb_settings.twilio_account_sid}
    assert post_form(cb_client, cb_settings, unknown, path="/twilio/voice/status").status_code == 204
    no_status = {"CallSid": call_sid(), "AccountSid": cb_settings.twilio_account_sid}
    assert post_form(cb_client, cb_settings, no_status, path="/twilio/voice/status").status_code == 400


def test_a_missed_call_at_night_is_returned_after_quiet_hours_and_not_late(
    cb_ctx: Context, session: Session, engine: Engine, fake: FakeTwilio
) -> None:
    missed_call(session, cb_ctx, LATE_EVENING)
    dispatch(engine, cb_ctx, LATE_EVENING + timedelta(minutes=30))
    assert fake.calls == [], "never a call at night"
    (row,) = callbacks(session)
    assert row.not_before.astimezone(cb_ctx.tz).hour == 8
    dispatch(engine, cb_ctx, row.not_before + timedelta(minutes=2))
    assert len(fake.calls) == 1

    missed_call(session, cb_ctx, LATE_EVENING + timedelta(days=1))
    nextday = [r for r in callbacks(session) if r.status == OutboundStatus.PENDING]
    assert nextday[0].expires_at is not None
    dispatch(engine, cb_ctx, nextday[0].expires_at + timedelta(minutes=1))
    assert len(fake.calls) == 1, "a callback hours too late is dropped, not made"
    assert [r.status for r in callbacks(session)].count(OutboundStatus.EXPIRED) == 1


def test_daily_callback_limit_then_the_call_is_answered(
    cb_client: TestClient, cb_settings: Settings, cb_ctx: Context, session: Session, engine: Engine
) -> None:
    now = utcnow()
    for _ in range(cb_settings.max_callbacks_per_day):
        assert missed_call(session, cb_ctx, now)
        for row in callbacks(session):  # made, so the next missed call is a new request
            row.status = OutboundStatus.DELIVERED
            session.add(row)
        session.commit()
    assert not missed_call(session, cb_ctx, now)
    phone = Phone(cb_client, cb_settings)
    twiml = phone.dial()
    assert twiml.find("Reject") is None and twiml.find("Gather") is not None, "answered: the family still gets help"


def test_hidden_numbers_are_answered_and_stop_does_not_block_a_requested_callback(
    cb_client: TestClient, cb_settings: Settings, cb_ctx: Context, session: Session, engine: Engine, fake: FakeTwilio
) -> None:
    hidden = Phone(cb_client, cb_settings, number="anonymous")
    assert hidden.dial().find("Gather") is not None
    from tests.factories import text_in

    text_in(cb_client, cb_settings, "STOP")
    missed_call(session, cb_ctx, MORNING - timedelta(minutes=1))
    dispatch(engine, cb_ctx, MORNING)
    assert [c["to"] for c in fake.calls] == [PHONE], "the family asked for this call by ringing"


def test_a_callback_whose_result_was_lost_is_not_placed_twice(
    cb_ctx: Context, session: Session, engine: Engine, fake: FakeTwilio
) -> None:
    missed_call(session, cb_ctx, MORNING - timedelta(minutes=1))
    dispatch(engine, cb_ctx, MORNING)
    (row,) = callbacks(session)
    # As if the dispatcher died after Twilio placed the call but before it recorded the result.
    row.status, row.provider_sid, row.lease_until = OutboundStatus.SENDING, None, MORNING
    session.add(row)
    session.commit()
    dispatch(engine, cb_ctx, MORNING + timedelta(minutes=5))
    assert len(fake.calls) == 1
    (row,) = callbacks(session)
    assert row.status == OutboundStatus.SENT and row.provider_sid == fake.calls[0]["sid"]


def test_without_the_setting_calls_are_answered(voice_client: TestClient, voice_settings: Settings) -> None:
    assert not voice_settings.voice_callback
    assert Phone(voice_client, voice_settings).dial().find("Reject") is None
