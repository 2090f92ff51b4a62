"""Kannel's requests to us, one at a time over HTTP: authentication, bad input, dedup, replies, delivery reports.

The whole path through a real Kannel and its fake SMSC is in test_kannel.py; these cases need exact requests that a
real Kannel would never make (a wrong secret, another address, broken bytes)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from hotline.complaints.service import add_answer
from hotline.config import Settings
from hotline.context import Context, build_context
from hotline.logs import logging_config
from hotline.main import create_app
from hotline.messaging.outbox import enqueue
from hotline.models import (
    Complaint,
    Contact,
    DeliveryReport,
    InboundMessage,
    OutboundMessage,
    OutboundStatus,
    Purpose,
)

PHONE = "+996555123456"
SHORT_NUMBER = "1212"


@pytest.fixture
def kannel_settings(settings: Settings) -> Settings:
    """Kannel in use beside Twilio, with a real random secret."""
    return settings.model_copy(update={"channels": "twilio,kannel", "kannel_secret": secrets.token_urlsafe(32)})


def kannel_client(settings: Settings, host: str = "127.0.0.1") -> TestClient:
    return TestClient(create_app(settings), base_url="http://internal:8000", client=(host, 40000))


@pytest.fixture
def kannel(kannel_settings: Settings) -> Iterator[TestClient]:
    """The app as Kannel on this machine reaches it."""
    with kannel_client(kannel_settings) as client:
        yield client


def sms_query(settings: Settings, text: bytes, **overrides: str) -> str:
    """The query Kannel's get-url sends (hotline/channels/kannel.py documents it): text as its own bytes."""
    fields = {"secret": settings.kannel_secret, "id": secrets.token_hex(16), "from": PHONE, "to": SHORT_NUMBER}
    fields.update({"coding": "0", "charset": "UTF-8"})
    fields.update(overrides)
    return urlencode(fields) + "&text=" + quote(text)


def stored(session: Session) -> tuple[int, int]:
    session.expire_all()
    inbound = session.exec(select(func.count()).select_from(InboundMessage)).one()
    outbound = session.exec(select(func.count()).select_from(OutboundMessage)).one()
    return int(inbound), int(outbound)


def test_a_cyrillic_keyword_is_answered_in_the_response_marked_ucs2(
    kannel: TestClient, kannel_settings: Settings, session: Session
) -> None:
    response = kannel.get("/kannel/sms?" + sms_query(kannel_settings, "ЖАРДАМ".encode()))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-kannel-coding"] == "2"  # else Kannel sends Cyrillic as question marks
    assert "ЖӨЛӨКПУЛ" in response.text
    row = session.exec(select(InboundMessage)).one()
    assert (row.channel, row.keyword) == ("kannel", "HELP")


def test_a_ucs2_text_in_its_own_bytes_is_read(kannel: TestClient, kannel_settings: Settings) -> None:
    # Without Kannel's mo-recode the text comes as UTF-16BE bytes with coding 2.
    query = sms_query(kannel_settings, "ПОСОБИЕ".encode("utf-16-be"), coding="2", charset="UTF-16BE")
    response = kannel.get("/kannel/sms?" + query)
    assert response.status_code == 200 and response.text.startswith("Пособия: 1")  # the programme list


def test_a_latin_reply_goes_as_gsm7(kannel: TestClient, kannel_settings: Settings) -> None:
    response = kannel.get("/kannel/sms?" + sms_query(kannel_settings, b"HELP"))
    assert response.status_code == 200 and "x-kannel-coding" not in response.headers
    assert response.text.startswith("Hotline for families")


def test_a_repeated_kannel_id_gets_the_first_answer_and_stores_nothing_new(
    kannel: TestClient, kannel_settings: Settings, session: Session
) -> None:
    query = sms_query(kannel_settings, "ПОСОБИЕ".encode(), id="7f3e0c1a-0000-4000-8000-000000000001")
    first = kannel.get("/kannel/sms?" + query)
    again = kannel.get("/kannel/sms?" + query)
    assert first.text == again.text and first.status_code == again.status_code == 200
    assert stored(session) == (1, 0)


