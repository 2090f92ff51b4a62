"""The SMS Gateway for Android channel end to end: the app's signed webhooks to our app, and our sends through the
real client library to a fake of the app's HTTP API (tests/fake_android.py), over HTTP both ways."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as clock_time

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from hotline.channels.android import AndroidSender
from hotline.config import Settings
from hotline.context import Context, build_context
from hotline.dialogue.contacts import find_contact
from hotline.main import create_app
from hotline.messaging.dispatcher import DispatchReport, RateLimiter, claim, dispatch_once
from hotline.messaging.sender import LookupFailed, Outgoing, SendResult
from hotline.models import (
    Complaint,
    Contact,
    DeliveryReport,
    EnrolmentKind,
    InboundMessage,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    utcnow,
)
from hotline.reminders.planner import plan_day
from hotline.reminders.service import enrol, household_of
from tests.factories import render
from tests.fake_android import (
    FakeAndroid,
    WebhookCall,
    running_fake_android,
    sms_delivered_payload,
    webhook_signature,
)

PHONE = "+996555123456"
OTHER_PHONE = "+996700654321"
HELP_KY = "ЖАРДАМ"  # HELP in Kyrgyz
STOP_KY = "ТОКТОТ"  # STOP in Kyrgyz
PLAN_DAY = date(2027, 1, 4)  # a fixed day for the reminder planner, whatever today is


@pytest.fixture
def phone() -> Iterator[FakeAndroid]:
    """The fake gateway app on a local port, with a signing key as long as production wants."""
    with running_fake_android(signing_key=secrets.token_urlsafe(24)) as fake:
        yield fake


@pytest.fixture
def android_settings(settings: Settings, phone: FakeAndroid) -> Settings:
    """Android in use beside Twilio, pointed at the fake app (a high rate so tests do not wait)."""
    return settings.model_copy(
        update={
            "channels": "twilio,android",
            "android_signing_key": phone.signing_key,
            "android_url": phone.url,
            "android_username": phone.username,
            "android_password": phone.password,
            "android_rate_segments_per_second": 1000,
        }
    )


@pytest.fixture
def actx(android_settings: Settings) -> Context:
    """The context the app builds with these settings."""
    return build_context(android_settings)


@pytest.fixture
def app(android_settings: Settings) -> Iterator[TestClient]:
    """The app over HTTP, as the phone reaches it."""
    with TestClient(create_app(android_settings), base_url="http://internal:8000") as client:
        yield client


def post(app: TestClient, call: WebhookCall) -> httpx.Response:
    """POST a webhook to our app exactly as the app sends it (raw body, its headers)."""
    response: httpx.Response = app.post("/android/webhook", content=call.body, headers=call.headers)
    return response


def post_signed(app: TestClient, key: str, body: bytes, stamp: str | None = None) -> httpx.Response:
    """POST any body, signed as the app signs (for bodies the real app would never send)."""
    stamp = stamp or str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Timestamp": stamp,
        "X-Signature": webhook_signature(key, body, stamp),
    }
    response: httpx.Response = app.post("/android/webhook", content=body, headers=headers)
    return response


def after_arrival(minutes: int = 1) -> datetime:
    """A moment just after the webhooks came (replies are due when they arrive; quiet hours do not hold them)."""
    return utcnow() + timedelta(minutes=minutes)


def dispatch(engine: Engine, ctx: Context, now: datetime) -> DispatchReport:
    """One dispatch run of the Android channel, through the real client, at `now`."""
    limiter = RateLimiter(engine, "android-test", 1000)
    return dispatch_once(engine, ctx, AndroidSender(ctx.settings), limiter, now=now, sleep=lambda _: None)


def stored(session: Session) -> tuple[int, int, int]:
    """Rows in the inbound messages, the outbox and the kept delivery reports."""
    session.expire_all()
    counts = (
        session.exec(select(func.count()).select_from(table)).one()
        for table in (InboundMessage, OutboundMessage, DeliveryReport)
    )
    inbound, outbound, reports = counts
    return int(inbound), int(outbound), int(reports)


def outbox(session: Session) -> list[OutboundMessage]:
    session.expire_all()
    return list(session.exec(select(OutboundMessage).order_by(col(OutboundMessage.id))))


def texts_to(phone: FakeAndroid, number: str) -> list[str]:
    """What the fake app was asked to send to a number, in order."""
    return [message.text or "" for message in phone.sent_to(number)]


def text_in(app: TestClient, phone: FakeAndroid, text: str, sender: str = PHONE) -> WebhookCall:
    """A family's SMS arriving on the gateway phone, posted to our app; returns the webhook (to repeat it)."""
    call = phone.receive_sms(sender, text)
    assert post(app, call).status_code == 204
    return call


