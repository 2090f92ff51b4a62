"""Delivery reports that come while a batch is still going out, before the create call has answered, twice and out
of order: each finds its message at once (our outbox id is in the signed callback URL), and nothing moves back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hotline.channels.base import apply_report
from hotline.channels.twilio import TwilioSender
from hotline.config import Settings
from hotline.context import Context, build_context
from hotline.messaging import outbox
from hotline.messaging.dispatcher import DispatchReport, RateLimiter, dispatch_once
from hotline.models import Contact, DeliveryReport, OutboundMessage, OutboundStatus, Purpose
from hotline.webhooks import sign
from tests.fake_twilio import FakeTwilio

MORNING = datetime.fromisoformat("2026-11-20T04:00:00+00:00")  # 10:00 in Bishkek: outside quiet hours
PHONE = "+996555123456"


def poster(client: TestClient, settings: Settings) -> Callable[[str, dict[str, str]], int]:
    """Deliver a callback as Twilio does: signed over the full URL it was given (query included)."""

    def post(url: str, form: dict[str, str]) -> int:
        path = url.removeprefix(settings.public_url.rstrip("/"))
        headers = {"X-Twilio-Signature": sign(settings, url, form)}
        status: int = client.post(path, data=form, headers=headers).status_code
        return status

    return post


@pytest.fixture
def twilio_ctx(settings: Settings, fake: FakeTwilio, client: TestClient) -> Context:
    """The app's context sending through the fake Twilio, which posts its callbacks to the app."""
    fake.post = poster(client, settings)
    return build_context(
        settings.model_copy(update={"twilio_api_url": fake.url, "send_rate_segments_per_second": 1000})
    )


def queue(session: Session, ctx: Context, texts: list[str], phone: str = PHONE) -> list[OutboundMessage]:
    contact = Contact(phone_hash=phone.ljust(64, "p"), phone_encrypted=ctx.vault.encrypt(phone), language="ru")
    session.add(contact)
    session.flush()
    messages = [
        outbox.enqueue(session, ctx, contact=contact, text=text, purpose=Purpose.REMINDER, key=f"k{n}", now=MORNING)
        for n, text in enumerate(texts)
    ]
    session.commit()
    return messages


def dispatch(engine: Engine, ctx: Context) -> DispatchReport:
    limiter = RateLimiter(engine, "twilio-truth", 1000)
    return dispatch_once(engine, ctx, TwilioSender(ctx.settings), limiter, now=MORNING, sleep=lambda _: None)


def state(engine: Engine, message: OutboundMessage) -> tuple[str, str | None, str | None]:
    with Session(engine) as db:
        found = db.get(OutboundMessage, message.id)
        assert found is not None
        return str(found.status), found.provider_sid, found.last_error_code


def kept(engine: Engine) -> int:
    with Session(engine) as db:
        return len(db.exec(select(DeliveryReport)).all())


def test_the_callback_url_names_our_outbox_message_under_the_signature(
    engine: Engine, session: Session, twilio_ctx: Context, fake: FakeTwilio, client: TestClient
) -> None:
    (message,) = queue(session, twilio_ctx, ["hi"])
    dispatch(engine, twilio_ctx)
    public = twilio_ctx.settings.public_url.rstrip("/")
    url = fake.messages[0]["status_callback"]
    assert url == f"{public}/twilio/status?outbox={message.id}"
    # A report signed for this message's URL, replayed against another message's id, is refused.
    form = {
        "AccountSid": twilio_ctx.settings.twilio_account_sid,
        "MessageSid": fake.messages[0]["sid"],
        "MessageStatus": "failed",
    }
    other = url.replace(f"outbox={message.id}", f"outbox={(message.id or 0) + 1}").removeprefix(public)
    response = client.post(other, data=form, headers={"X-Twilio-Signature": sign(twilio_ctx.settings, url, form)})
    assert response.status_code == 403
    assert state(engine, message)[0] == "sent"