def test_the_same_id_on_another_channel_is_another_message(
    kannel: TestClient, kannel_settings: Settings, session: Session
) -> None:
    from tests.factories import post_form, sms_form

    kannel.get("/kannel/sms?" + sms_query(kannel_settings, b"HELP", id="SMsame"))
    post_form(kannel, kannel_settings, sms_form("HELP", sid="SMsame"))
    assert stored(session)[0] == 2


@pytest.mark.parametrize("secret", ["", "wrong", "x" * 43])
def test_a_wrong_or_missing_secret_is_refused_and_nothing_stored(
    kannel: TestClient, kannel_settings: Settings, session: Session, secret: str
) -> None:
    response = kannel.get("/kannel/sms?" + sms_query(kannel_settings, b"HELP", secret=secret))
    assert response.status_code == 403
    dlr = kannel.get(f"/kannel/dlr?secret={quote(secret)}&id=1&type=1")
    assert dlr.status_code == 403
    assert stored(session) == (0, 0) and session.exec(select(DeliveryReport)).all() == []


def test_the_right_secret_from_another_address_is_refused(kannel_settings: Settings, session: Session) -> None:
    with kannel_client(kannel_settings, host="203.0.113.9") as outsider:
        response = outsider.get("/kannel/sms?" + sms_query(kannel_settings, b"HELP"))
    assert response.status_code == 403 and stored(session) == (0, 0)


def test_an_allowed_network_may_be_named(kannel_settings: Settings, session: Session) -> None:
    settings = kannel_settings.model_copy(update={"kannel_allowed_ips": "10.20.0.0/16"})
    with kannel_client(settings, host="10.20.3.4") as kannel_host:
        assert kannel_host.get("/kannel/sms?" + sms_query(settings, b"HELP")).status_code == 200


@pytest.mark.parametrize("missing", ["id", "from", "to"])
def test_a_missing_parameter_is_named(
    kannel: TestClient, kannel_settings: Settings, session: Session, missing: str
) -> None:
    response = kannel.get("/kannel/sms?" + sms_query(kannel_settings, b"HELP", **{missing: ""}))
    assert response.status_code == 400 and missing in response.json()["detail"]
    assert stored(session) == (0, 0)


def test_a_body_in_a_wrong_charset_is_a_clear_400(
    kannel: TestClient, kannel_settings: Settings, session: Session
) -> None:
    # Windows-1251 bytes that Kannel claims are UTF-8: refused, not stored as mojibake.
    response = kannel.get("/kannel/sms?" + sms_query(kannel_settings, "ПОСОБИЕ".encode("cp1251")))
    assert response.status_code == 400 and "UTF-8" in response.json()["detail"]
    unknown = kannel.get("/kannel/sms?" + sms_query(kannel_settings, b"HELP", charset="X-NO-SUCH"))
    assert unknown.status_code == 400
    assert stored(session) == (0, 0)


def test_the_channel_is_closed_when_not_in_use(settings: Settings, session: Session) -> None:
    closed = settings.model_copy(update={"kannel_secret": secrets.token_urlsafe(32)})  # channels: twilio only
    with kannel_client(closed) as client:
        response = client.get("/kannel/sms?" + sms_query(closed, b"HELP"))
    assert response.status_code == 404 and stored(session) == (0, 0)


def test_a_turn_with_two_texts_sends_the_second_through_the_outbox_on_kannel(
    kannel: TestClient, kannel_settings: Settings, session: Session
) -> None:
    # STATUS of an answered complaint: the status, then the officers' answer.
    for text in ("АРЫЗ аким пара сурады", "1", "1"):  # the complaint, its rayon, its municipality
        filed = kannel.get("/kannel/sms?" + sms_query(kannel_settings, text.encode()))
        assert filed.status_code == 200
    ctx: Context = build_context(kannel_settings)
    complaint = session.exec(select(Complaint)).first()
    if complaint is None or not complaint.reference:
        pytest.fail(f"no complaint filed: {filed.text}")
    add_answer(session, ctx, complaint, "Текшерилди.", complaint.created_at, None)
    session.commit()
    query = sms_query(kannel_settings, f"СТАТУС {complaint.reference}".encode())
    for _ in range(2):  # Kannel repeating the request queues nothing twice
        response = kannel.get("/kannel/sms?" + query)
        assert response.status_code == 200 and complaint.reference in response.text
    session.expire_all()
    queued = session.exec(select(OutboundMessage).where(col(OutboundMessage.purpose) == "reply")).all()
    assert len(queued) == 1 and queued[0].transport == "kannel" and "Текшерилди." in queued[0].body


