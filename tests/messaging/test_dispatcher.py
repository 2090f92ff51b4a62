"""The outbox and its dispatcher, through the real twilio client to a fake Twilio over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hotline.channels.twilio import TwilioSender
from hotline.config import Settings
from hotline.content import TextTooLong
from hotline.context import Context, build_context
from hotline.messaging import outbox
from hotline.messaging.dispatcher import DispatchReport, RateLimiter, claim, dispatch_once
from hotline.messaging.sender import Outgoing
from hotline.models import Contact, OutboundMessage, Purpose, utcnow
from tests.fake_twilio import FakeTwilio

PHONE = "+996555123456"
# 10:00 in Bishkek (UTC+6): outside quiet hours.
MORNING = datetime.fromisoformat("2026-11-20T04:00:00+00:00")


@pytest.fixture
def tctx(settings: Settings, fake: FakeTwilio) -> Context:
    """A context whose Twilio is the fake, with a high rate so tests do not wait."""
    return build_context(
        settings.model_copy(update={"twilio_api_url": fake.url, "send_rate_segments_per_second": 1000})
    )


@pytest.fixture
def contact(session: Session, tctx: Context) -> Contact:
    person = Contact(phone_hash=tctx.vault.lookup_hash(PHONE), phone_encrypted=tctx.vault.encrypt(PHONE), language="ky")
    session.add(person)
    session.commit()
    return person


def run(engine: Engine, ctx: Context, now: datetime = MORNING) -> DispatchReport:
    limiter = RateLimiter(engine, "test-sender", ctx.settings.send_rate_segments_per_second)
    return dispatch_once(engine, ctx, TwilioSender(ctx.settings), limiter, now=now, sleep=lambda _: None)


def put(
    session: Session,
    ctx: Context,
    contact: Contact,
    text: str,
    purpose: Purpose = Purpose.REMINDER,
    key: str | None = None,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
) -> OutboundMessage:
    message = outbox.enqueue(
        session,
        ctx,
        contact=contact,
        text=text,
        purpose=purpose,
        key=key or text,
        now=MORNING - timedelta(minutes=1),
        not_before=not_before,
        expires_at=expires_at,
    )
    session.commit()
    return message


def status_of(session: Session, message: OutboundMessage) -> OutboundMessage:
    session.expire_all()
    found = session.get(OutboundMessage, message.id)
    assert found is not None
    return found


def test_enqueue_is_idempotent_and_measures_segments(session: Session, tctx: Context, contact: Contact) -> None:
    first = put(session, tctx, contact, "Салам", key="reminder:1:week12")
    again = put(session, tctx, contact, "something else", key="reminder:1:week12")
    assert again.id == first.id and again.body == "Салам"
    assert (first.segments, first.encoding, first.priority) == (1, "UCS-2", 3)
    assert len(session.exec(select(OutboundMessage)).all()) == 1
    with pytest.raises(TextTooLong):
        put(session, tctx, contact, "я" * 202, key="long")


def test_sends_through_the_real_client(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    message = put(session, tctx, contact, "Ден соолук: кеңеш", purpose=Purpose.COMPLAINT_UPDATE)
    report = run(engine, tctx)
    assert (report.claimed, report.sent) == (1, 1)
    [sent] = fake.messages
    assert (sent["to"], sent["body"], sent["from"]) == (PHONE, "Ден соолук: кеңеш", tctx.settings.twilio_from_number)
    assert sent["status_callback"] == f"{tctx.settings.public_url}/twilio/status?outbox={message.id}"  # our id
    assert sent["validity_period"] == str(tctx.settings.validity_period_seconds)
    stored = status_of(session, message)
    assert (stored.status, stored.provider_sid, stored.attempts) == ("sent", sent["sid"], 1)
    assert run(engine, tctx).claimed == 0  # never twice


def test_answers_go_before_reminders(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    put(session, tctx, contact, "reminder", purpose=Purpose.REMINDER)
    put(session, tctx, contact, "update", purpose=Purpose.COMPLAINT_UPDATE)
    put(session, tctx, contact, "answer", purpose=Purpose.REPLY)
    run(engine, tctx)
    assert [m["body"] for m in fake.messages] == ["answer", "update", "reminder"]


def test_quiet_hours_hold_reminders_until_morning(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    night = datetime.fromisoformat("2026-11-20T17:30:00+00:00")  # 23:30 in Bishkek
    put(session, tctx, contact, "reminder", purpose=Purpose.REMINDER)
    put(session, tctx, contact, "answer to your message", purpose=Purpose.REPLY)
    assert run(engine, tctx, now=night).sent == 1
    assert [m["body"] for m in fake.messages] == ["answer to your message"]
    assert run(engine, tctx, now=datetime.fromisoformat("2026-11-21T01:59:00+00:00")).sent == 0  # 07:59
    assert run(engine, tctx, now=datetime.fromisoformat("2026-11-21T02:00:00+00:00")).sent == 1  # 08:00
    assert [m["body"] for m in fake.messages] == ["answer to your message", "reminder"]


def test_expired_message_is_never_sent_late(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    message = put(session, tctx, contact, "today only", expires_at=MORNING - timedelta(seconds=1))
    report = run(engine, tctx)
    assert report.expired == 1 and fake.messages == []
    assert status_of(session, message).status == "expired"


def test_temporary_failures_are_retried_with_backoff(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    message = put(session, tctx, contact, "retry me")
    fake.fail(500, None, "server error")
    fake.fail(429, 20429, "Too Many Requests")
    assert run(engine, tctx).retried == 1
    first = status_of(session, message)
    assert first.status == "pending" and first.last_error_code == "500"
    assert first.next_attempt_at > MORNING + timedelta(seconds=20)
    assert run(engine, tctx).claimed == 0  # not before its next attempt
    assert run(engine, tctx, now=first.next_attempt_at).retried == 1
    later = status_of(session, message).next_attempt_at + timedelta(seconds=1)
    assert run(engine, tctx, now=later).sent == 1
    assert status_of(session, message).attempts == 3 and len(fake.messages) == 1


@pytest.mark.parametrize("code", [30005, 30006, 30007, 21211])
def test_permanent_failures_are_not_retried(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio, code: int
) -> None:
    message = put(session, tctx, contact, "never")
    fake.fail(400, code, "permanent")
    assert run(engine, tctx).failed == 1
    stored = status_of(session, message)
    assert (stored.status, stored.last_error_code) == ("failed", str(code))
    assert run(engine, tctx, now=MORNING + timedelta(days=1)).claimed == 0


def test_21610_opts_the_phone_out_and_cancels_its_waiting_messages(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    first = put(session, tctx, contact, "first", purpose=Purpose.REPLY)
    later = put(session, tctx, contact, "later", not_before=MORNING + timedelta(hours=1))
    fake.fail(400, 21610, "Attempt to send to unsubscribed recipient")
    run(engine, tctx)
    assert status_of(session, first).status == "failed"
    assert status_of(session, later).status == "cancelled"
    session.expire_all()
    assert session.get(Contact, contact.id).opted_out_at is not None  # type: ignore[union-attr]


def test_nothing_but_the_stop_confirmation_reaches_an_opted_out_phone(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    waiting = put(session, tctx, contact, "reminder")
    contact.opted_out_at = MORNING - timedelta(minutes=1)
    session.add(contact)
    session.commit()
    new = put(session, tctx, contact, "another reminder")
    assert new.status == "cancelled"
    put(session, tctx, contact, "You will get no more reminders", purpose=Purpose.STOP_CONFIRMATION)
    run(engine, tctx)
    assert [m["body"] for m in fake.messages] == ["You will get no more reminders"]
    assert status_of(session, waiting).status == "cancelled"


def test_killed_after_claiming_is_picked_up_after_the_lease(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    message = put(session, tctx, contact, "claimed then crashed")
    claim(session, tctx, MORNING, 10, "twilio")  # the dispatcher dies here
    assert run(engine, tctx).claimed == 0  # still leased
    after_lease = MORNING + timedelta(seconds=tctx.settings.lease_seconds + 1)
    assert run(engine, tctx, now=after_lease).sent == 1
    assert len(fake.messages) == 1 and status_of(session, message).status == "sent"


def test_killed_after_sending_is_reconciled_not_resent(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    message = put(session, tctx, contact, "reached Twilio, result lost")
    claim(session, tctx, MORNING, 10, "twilio")
    TwilioSender(tctx.settings).send(
        Outgoing(message.id or 0, PHONE, "reached Twilio, result lost")
    )  # the send went out, then death
    report = run(engine, tctx, now=MORNING + timedelta(seconds=tctx.settings.lease_seconds + 1))
    assert (report.reconciled, report.sent) == (1, 0)
    assert len(fake.messages) == 1
    stored = status_of(session, message)
    assert (stored.status, stored.provider_sid) == ("sent", fake.messages[0]["sid"])


def test_a_lookup_twilio_cannot_answer_waits_without_holding_up_the_batch(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    unsure = put(session, tctx, contact, "claimed then crashed", purpose=Purpose.REPLY)
    claim(session, tctx, MORNING, 10, "twilio")  # died after claiming: whether it went out is unknown
    fresh = put(session, tctx, contact, "new since")
    fake.lists_down = True
    after_lease = MORNING + timedelta(seconds=tctx.settings.lease_seconds + 1)
    report = run(engine, tctx, now=after_lease)
    assert (report.retried, report.sent) == (1, 1)  # the other message still went
    waiting = status_of(session, unsure)
    assert (waiting.status, waiting.last_error_code) == ("pending", "lease_expired")  # still looked up first
    assert waiting.next_attempt_at > after_lease + timedelta(seconds=20)  # backoff, not the next dispatch run
    fake.lists_down = False
    assert run(engine, tctx, now=waiting.next_attempt_at).sent == 1
    assert sorted(m["body"] for m in fake.messages) == ["claimed then crashed", "new since"]
    assert status_of(session, fresh).status == "sent"


def test_rate_limiter_is_shared_between_dispatchers(engine: Engine) -> None:
    one, two = RateLimiter(engine, "shared", 2.0, headroom=1.0), RateLimiter(engine, "shared", 2.0, headroom=1.0)
    starts = [one.reserve(1, 1000.0), two.reserve(1, 1000.0), one.reserve(2, 1000.0), two.reserve(1, 1000.0)]
    assert starts == [1000.0, 1000.5, 1001.0, 1002.0]
    assert RateLimiter(engine, "other sender", 2.0).reserve(1, 1000.0) == 1000.0
    # By default it aims 10% under the limit, so jitter never pushes a window over.
    assert RateLimiter(engine, "other sender", 2.0).reserve(1, 1000.0) == pytest.approx(1000.0 + 1 / 1.8)


def test_operator_actions(session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio) -> None:
    put(session, tctx, contact, "a", key="k:a")
    put(session, tctx, contact, "b", key="k:b")
    assert outbox.cancel_by_key(session, "k:a", MORNING)
    assert not outbox.cancel_by_key(session, "k:a", MORNING)
    session.commit()
    assert outbox.counts_by_status(session) == {"cancelled": 1, "pending": 1}
    fake.fail(503, None, "down")
    run(engine, tctx)
    assert outbox.retry_now(session, MORNING) == 1
    session.commit()
    assert run(engine, tctx).sent == 1


def test_messages_wait_for_not_before(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio
) -> None:
    put(session, tctx, contact, "later", not_before=MORNING + timedelta(hours=2))
    assert run(engine, tctx).claimed == 0
    assert run(engine, tctx, now=MORNING + timedelta(hours=2)).sent == 1
    assert [m.status for m in session.exec(select(OutboundMessage).order_by(col(OutboundMessage.id)))] == ["sent"]
    assert utcnow() > MORNING - timedelta(days=365)


@pytest.mark.parametrize(("status", "code"), [(500, None), (503, None), (429, 20429), (400, 30003), (400, 21611)])
def test_each_temporary_failure_is_retried(
    session: Session, engine: Engine, tctx: Context, contact: Contact, fake: FakeTwilio, status: int, code: int | None
) -> None:
    message = put(session, tctx, contact, "again later")
    fake.fail(status, code, "temporary")
    assert run(engine, tctx).retried == 1
    retry_at = status_of(session, message).next_attempt_at
    assert run(engine, tctx, now=retry_at).sent == 1
    assert len(fake.messages) == 1