def test_a_report_before_the_create_call_answers_is_applied_at_once(
    engine: Engine, session: Session, twilio_ctx: Context, fake: FakeTwilio
) -> None:
    (message,) = queue(session, twilio_ctx, ["hi"])
    seen: list[tuple[tuple[str, str | None, str | None], int]] = []

    def report_at_once(created: dict[str, Any]) -> None:
        assert fake.report(created, "undelivered", "30003") == 204
        seen.append((state(engine, message), kept(engine)))  # what an officer's page shows at this moment

    fake.on_create = report_at_once
    dispatch(engine, twilio_ctx)
    assert seen == [(("undelivered", fake.messages[0]["sid"], "30003"), 0)]  # matched, not left waiting
    assert state(engine, message) == ("undelivered", fake.messages[0]["sid"], "30003")  # the send's "sent" too late


def test_reports_twice_and_out_of_order_never_move_a_message_back(
    engine: Engine, session: Session, twilio_ctx: Context, fake: FakeTwilio
) -> None:
    (message,) = queue(session, twilio_ctx, ["hi"])
    seen: list[str] = []

    def reports(created: dict[str, Any]) -> None:
        for status in ("delivered", "sent", "queued", "delivered"):
            assert fake.report(created, status) == 204
            seen.append(state(engine, message)[0])

    fake.on_create = reports
    dispatch(engine, twilio_ctx)
    assert seen == ["delivered"] * 4
    assert state(engine, message)[0] == "delivered"
    for late in ("sent", "sending"):  # once more after the batch
        fake.report(fake.messages[0], late)
    assert state(engine, message)[0] == "delivered" and kept(engine) == 0


def test_each_provider_id_is_recorded_as_soon_as_the_message_is_accepted(
    engine: Engine, session: Session, twilio_ctx: Context, fake: FakeTwilio
) -> None:
    # While the third message of a batch is being created, the first two are recorded with Twilio's ids: a report
    # without our id (a message queued before the ids were added) finds them by SID, and a crash now loses nothing.
    messages = queue(session, twilio_ctx, ["one", "two", "three"])
    during: list[list[tuple[str, str | None, str | None]]] = []
    status_url = f"{twilio_ctx.settings.public_url}/twilio/status"

    def mid_batch(created: dict[str, Any]) -> None:
        if created["body"] == "three":
            during.append([state(engine, m) for m in messages[:2]])
            assert fake.report(fake.messages[0], "delivered", url=status_url) == 204
            during.append([state(engine, messages[0])])

    fake.on_create = mid_batch
    dispatch(engine, twilio_ctx)
    first, second = fake.messages[0]["sid"], fake.messages[1]["sid"]
    assert during == [[("sent", first, None), ("sent", second, None)], [("delivered", first, None)]]
    assert kept(engine) == 0


def test_a_report_that_matches_nothing_is_kept_then_applied(
    engine: Engine, session: Session, twilio_ctx: Context, fake: FakeTwilio
) -> None:
    (message,) = queue(session, twilio_ctx, ["hi"])
    status_url = f"{twilio_ctx.settings.public_url}/twilio/status"
    early = {"account_sid": twilio_ctx.settings.twilio_account_sid, "sid": "SM" + "e" * 32, "to": PHONE}
    assert fake.report(early, "delivered", url=status_url) == 204  # no outbox id, no such SID yet
    assert kept(engine) == 1
    with Session(engine) as db:  # the send it belongs to is recorded later (say, after a reconciliation)
        row = db.get(OutboundMessage, message.id)
        assert row is not None
        row.status, row.provider_sid = OutboundStatus.SENT, early["sid"]
        db.add(row)
        db.commit()
    assert dispatch(engine, twilio_ctx).reports_applied == 1
    assert state(engine, message)[0] == "delivered" and kept(engine) == 0