def test_delivery_reports_move_a_message_forward_and_an_unknown_one_is_kept(
    kannel: TestClient, kannel_settings: Settings, session: Session
) -> None:
    kannel.get("/kannel/sms?" + sms_query(kannel_settings, b"HELP"))
    secret = quote(kannel_settings.kannel_secret)
    assert kannel.get(f"/kannel/dlr?secret={secret}&id=987654&type=1").status_code == 200  # Kannel retries others
    kept = session.exec(select(DeliveryReport)).one()
    assert (kept.transport, kept.reference, kept.status) == ("kannel", "987654", OutboundStatus.DELIVERED)
    for bad in ("id=abc&type=1", "id=1", "type=8", "id=1&type=x"):
        assert kannel.get(f"/kannel/dlr?secret={secret}&{bad}").status_code == 400


def test_logs_hold_neither_the_secret_nor_the_number_nor_the_text(
    kannel: TestClient, kannel_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Kannel puts all three in the query string of its GET: the access log must never write query strings.
    caplog.set_level(logging.DEBUG)
    assert kannel.get("/kannel/sms?" + sms_query(kannel_settings, "АРЫЗ аким пара сурады".encode())).status_code == 200
    secret = quote(kannel_settings.kannel_secret)
    assert kannel.get(f"/kannel/dlr?secret={secret}&id=5&type=1").status_code == 200
    # The server's own lines (the test client's httpx logs its URLs; in production httpx logs only warnings).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("hotline", "uvicorn")))
    assert "inbound kannel" in logged and "/kannel/sms" in logged  # the request was logged, without its query
    for private in (kannel_settings.kannel_secret, secret, "555123456", "аким", "%D0"):
        assert private not in logged
    # Our sendsms requests carry Kannel's password, the number and the text in their URL, and httpx logs each URL
    # at INFO: production logging keeps httpx at warnings.
    assert logging_config(as_json=True)["loggers"]["httpx"]["level"] == "WARNING"


def test_a_known_phones_keyword_is_answered_on_the_fast_path(
    kannel: TestClient, kannel_settings: Settings, session: Session
) -> None:
    """Kannel, the production channel, takes the same fast path as Twilio (hotline/fastpath.py): a phone's first SMS
    makes its contact through the engine, the next keyword is one read and one write, answered alike."""
    first = kannel.get("/kannel/sms?" + sms_query(kannel_settings, "ЖАРДАМ".encode()))
    fast = kannel.app.state.fast  # type: ignore[attr-defined]
    assert fast.answered == 0  # a new phone: the engine's
    again = kannel.get("/kannel/sms?" + sms_query(kannel_settings, "ЖАРДАМ".encode()))
    assert fast.answered == 1 and again.text == first.text
    assert stored(session) == (2, 0)


def test_a_report_that_beats_the_recorded_send_finds_its_message_by_our_id(
    kannel: TestClient, kannel_settings: Settings, session: Session
) -> None:
    """Kannel's operator (fakesmsc here) can report delivery before the dispatcher has recorded the send: the report
    names our outbox id, so it moves the message at once instead of waiting as an unknown report for a job."""
    kannel.get("/kannel/sms?" + sms_query(kannel_settings, b"HELP"))
    contact = session.exec(select(Contact)).one()
    message = enqueue(
        session, build_context(kannel_settings), contact=contact, text="Жооп", purpose=Purpose.REPLY, key="race"
    )
    message.transport, message.status = "kannel", OutboundStatus.SENDING  # claimed, handed to Kannel, not recorded
    session.add(message)
    session.commit()
    secret = quote(kannel_settings.kannel_secret)
    assert kannel.get(f"/kannel/dlr?secret={secret}&id={message.id}&type=1").status_code == 200
    session.expire_all()
    assert session.get(OutboundMessage, message.id).status == OutboundStatus.DELIVERED  # type: ignore[union-attr]
    assert session.exec(select(DeliveryReport)).first() is None
