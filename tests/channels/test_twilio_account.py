"""Twilio's requests name the account they come from (AccountSid): one from another account is refused, even with a
valid signature, and changes nothing (a message's status, a call's length, a complaint, an inbound message)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from hotline.config import Settings
from hotline.context import Context
from hotline.main import create_app
from hotline.messaging import outbox
from hotline.models import Contact, OutboundMessage, OutboundStatus, Purpose
from tests.factories import post_form, sms_form
from tests.support import make_settings
from tests.voice.phone import Phone, call_sid

OTHER_ACCOUNT = "AC" + "2" * 32
MESSAGE_SID = "SM" + "a" * 32


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def sent_message(session: Session, ctx: Context) -> OutboundMessage:
    contact = Contact(phone_hash="p" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ru")
    session.add(contact)
    session.flush()
    message = outbox.enqueue(session, ctx, contact=contact, text="hi", purpose=Purpose.REMINDER, key="k")
    message.status, message.provider_sid = OutboundStatus.SENT, MESSAGE_SID
    session.add(message)
    session.commit()
    return message


@pytest.mark.parametrize("account", [OTHER_ACCOUNT, None, "", "ac" + "1" * 32])
def test_a_status_callback_from_another_account_changes_nothing(
    client: TestClient, settings: Settings, session: Session, engine: Engine, ctx: Context, account: str | None
) -> None:
    message = sent_message(session, ctx)
    form = {"MessageSid": MESSAGE_SID, "MessageStatus": "failed", "ErrorCode": "30008"}
    if account is not None:
        form["AccountSid"] = account
    before = table_counts(engine)
    response = post_form(client, settings, form, path="/twilio/status")
    assert response.status_code == 403 and "AccountSid" in response.json()["detail"]
    unknown = post_form(client, settings, {**form, "MessageSid": "SM" + "f" * 32}, path="/twilio/status")
    assert unknown.status_code == 403  # not kept for later either
    assert table_counts(engine) == before
    session.expire_all()
    assert session.get(OutboundMessage, message.id).status == OutboundStatus.SENT  # type: ignore[union-attr]
    # The same report from our account is applied.
    ours = post_form(client, settings, {**form, "AccountSid": settings.twilio_account_sid}, path="/twilio/status")
    assert ours.status_code == 204
    session.expire_all()
    assert session.get(OutboundMessage, message.id).status == OutboundStatus.FAILED  # type: ignore[union-attr]


def test_sms_and_calls_from_another_account_are_refused(client: TestClient, settings: Settings, engine: Engine) -> None:
    before = table_counts(engine)
    sms = post_form(client, settings, {**sms_form("ЖАЛОБА аким просил деньги"), "AccountSid": OTHER_ACCOUNT})
    assert sms.status_code == 403 and "<Message>" not in sms.text
    caller = Phone(client, settings)
    for path in ("/twilio/voice", "/twilio/voice/step?n=main&l=ru", "/twilio/voice/status"):
        form = caller.form(AccountSid=OTHER_ACCOUNT, Digits="2", CallStatus="completed", CallDuration="60")
        assert post_form(client, settings, form, path=path).status_code == 403, path
    assert table_counts(engine) == before


def test_a_recording_from_another_account_files_no_complaint(
    client: TestClient, settings: Settings, session: Session, engine: Engine
) -> None:
    caller = Phone(client, settings)
    caller.dial()
    caller.press("2")  # the caller's contact exists: a genuine callback could file a complaint for it
    contact = session.exec(select(Contact)).one()
    path = f"/twilio/voice/recording?a=0&c={contact.id}&d=leilek-rayon&l=ru"
    fields = {
        "AccountSid": OTHER_ACCOUNT,
        "CallSid": call_sid(),
        "RecordingSid": "RE" + "3" * 32,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{OTHER_ACCOUNT}/Recordings/RE1",
        "RecordingDuration": "30",
        "RecordingStatus": "completed",
    }
    before = table_counts(engine)
    assert post_form(client, settings, fields, path=path).status_code == 403
    assert table_counts(engine) == before


def test_without_a_configured_account_production_refuses_and_development_accepts(
    settings: Settings, tmp_path: Path
) -> None:
    unset = {"twilio_account_sid": "", "migrate_on_start": False}
    production = make_settings(settings.database_url, tmp_path, **unset)
    with TestClient(create_app(production)) as client:
        refused = post_form(client, production, sms_form("HELP"))
    assert refused.status_code == 403 and "HOTLINE_TWILIO_ACCOUNT_SID" in refused.json()["detail"]
    # The simulator in development posts as an account of its own when none is set.
    development = make_settings(settings.database_url, tmp_path, env="development", **unset)
    with TestClient(create_app(development)) as client:
        assert post_form(client, development, {**sms_form("HELP"), "AccountSid": "AC" + "0" * 32}).status_code == 200