def test_21610_in_a_status_callback_opts_the_phone_out(
    engine: Engine, session: Session, twilio_ctx: Context, fake: FakeTwilio
) -> None:
    # Through a Messaging Service Twilio accepts the message and reports 21610 only in the callback.
    first, waiting = queue(session, twilio_ctx, ["one", "two"])
    with Session(engine) as db:  # the second waits for tomorrow
        row = db.get(OutboundMessage, waiting.id)
        assert row is not None
        row.next_attempt_at = MORNING.replace(day=21)
        db.add(row)
        db.commit()
    fake.on_create = lambda created: None
    dispatch(engine, twilio_ctx)
    assert fake.report(fake.messages[0], "failed", "21610") == 204
    with Session(engine) as db:
        contact = db.exec(select(Contact)).one()
        assert contact.opted_out_at is not None and contact.twilio_blocked_at is not None
    assert state(engine, first)[:1] == ("failed",) and state(engine, waiting)[0] == "cancelled"


def test_a_report_that_comes_while_the_send_is_being_recorded_is_not_overwritten(
    engine: Engine, session: Session, twilio_ctx: Context, fake: FakeTwilio
) -> None:
    """The report lands between the recorder's read of the message and its write (Kannel and the Android gateway
    report within milliseconds): the recorder must not write "sent" over "delivered"."""
    (message,) = queue(session, twilio_ctx, ["hi"])
    created: list[dict[str, Any]] = []
    fake.on_create = created.append
    raced: list[threading.Thread] = []

    def report_meanwhile(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        # The recorder's read of the message, once the provider has accepted it: a report comes now, from
        # another thread, and is given a moment to land before the recorder goes on to write.
        if created and not raced and statement.lstrip().startswith("SELECT") and "FROM outboundmessage" in statement:
            thread = threading.Thread(target=fake.report, args=(created[0], "delivered"))
            raced.append(thread)
            thread.start()
            thread.join(timeout=1.0)

    event.listen(engine, "after_cursor_execute", report_meanwhile)
    try:
        report = dispatch(engine, twilio_ctx)
    finally:
        event.remove(engine, "after_cursor_execute", report_meanwhile)
    raced[0].join(timeout=15)
    assert report.sent == 1 and raced and not raced[0].is_alive()
    assert state(engine, message) == ("delivered", created[0]["sid"], None) and kept(engine) == 0


def test_two_reports_of_one_message_at_once_never_lose_the_later_status(
    engine: Engine, session: Session, twilio_ctx: Context
) -> None:
    """Kannel sends "accepted by the operator" and "delivered" for each message within milliseconds, each to its own
    request. The first read the message, the second committed "delivered" meanwhile: the first must not then write
    "sent" over it."""
    (message,) = queue(session, twilio_ctx, ["hi"])
    message.transport, message.status = "kannel", OutboundStatus.SENDING  # handed to Kannel, not yet recorded
    session.add(message)
    session.commit()
    ident = message.id or 0
    second: list[threading.Thread] = []

    def report(status: OutboundStatus) -> None:
        with Session(engine) as own:
            apply_report(own, "kannel", str(ident), status, None, ident)

    def delivered_meanwhile(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name == "accepted" and not second and "FROM outboundmessage" in statement:
            thread = threading.Thread(target=report, args=(OutboundStatus.DELIVERED,), name="delivered")
            second.append(thread)
            thread.start()
            thread.join(timeout=1.0)  # lands now unless the first report holds the message

    event.listen(engine, "after_cursor_execute", delivered_meanwhile)
    try:
        first = threading.Thread(target=report, args=(OutboundStatus.SENT,), name="accepted")
        first.start()
        first.join(timeout=15)
    finally:
        event.remove(engine, "after_cursor_execute", delivered_meanwhile)
    second[0].join(timeout=15)
    assert not first.is_alive() and not second[0].is_alive()
    assert state(engine, message) == ("delivered", str(ident), None)