def test_a_kyrgyz_sms_is_answered_by_the_gateway_phone(
    app: TestClient, phone: FakeAndroid, session: Session, engine: Engine, actx: Context
) -> None:
    text_in(app, phone, HELP_KY)
    inbound = session.exec(select(InboundMessage)).one()
    assert (inbound.channel, inbound.keyword, inbound.language) == ("android", "HELP", "ky")
    [reply] = outbox(session)
    assert (reply.transport, reply.purpose, reply.status) == ("android", Purpose.REPLY, "pending")
    report = dispatch(engine, actx, after_arrival())
    assert report.sent == 1
    [sent] = phone.messages
    assert sent.phone_numbers == [PHONE]
    assert sent.text == inbound.replies[0] == render(actx, "help", "ky")  # the Kyrgyz help text
    assert (sent.id, sent.with_delivery_report) == (str(reply.id), True)  # our outbox id travels with it
    [reply] = outbox(session)
    assert (reply.status, reply.provider_sid) == ("sent", str(reply.id))
    assert dispatch(engine, actx, after_arrival(2)).claimed == 0  # never twice


def test_the_apps_retry_of_a_webhook_changes_nothing(
    app: TestClient, phone: FakeAndroid, session: Session, engine: Engine, actx: Context
) -> None:
    call = text_in(app, phone, HELP_KY)
    assert post(app, call.retry()).status_code == 204  # same event, signed again with a new timestamp
    assert stored(session) == (1, 1, 0)
    dispatch(engine, actx, after_arrival())
    assert post(app, call.retry()).status_code == 204  # a late retry, after the reply went
    assert stored(session) == (1, 1, 0)
    dispatch(engine, actx, after_arrival(2))
    assert len(texts_to(phone, PHONE)) == 1


def _tampered(call: WebhookCall) -> tuple[bytes, dict[str, str]]:
    return call.body.replace(HELP_KY.encode(), STOP_KY.encode()), call.headers


def _unsigned(call: WebhookCall) -> tuple[bytes, dict[str, str]]:
    return call.body, {k: v for k, v in call.headers.items() if k != "X-Signature"}


def _no_timestamp(call: WebhookCall) -> tuple[bytes, dict[str, str]]:
    return call.body, {k: v for k, v in call.headers.items() if k != "X-Timestamp"}


def _wrong_key(call: WebhookCall) -> tuple[bytes, dict[str, str]]:
    stamp = call.headers["X-Timestamp"]
    return call.body, call.headers | {"X-Signature": webhook_signature("another-key-0123456789", call.body, stamp)}


def _old(call: WebhookCall) -> tuple[bytes, dict[str, str]]:
    late = call.retry(int(time.time()) - 6 * 60)  # correctly signed, six minutes ago: a replay
    return late.body, late.headers


def _future(call: WebhookCall) -> tuple[bytes, dict[str, str]]:
    early = call.retry(int(time.time()) + 6 * 60)
    return early.body, early.headers


def _not_a_number(call: WebhookCall) -> tuple[bytes, dict[str, str]]:
    stamp = str(time.time())  # a float: the app sends whole seconds
    return call.body, call.headers | {
        "X-Timestamp": stamp,
        "X-Signature": webhook_signature(call.signing_key, call.body, stamp),
    }


