"""One opt-out rule: our STOP/START words, Twilio's own words and OptOutType, and 21610, as Twilio applies them."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hotline.channels.twilio import TwilioSender
from hotline.config import Settings
from hotline.context import Context, build_context
from hotline.dialogue.inbound import Inbound
from hotline.engine import handle_inbound
from hotline.messaging import outbox
from hotline.messaging.dispatcher import RateLimiter, dispatch_once
from hotline.models import Contact, OutboundMessage, Purpose
from hotline.simulator.sms import replies_from_twiml
from tests.factories import OUR_NUMBER, PHONE, new_sid, post_form, render, sms_form
from tests.fake_twilio import FakeTwilio

MORNING = datetime.fromisoformat("2026-11-20T04:00:00+00:00")  # 10:00 in Bishkek: outside quiet hours


def text(client: TestClient, settings: Settings, body: str, opt_out_type: str | None = None) -> list[str]:
    """One SMS through Twilio's signed webhook, with OptOutType when Twilio's Advanced Opt-Out sends it."""
    form = sms_form(body)
    if opt_out_type:
        form["OptOutType"] = opt_out_type
    response = post_form(client, settings, form)
    assert response.status_code == 200, response.text
    return replies_from_twiml(response.text)


def phone(session: Session) -> Contact:
    session.expire_all()
    return session.exec(select(Contact)).one()


def blocked(session: Session) -> tuple[bool, bool]:
    """(opted out in our records, blocked by Twilio)."""
    contact = phone(session)
    return contact.opted_out_at is not None, contact.twilio_blocked_at is not None


@pytest.mark.parametrize(
    "word", ["STOP", "unsubscribe", " End ", "QUIT", "stopall", "Revoke", "optout", "CANCEL", "cancel\n"]
)
def test_twilios_opt_out_words_block_the_phone_even_inside_a_dialogue(
    client: TestClient, settings: Settings, session: Session, word: str
) -> None:
    assert text(client, settings, "CHECK")  # a dialogue is open: Twilio acts on the word all the same
    assert text(client, settings, word) == []  # Twilio confirms itself, and would refuse our answer
    assert blocked(session) == (True, True)
    assert text(client, settings, "HELP") == []
    assert text(client, settings, "1") == []


@pytest.mark.parametrize("body", ["cancel my complaint", "STOP please", "the end", "yes I want"])
def test_a_word_within_a_longer_text_is_not_twilios(
    client: TestClient, settings: Settings, session: Session, body: str
) -> None:
    text(client, settings, body)
    assert phone(session).twilio_blocked_at is None


@pytest.mark.parametrize("word", ["START", "yes", "Unstop"])
def test_twilios_opt_in_words_open_the_phone_again(
    client: TestClient, settings: Settings, session: Session, ctx: Context, word: str
) -> None:
    text(client, settings, "CANCEL")
    replies = text(client, settings, word)
    assert blocked(session) == (False, False)
    assert replies == [render(ctx, "start", phone(session).language)]
    assert text(client, settings, "HELP")  # answered again


def test_yes_from_an_open_phone_changes_nothing(client: TestClient, settings: Settings, session: Session) -> None:
    # Twilio opens nothing that was not blocked: "YES" is then the family's answer, read as any other text.
    text(client, settings, "HELP")
    before = text(client, settings, "YES")
    assert blocked(session) == (False, False)
    assert before == text(client, settings, "yes")


def test_our_start_while_twilio_blocks_says_to_send_start(
    client: TestClient, settings: Settings, session: Session, ctx: Context, fake: FakeTwilio, engine: Engine
) -> None:
    text(client, settings, "STOP")
    # СТАРТ is our word, not Twilio's: the block holds. The family is told the one word that lifts it.
    assert text(client, settings, "СТАРТ") == [render(ctx, "start_blocked", "ru")]
    assert blocked(session) == (False, True)
    assert text(client, settings, "ПОМОЩЬ") == []  # Twilio would refuse the answer
    # Nothing is sent through Twilio meanwhile: a reminder is cancelled, not refused with 21610.
    sending = build_context(settings.model_copy(update={"twilio_api_url": fake.url}))
    reminder = outbox.enqueue(
        session, sending, contact=phone(session), text="hi", purpose=Purpose.REMINDER, key="r1", now=MORNING
    )
    session.commit()
    limiter = RateLimiter(engine, "twilio-optout", 1000)
    dispatch_once(engine, sending, TwilioSender(sending.settings), limiter, now=MORNING, sleep=lambda _: None)
    session.expire_all()
    assert fake.messages == [] and session.get(OutboundMessage, reminder.id).status == "cancelled"  # type: ignore[union-attr]
    assert text(client, settings, "START") == [render(ctx, "start", "en")]
    assert blocked(session) == (False, False)


def test_opt_out_type_decides_when_twilio_sends_it(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    # A Messaging Service with Advanced Opt-Out may take СТОП as its STOP word: Twilio says so in OptOutType.
    assert text(client, settings, "СТОП", opt_out_type="STOP") == []
    assert blocked(session) == (True, True)
    assert text(client, settings, "БАШТА", opt_out_type="START") == [render(ctx, "start", "ky")]
    assert blocked(session) == (False, False)
    assert text(client, settings, "HELP", opt_out_type="HELP") == [render(ctx, "help", "en")]  # HELP blocks nothing


def test_our_stop_words_confirm_and_leave_twilio_open(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    for stop, start, language in [("СТОП", "СТАРТ", "ru"), ("ТОКТОТ", "БАШТА", "ky"), ("ТЎХТАТ", "БОШЛАШ", "uz")]:
        assert text(client, settings, stop) == [render(ctx, "stop", language)]
        assert blocked(session) == (True, False)
        assert text(client, settings, start) == [render(ctx, "start", language)]
        assert blocked(session) == (False, False)


def test_on_kannel_and_android_twilios_words_are_only_ours(session: Session, ctx: Context) -> None:
    # No carrier block there: STOP and UNSUBSCRIBE are our own STOP words, CANCEL or END are ordinary text.
    for channel in ("kannel", "android"):

        def sms(body: str, channel: str = channel) -> list[str]:
            return handle_inbound(session, ctx, Inbound(channel, new_sid(), PHONE, OUR_NUMBER, body, MORNING))

        assert sms("CANCEL") == [render(ctx, "menu", phone(session).language)]
        assert blocked(session) == (False, False)
        assert sms("STOP") == [render(ctx, "stop", "en")]
        assert blocked(session) == (True, False)
        assert sms("START") == [render(ctx, "start", "en")]


def test_21610_at_send_time_blocks_the_phone_at_twilio(
    client: TestClient, settings: Settings, session: Session, ctx: Context, fake: FakeTwilio, engine: Engine
) -> None:
    text(client, settings, "HELP")
    sending = build_context(settings.model_copy(update={"twilio_api_url": fake.url}))
    outbox.enqueue(session, sending, contact=phone(session), text="hi", purpose=Purpose.REMINDER, key="r", now=MORNING)
    session.commit()
    fake.fail(400, 21610, "Attempt to send to unsubscribed recipient")
    limiter = RateLimiter(engine, "twilio-21610", 1000)
    dispatch_once(engine, sending, TwilioSender(sending.settings), limiter, now=MORNING, sleep=lambda _: None)
    assert blocked(session) == (True, True)
    assert text(client, settings, "БАШТА") == [render(ctx, "start_blocked", "ky")]
