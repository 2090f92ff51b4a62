"""A family's SMS through a real Kannel: phone -> fakesmsc -> Kannel -> hotline -> Kannel -> fakesmsc -> phone.

Debian's bearerbox and smsbox run on a generated configuration with Kannel's own fake SMSC playing the operator
(tests/kannel.py); the test reads what the phone received. No mock of Kannel, none of our code."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hotline.channels.kannel import KannelSender
from hotline.complaints.service import add_answer
from hotline.config import Settings
from hotline.context import Context, build_context
from hotline.dialogue.contacts import find_contact
from hotline.main import create_app
from hotline.messaging import outbox
from hotline.messaging.dispatcher import DispatchReport, RateLimiter, dispatch_once
from hotline.models import Complaint, InboundMessage, OutboundMessage, Purpose, utcnow
from tests.browser import serve
from tests.kannel import FakePhone, Kannel, KannelConfig, kannel_available, running_kannel
from tests.support import free_port

SHORT_NUMBER = "7575"


def require_kannel() -> None:
    """Skip without Kannel on a developer's machine; CI (HOTLINE_REQUIRE_KANNEL=1) must have it."""
    if not kannel_available():
        if os.environ.get("HOTLINE_REQUIRE_KANNEL"):
            pytest.fail("Kannel missing: apt-get install kannel kannel-extras")
        pytest.skip("Kannel missing (apt-get install kannel kannel-extras); .ci/run installs it")


@dataclass
class Line:
    """The hotline served over HTTP, a real Kannel calling it, and a phone on Kannel's fake SMSC."""

    kannel: Kannel
    phone: FakePhone
    ctx: Context
    engine: Engine

    def text(self, sender: str, body: str) -> str:
        """What the phone gets back for one SMS (AssertionError if nothing comes)."""
        self.phone.send(sender, SHORT_NUMBER, body)
        return self.phone.received_one().text

    def dispatch(self, later: timedelta = timedelta(0)) -> DispatchReport:
        """One run of the outbox on the Kannel channel (`later`: as if that much time had passed)."""
        limiter = RateLimiter(self.engine, "kannel-test", 100)
        sender = KannelSender(self.ctx.settings, timeout=3.0)
        return dispatch_once(self.engine, self.ctx, sender, limiter, now=utcnow() + later, sleep=lambda _: None)


@pytest.fixture
def line(settings: Settings, engine: Engine, tmp_path: Path) -> Iterator[Line]:
    require_kannel()
    port = free_port()
    # An empty reply-couldnotfetch: a refused request sends the family nothing, not Kannel's English error text.
    config = KannelConfig(default_sender=SHORT_NUMBER, reply_couldnotfetch="", max_messages=3)
    secret = secrets.token_urlsafe(32)
    live = settings.model_copy(
        update={
            "channels": "kannel,twilio",
            "public_url": f"http://127.0.0.1:{port}",
            "kannel_secret": secret,
            "kannel_sendsms_url": f"http://127.0.0.1:{config.sendsms_port}/cgi-bin/sendsms",
            "kannel_username": config.sendsms_username,
            "kannel_password": config.sendsms_password,
            "kannel_from": SHORT_NUMBER,
            # No quiet hours: what these tests send may go at any hour the suite runs.
            "quiet_hours_start": "00:00",
            "quiet_hours_end": "00:00",
            "retry_backoff_seconds": 1.0,
        }
    )
    with (
        serve(create_app(live), port) as base,
        running_kannel(tmp_path, f"{base}/kannel/sms?secret={secret}", config=config, phone=True) as kannel,
    ):
        yield Line(kannel, kannel.phones[0], build_context(live), engine)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def stored_replies(session: Session, body_start: str) -> list[str]:
    session.expire_all()
    rows = session.exec(select(InboundMessage).where(col(InboundMessage.body).startswith(body_start))).all()
    assert len(rows) == 1
    return list(rows[0].replies)


@pytest.mark.parametrize(
    ("body", "language"),
    [("ЖАРДАМ", "ky"), ("ПОМОЩЬ", "ru"), ("ЁРДАМ", "uz"), ("yordam", "uz"), ("HELP", "en")],
    ids=["kyrgyz", "russian", "uzbek", "uzbek-latin", "english"],
)
def test_a_family_gets_the_answer_in_its_language_through_kannel(line: Line, body: str, language: str) -> None:
    got = line.text("996700111222", body)
    assert got == line.ctx.texts.render("help", language, free=False).text
    # Cyrillic goes as UCS-2 (else the phone would show question marks), English as 7-bit text.
    assert got.isascii() == (language == "en")


def test_a_long_reply_arrives_whole_in_concatenated_parts(line: Line, session: Session) -> None:
    line.phone.send("996700111223", SHORT_NUMBER, "ПОСОБИЕ 1")
    got = line.phone.received_one()
    (expected,) = stored_replies(session, "ПОСОБИЕ 1")
    assert got.text == expected and got.parts >= 2 and got.complete