@pytest.mark.parametrize(
    "forge", [_wrong_key, _unsigned, _no_timestamp, _old, _future, _tampered, _not_a_number], ids=lambda f: f.__name__
)
def test_a_webhook_not_signed_by_our_phone_just_now_is_refused(
    app: TestClient, phone: FakeAndroid, session: Session, forge: object
) -> None:
    assert callable(forge)
    body, headers = forge(phone.receive_sms(PHONE, HELP_KY))
    response = app.post("/android/webhook", content=body, headers=headers)
    assert response.status_code == 403
    assert stored(session) == (0, 0, 0)


def test_headers_that_are_not_ascii_are_refused_not_a_crash(
    app: TestClient, phone: FakeAndroid, session: Session
) -> None:
    call = phone.receive_sms(PHONE, HELP_KY)
    for name in ("X-Timestamp", "X-Signature"):
        headers: dict[str, str | bytes] = dict(call.headers)
        headers[name] = "１７００００００００".encode()  # full-width digits: isdigit, but no number
        response = app.post("/android/webhook", content=call.body, headers=headers)
        assert response.status_code == 403
    assert stored(session) == (0, 0, 0)


def test_reports_must_be_signed_too(app: TestClient, phone: FakeAndroid, session: Session) -> None:
    call = phone.webhook("sms:failed", {"messageId": "1", "reason": "x"})
    response = app.post("/android/webhook", content=call.body, headers={"X-Timestamp": call.headers["X-Timestamp"]})
    assert response.status_code == 403
    assert stored(session) == (0, 0, 0)


def _envelope(payload: object, event: str = "sms:received") -> bytes:
    return json.dumps(
        {"id": "ev1", "webhookId": "wh1", "event": event, "deviceId": "dev1", "payload": payload}
    ).encode()


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b'{"event": "sms:received", "payload": {', "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b"[" * 30_000 + b"]" * 30_000, "not JSON"),  # nested deeper than Python parses
        (b"[1, 2]", "not a webhook event"),
        (_envelope("a string"), "payload"),
        (json.dumps({"event": "sms:received"}).encode(), "payload"),
        (_envelope({"phoneNumber": PHONE, "message": "hi"}), "messageId"),
        (_envelope({"messageId": "m1", "phoneNumber": PHONE, "message": 42}), "message is not a string"),
        (_envelope({"messageId": "m1", "phoneNumber": PHONE}), "message"),
        (_envelope({"messageId": "m1", "message": "hi"}), "phoneNumber"),
        (_envelope({"messageId": ["m1"], "phoneNumber": PHONE, "message": "hi"}), "messageId"),
        (_envelope({"messageId": "m" * 65, "phoneNumber": PHONE, "message": "hi"}), "messageId"),
        (_envelope({"recipient": PHONE}, event="sms:delivered"), "messageId"),
    ],
)
def test_malformed_webhooks_are_a_clear_400_and_store_nothing(
    app: TestClient, phone: FakeAndroid, session: Session, body: bytes, complaint: str
) -> None:
    response = post_signed(app, phone.signing_key, body)
    assert response.status_code == 400
    assert complaint in response.json()["detail"]
    assert stored(session) == (0, 0, 0)


def test_the_webhook_is_off_while_android_is_not_a_channel(
    settings: Settings, phone: FakeAndroid, session: Session
) -> None:
    twilio_only = settings.model_copy(update={"android_signing_key": phone.signing_key})
    with TestClient(create_app(twilio_only), base_url="http://internal:8000") as client:
        response = post(client, phone.receive_sms(PHONE, HELP_KY))
    assert response.status_code == 404 and "HOTLINE_CHANNELS" in response.json()["detail"]
    assert stored(session) == (0, 0, 0)


def test_a_body_over_the_limit_is_refused_before_it_is_read(app: TestClient, phone: FakeAndroid) -> None:
    body = _envelope({"messageId": "m1", "phoneNumber": PHONE, "message": "я" * 70_000})
    assert post_signed(app, phone.signing_key, body).status_code == 413


def test_an_operators_alphanumeric_sender_is_kept_without_reply(
    app: TestClient, phone: FakeAndroid, session: Session
) -> None:
    text_in(app, phone, "Balans: 50 som", sender="MegaCom")
    assert stored(session) == (1, 0, 0)


