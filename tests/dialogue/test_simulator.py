"""The simulator field staff demo with: the real signed webhook behind a phone-like page."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.main import create_app
from hotline.models import InboundMessage
from tests.support import make_settings


def test_page_and_send_in_development(settings: Settings, session: Session, tmp_path: Path) -> None:
    dev = make_settings(settings.database_url, tmp_path, env="development", public_url="http://127.0.0.1:8000")
    with TestClient(create_app(dev)) as client:
        page = client.get("/simulator")
        assert page.status_code == 200 and "Hotline simulator" in page.text
        response = client.post("/simulator/send", json={"sender": "0555 123 456", "body": "ПОСОБИЕ"})
    assert response.status_code == 200
    reply = response.json()["replies"][0]
    assert reply["text"].startswith("Пособия:")
    assert reply["encoding"] == "UCS-2" and reply["segments"] >= 1 and reply["units"] == len(reply["text"])
    assert session.exec(select(InboundMessage)).one().keyword == "BENEFITS"


def test_simulator_is_off_in_production_by_default(client: TestClient) -> None:
    assert client.get("/simulator").status_code == 404
    assert client.post("/simulator/send", json={"sender": "+996555123456", "body": "HELP"}).status_code == 404


def test_simulator_rejects_bad_input_clearly(settings: Settings, tmp_path: Path) -> None:
    dev = make_settings(settings.database_url, tmp_path, simulator=True)
    with TestClient(create_app(dev)) as client:
        assert client.post("/simulator/send", json={"sender": "", "body": "HELP"}).status_code == 422
        assert client.post("/simulator/send", json={"sender": "+996555123456", "body": "x" * 1601}).status_code == 422
        assert client.post("/simulator/send", content=b"not json").status_code == 422
        no_reply = client.post("/simulator/send", json={"sender": "Beeline", "body": "hi"})
    assert no_reply.status_code == 200 and no_reply.json()["replies"] == []
    assert "not a phone number" in no_reply.json()["note"]


def test_outbox_messages_show_in_the_simulator(settings: Settings, session: Session, tmp_path: Path) -> None:
    from hotline.complaints import service
    from hotline.context import build_context
    from hotline.models import Complaint, utcnow

    dev = make_settings(settings.database_url, tmp_path, env="development")
    with TestClient(create_app(dev)) as client:
        for text in ("ЖАЛОБА пособие не платят", "1", "1"):
            client.post("/simulator/send", json={"sender": "0555 123 456", "body": text})
        assert client.get("/simulator/outbox", params={"sender": "0555123456"}).json() == {"messages": []}
        complaint = session.exec(select(Complaint)).one()
        service.add_answer(session, build_context(dev), complaint, "Проверяем.", utcnow(), officer_id=None)
        session.commit()
        pushed = client.get("/simulator/outbox", params={"sender": "+996555123456"}).json()["messages"]
        assert client.get("/simulator/outbox", params={"sender": "nonsense"}).json() == {"messages": []}
    assert [(m["text"], m["purpose"], m["status"]) for m in pushed] == [
        (f"Жалоба {complaint.reference}: Проверяем.", "complaint_update", "pending")
    ]


def test_field_staff_choose_the_channel_a_message_comes_in_on(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    from hotline.complaints import service
    from hotline.context import build_context
    from hotline.models import Complaint, utcnow

    dev = make_settings(settings.database_url, tmp_path, env="development", public_url="http://127.0.0.1:8000")
    with TestClient(create_app(dev)) as client:
        page = client.get("/simulator")
        assert all(f'<option value="{name}">' in page.text for name in ("twilio", "kannel", "android"))
        for text in ("АРЫЗ пособие не төлөнбөйт", "1", "1"):
            sent = client.post("/simulator/send", json={"sender": "0555 123 456", "body": text, "channel": "kannel"})
            assert sent.status_code == 200
        reply = sent.json()["replies"][0]
        assert reply["channel"] == "kannel" and reply["encoding"] == "UCS-2"
        complaint = session.exec(select(Complaint)).one()
        service.add_answer(session, build_context(dev), complaint, "Текшерип жатабыз.", utcnow(), officer_id=None)
        session.commit()
        pushed = client.get("/simulator/outbox", params={"sender": "+996555123456"}).json()["messages"]
        refused = client.post("/simulator/send", json={"sender": "0555123456", "body": "HELP", "channel": "smpp"})
    # The officers' answer leaves on the channel the family last used: Kannel.
    assert [(m["purpose"], m["channel"]) for m in pushed] == [("complaint_update", "kannel")]
    assert {row.channel for row in session.exec(select(InboundMessage))} == {"kannel"}
    assert refused.status_code == 422


def test_a_channel_not_in_use_cannot_be_simulated(settings: Settings, tmp_path: Path) -> None:
    only_twilio = make_settings(settings.database_url, tmp_path, simulator=True)  # production: twilio only
    with TestClient(create_app(only_twilio)) as client:
        page = client.get("/simulator")
        response = client.post("/simulator/send", json={"sender": "0555123456", "body": "HELP", "channel": "kannel"})
    assert '<option value="kannel">' not in page.text
    assert response.status_code == 422 and "HOTLINE_CHANNELS" in response.json()["error"]


def test_the_history_shows_each_answer_once_whichever_way_it_went(settings: Settings, tmp_path: Path) -> None:
    dev = make_settings(settings.database_url, tmp_path, env="development", public_url="http://127.0.0.1:8000")
    with TestClient(create_app(dev)) as client:
        client.post("/simulator/send", json={"sender": "0555 123 456", "body": "ПОСОБИЕ"})
        sent = client.post("/simulator/send", json={"sender": "0555 123 456", "body": "1", "channel": "android"})
        history = client.get("/simulator/history", params={"sender": "+996555123456"}).json()["messages"]
        nobody = client.get("/simulator/history", params={"sender": "Beeline"}).json()["messages"]
    assert sent.json()["note"] == "Replies come through the outbox, as the Android app sends them."
    # The Android answer went by the outbox: it is there once, as the outbox message, not again as a direct reply.
    assert [(m.get("from_phone", False), m.get("outbox", False), m["channel"]) for m in history] == [
        (True, False, "twilio"),
        (False, False, "twilio"),
        (True, False, "android"),
        (False, True, "android"),
    ]
    assert history[1]["text"].startswith("Пособия: 1 ") and "1 200 сом/мес" in history[3]["text"]
    assert nobody == []