def test_a_complaint_dialogue_and_its_status_by_kannel(line: Line, session: Session) -> None:
    phone = "996700111224"
    assert "1" in line.text(phone, "АРЫЗ айыл өкмөтү пара сурады")  # which rayon?
    line.text(phone, "1")  # which municipality?
    ack = line.text(phone, "1")
    reference = re.search(r"\b(\d{8})\b", ack)
    assert reference is not None, ack
    complaint = session.exec(select(Complaint)).one()
    assert complaint.reference == reference.group(1) and complaint.text.startswith("айыл өкмөтү пара сурады")
    assert reference.group(1) in line.text(phone, f"СТАТУС {complaint.reference}")


def test_stop_then_nothing_more_reaches_the_phone(line: Line, session: Session) -> None:
    phone = "996700111225"
    assert line.text(phone, "ТОКТОТ") == line.ctx.texts.render("stop", "ky").text
    line.phone.send(phone, SHORT_NUMBER, "ЖАРДАМ")
    assert line.phone.received(timeout=3.0) == []  # stored, unanswered: the empty reply sends nothing
    contact = find_contact(session, line.ctx, "+" + phone)
    assert contact is not None and contact.opted_out_at is not None and contact.last_channel == "kannel"
    reminder = outbox.enqueue(
        session, line.ctx, contact=contact, text="Эскертме", purpose=Purpose.REMINDER, key="after-stop"
    )
    session.commit()
    assert reminder.status == "cancelled"


def file_complaint(line: Line, session: Session, phone: str) -> Complaint:
    for text in ("АРЫЗ жөлөкпул берилбей жатат", "1", "1"):
        line.text(phone, text)
    session.expire_all()
    return session.exec(select(Complaint)).one()


def test_an_officers_answer_goes_out_by_sendsms_and_its_delivery_report_comes_back(
    line: Line, session: Session
) -> None:
    complaint = file_complaint(line, session, "996700111226")
    add_answer(session, line.ctx, complaint, "Текшерип жатабыз.", utcnow(), officer_id=None)
    session.commit()
    report = line.dispatch()
    assert report.sent == 1
    got = line.phone.received_one()
    assert got.text == f"Арыз {complaint.reference}: Текшерип жатабыз." and got.receiver.endswith("996700111226")

    def delivered() -> bool:
        session.expire_all()
        message = session.exec(select(OutboundMessage)).one()
        return message.status == "delivered" and message.transport == "kannel"

    wait_until(delivered, "Kannel's delivery report")


def test_a_status_with_the_answer_sends_the_second_text_through_the_outbox(line: Line, session: Session) -> None:
    phone = "996700111227"
    complaint = file_complaint(line, session, phone)
    add_answer(session, line.ctx, complaint, "Акча кайтарылды.", utcnow(), officer_id=None)
    session.commit()
    line.dispatch()
    line.phone.received_one()  # the answer itself
    first = line.text(phone, f"СТАТУС {complaint.reference}")
    assert complaint.reference in first
    assert line.dispatch().sent == 1  # the answer, again, as the second text of the STATUS turn
    assert "Акча кайтарылды." in line.phone.received_one().text


def test_kannel_restarted_while_messages_wait_loses_none(line: Line, session: Session) -> None:
    complaint = file_complaint(line, session, "996700111228")
    line.phone.disconnect()  # the operator's link is down: Kannel queues what it accepts
    add_answer(session, line.ctx, complaint, "Жооп бар.", utcnow(), officer_id=None)
    session.commit()
    assert line.dispatch().sent == 1
    assert line.kannel.store_size() >= 1
    line.kannel.restart(crash=True, reconnect_phones=False)  # kill -9: only the store survives
    line.phone.connect()
    got = line.phone.received(timeout=10.0)
    assert [m.text for m in got] == [f"Арыз {complaint.reference}: Жооп бар."]  # once, after the restart


def test_kannel_unreachable_while_the_outbox_sends_is_retried_and_nothing_is_lost(line: Line, session: Session) -> None:
    complaint = file_complaint(line, session, "996700111229")
    add_answer(session, line.ctx, complaint, "Кечиресиз, текшерүүдө.", utcnow(), officer_id=None)
    session.commit()
    line.kannel.stop()
    down = line.dispatch()
    assert (down.sent, down.retried) == (0, 1)
    session.expire_all()
    waiting = session.exec(select(OutboundMessage)).one()
    assert waiting.status == "pending" and waiting.last_error_code == "network"
    line.kannel.start()
    line.phone.connect()
    assert line.dispatch(later=timedelta(minutes=5)).sent == 1
    assert [m.text for m in line.phone.received(timeout=10.0)] == [
        f"Арыз {complaint.reference}: Кечиресиз, текшерүүдө."
    ]