def test_events_we_do_not_use_are_acknowledged_and_ignored(
    app: TestClient, phone: FakeAndroid, session: Session
) -> None:
    for event, payload in (
        ("system:ping", {"health": {"status": "pass"}}),
        ("app:started", {}),
        ("sms:cancelled", {"messageId": "7", "recipient": PHONE}),
        ("mms:received", {"messageId": "m1", "phoneNumber": PHONE, "sender": PHONE, "transactionId": "t"}),
    ):
        assert post(app, phone.webhook(event, payload)).status_code == 204
    assert stored(session) == (0, 0, 0)


def test_logs_hold_neither_texts_nor_full_numbers(
    app: TestClient,
    phone: FakeAndroid,
    session: Session,
    engine: Engine,
    actx: Context,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    text_in(app, phone, "АРЫЗ аким Токтосунов алды 500 сом")
    post(app, phone.webhook("mms:received", {"messageId": "m1", "phoneNumber": PHONE, "subject": "Токтосунов"}))
    dispatch(engine, actx, after_arrival())
    assert "inbound android" in caplog.text  # the message was logged, just not its content
    for secret in ("Токтосунов", "АРЫЗ аким", "555123456", PHONE):
        assert secret not in caplog.text


def test_delivery_reports_move_the_message_on(
    app: TestClient, phone: FakeAndroid, session: Session, engine: Engine, actx: Context
) -> None:
    text_in(app, phone, HELP_KY)
    text_in(app, phone, HELP_KY, sender=OTHER_PHONE)
    assert dispatch(engine, actx, after_arrival()).sent == 2
    first, second = outbox(session)
    for call in phone.deliver(str(first.id), "delivered"):  # sms:sent, then sms:delivered for each part
        assert post(app, call).status_code == 204
    for call in phone.deliver(str(second.id), "failed", reason="RESULT_ERROR_NO_SERVICE"):
        assert post(app, call).status_code == 204
    first, second = outbox(session)
    assert first.status == OutboundStatus.DELIVERED
    assert (second.status, second.last_error_code) == (OutboundStatus.FAILED, "NO_SERVICE")
    assert stored(session)[2] == 0  # every report applied, none kept


def test_a_report_for_a_message_we_do_not_know_is_kept(app: TestClient, phone: FakeAndroid, session: Session) -> None:
    call = phone.webhook("sms:delivered", sms_delivered_payload("4242", PHONE))
    assert post(app, call).status_code == 204
    kept = session.exec(select(DeliveryReport)).one()
    assert (kept.transport, kept.reference, kept.status) == ("android", "4242", "delivered")


def test_a_report_that_comes_before_the_send_is_recorded_is_applied_then(
    app: TestClient, phone: FakeAndroid, session: Session, engine: Engine, actx: Context
) -> None:
    text_in(app, phone, HELP_KY)

    class ReportsAtOnce(AndroidSender):
        def send(self, sms: Outgoing) -> SendResult:
            result = super().send(sms)  # the real client, to the fake app
            for call in phone.deliver(str(sms.outbox_id), "failed"):  # the phone reports before we record the send
                assert post(app, call).status_code == 204
            return result

    limiter = RateLimiter(engine, "android-test", 1000)
    dispatch_once(engine, actx, ReportsAtOnce(actx.settings), limiter, now=after_arrival(), sleep=lambda _: None)
    [message] = outbox(session)
    assert (message.status, message.last_error_code) == ("failed", "GENERIC_FAILURE")
    assert stored(session)[2] == 0  # applied, so not kept


def test_the_dispatchers_send_threads_share_one_sender(
    app: TestClient, phone: FakeAndroid, session: Session, engine: Engine, actx: Context
) -> None:
    families = [f"+99655512340{n}" for n in range(8)]
    for number in families:
        text_in(app, phone, HELP_KY, sender=number)
    limiter = RateLimiter(engine, "android-test", 1000)
    with ThreadPoolExecutor(4) as pool:
        sender = AndroidSender(actx.settings)
        report = dispatch_once(engine, actx, sender, limiter, pool=pool, now=after_arrival(), sleep=lambda _: None)
    assert report.sent == len(families)
    assert sorted(number for message in phone.messages for number in message.phone_numbers) == families
    assert {m.status for m in outbox(session)} == {"sent"}


def test_a_phone_error_is_retried_and_the_text_sent_once(
    app: TestClient, phone: FakeAndroid, session: Session, engine: Engine, actx: Context
) -> None:
    text_in(app, phone, HELP_KY)
    phone.fail_with(500, times=1)
    first_run = after_arrival()
    assert dispatch(engine, actx, first_run).retried == 1
    [waiting] = outbox(session)
    assert (waiting.status, waiting.last_error_code) == ("pending", "http500")
    assert waiting.next_attempt_at > first_run  # a later run, not at once
    assert dispatch(engine, actx, waiting.next_attempt_at).sent == 1
    assert len(texts_to(phone, PHONE)) == 1
    assert [path for method, path in phone.requests if method == "POST"] == ["/messages", "/messages"]


def test_a_phone_that_is_offline_loses_nothing(
    app: TestClient, phone: FakeAndroid, session: Session, engine: Engine, actx: Context
) -> None:
    text_in(app, phone, HELP_KY)
    phone.go_down()  # the phone left Wi-Fi
    assert dispatch(engine, actx, after_arrival()).retried == 1
    [waiting] = outbox(session)
    assert (waiting.status, waiting.last_error_code) == ("pending", "network")
    # Still down at the retry: whether the first attempt reached it cannot be asked, so it waits again.
    assert dispatch(engine, actx, waiting.next_attempt_at).retried == 1
    [waiting] = outbox(session)
    assert waiting.status == "pending" and phone.messages == []
    phone.come_up()
    report = dispatch(engine, actx, waiting.next_attempt_at)
    assert report.sent == 1
    [sent] = phone.messages
    assert (sent.phone_numbers, sent.id) == ([PHONE], str(waiting.id))
    assert outbox(session)[0].status == "sent"


def test_a_send_whose_result_was_lost_is_looked_up_not_repeated(
    app: TestClient, phone: FakeAndroid, session: Session, engine: Engine, actx: Context
) -> None:
    text_in(app, phone, HELP_KY)
    [message] = outbox(session)
    moment = after_arrival()
    claim(session, actx, moment, 10, "android")
    # The phone accepted the message, then the dispatcher died before recording it: the lease runs out.
    assert AndroidSender(actx.settings).send(Outgoing(message.id or 0, PHONE, message.body)).ok
    report = dispatch(engine, actx, moment + timedelta(seconds=actx.settings.lease_seconds + 1))
    assert (report.reconciled, report.sent) == (1, 0)
    assert len(phone.messages) == 1
    [message] = outbox(session)
    assert (message.status, message.provider_sid) == ("sent", str(message.id))


def test_a_resend_the_phone_already_has_counts_as_sent(phone: FakeAndroid, actx: Context) -> None:
    sender = AndroidSender(actx.settings)
    sms = Outgoing(77, PHONE, "Салам")
    assert sender.send(sms).provider_sid == "77"
    assert sender.send(sms).provider_sid == "77"  # 409 from the app: it already has message 77
    assert len(phone.messages) == 1
    assert sender.find_sent(sms, utcnow()) == "77"
    assert sender.find_sent(Outgoing(78, PHONE, "other"), utcnow()) is None


def test_wrong_credentials_fail_clearly_and_an_unreachable_lookup_raises(phone: FakeAndroid, actx: Context) -> None:
    wrong = AndroidSender(actx.settings.model_copy(update={"android_password": "not-the-password"}))
    result = wrong.send(Outgoing(1, PHONE, "hi"))
    assert (result.ok, result.temporary, result.error_code) == (False, False, "http401")
    assert result.error is not None and "HOTLINE_ANDROID_PASSWORD" in result.error
    phone.go_down()
    sender = AndroidSender(actx.settings)
    down = sender.send(Outgoing(2, PHONE, "hi"))
    assert (down.ok, down.temporary, down.error_code) == (False, True, "network")
    with pytest.raises(LookupFailed):
        sender.find_sent(Outgoing(2, PHONE, "hi"), utcnow())


def at(ctx: Context, day: date, hour: int) -> datetime:
    return datetime.combine(day, clock_time(hour), ctx.tz)


def enrolled(session: Session, ctx: Context, number: str) -> Contact:
    """A family already in touch by Android, with a child born the day before the planning day."""
    contact = find_contact(session, ctx, number)
    assert contact is not None
    household = household_of(session, contact, at(ctx, PLAN_DAY, 6), "sms")
    birth = PLAN_DAY - timedelta(days=1)
    enrol(session, household, EnrolmentKind.CHILD, at(ctx, PLAN_DAY, 6), PLAN_DAY, birth_date=birth)
    session.commit()
    return contact


def test_stop_by_android_is_confirmed_and_no_reminder_follows(
    app: TestClient, phone: FakeAndroid, session: Session, engine: Engine, actx: Context
) -> None:
    text_in(app, phone, HELP_KY)
    text_in(app, phone, HELP_KY, sender=OTHER_PHONE)
    staying, leaving = enrolled(session, actx, PHONE), enrolled(session, actx, OTHER_PHONE)
    assert dispatch(engine, actx, after_arrival()).sent == 2  # the help texts
    text_in(app, phone, STOP_KY, sender=OTHER_PHONE)
    session.refresh(leaving)
    assert leaving.opted_out_at is not None
    assert dispatch(engine, actx, after_arrival(2)).sent == 1  # the STOP confirmation goes, though STOP was said
    confirmation = texts_to(phone, OTHER_PHONE)[-1]
    assert confirmation.startswith("Даяр")  # the Kyrgyz STOP confirmation reached the phone
    plan_day(session, actx, PLAN_DAY, at(actx, PLAN_DAY, 6))
    session.commit()
    dispatch(engine, actx, at(actx, PLAN_DAY, 11))
    assert len(texts_to(phone, PHONE)) == 2  # the family that stayed got its reminder ...
    assert texts_to(phone, OTHER_PHONE) == [texts_to(phone, PHONE)[0], confirmation]  # ... the other nothing more
    assert staying.id is not None
    reminders = [m for m in outbox(session) if m.purpose == Purpose.REMINDER]
    assert [(m.contact_id, m.transport, m.status) for m in reminders] == [(staying.id, "android", "sent")]


def test_an_anonymous_complaints_answers_leave_nothing_in_the_outbox_that_names_the_phone(
    app: TestClient, phone: FakeAndroid, session: Session, engine: Engine, actx: Context
) -> None:
    # Every Android reply goes through the outbox. An anonymous complaint's acknowledgement (reference and PIN)
    # must not sit there beside the contact: a database dump would link the phone to the complaint.
    for text in ("АНОНИМ айыл өкмөтү пара сурады", "1", "1"):
        text_in(app, phone, text)
    complaint = session.exec(select(Complaint)).one()
    assert complaint.anonymous and complaint.contact_id is None
    waiting = [m for m in outbox(session) if complaint.reference in m.body]
    assert waiting and all(m.contact_id is None and m.purpose == Purpose.PRIVATE_REPLY for m in waiting)
    dispatch(engine, actx, after_arrival())
    assert any(complaint.reference in text for text in texts_to(phone, PHONE))  # the family got it
    for message in outbox(session):
        if message.purpose == Purpose.PRIVATE_REPLY:  # sent: its text and number are gone
            assert (message.status, message.body, message.recipient_encrypted) == ("sent", "", "")
        assert complaint.reference not in message.body


def test_a_known_phones_keyword_is_answered_on_the_fast_path_and_queued(
    app: TestClient, phone: FakeAndroid, session: Session
) -> None:
    """The gateway phone's SMS take the same fast path as Twilio's (hotline/fastpath.py); the answer is then queued
    for the phone as every Android answer is, once."""
    text_in(app, phone, HELP_KY)
    fast = app.app.state.fast  # type: ignore[attr-defined]
    assert fast.answered == 0  # a new phone: the engine's
    call = text_in(app, phone, HELP_KY)
    assert fast.answered == 1
    assert post(app, call.retry()).status_code == 204  # the app's retry: the engine repeats, nothing more queued
    replies = outbox(session)
    assert len(replies) == 2 and replies[0].body == replies[1].body
