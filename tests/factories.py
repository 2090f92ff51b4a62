"""Builders for signed Twilio requests and direct service calls."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlmodel import Session

from hotline.config import Settings
from hotline.context import Context
from hotline.dialogue.inbound import Inbound
from hotline.engine import handle_inbound
from hotline.models import utcnow
from hotline.simulator.sms import replies_from_twiml
from hotline.webhooks import sign

PHONE = "+996555123456"
OUR_NUMBER = "+996312900900"


def new_sid() -> str:
    """A fresh Twilio-style message id."""
    return "SM" + secrets.token_hex(16)


def sms_form(body: str, sender: str = PHONE, sid: str | None = None) -> dict[str, str]:
    """The fields Twilio posts for one inbound SMS."""
    return {
        "MessageSid": sid or new_sid(),
        "SmsSid": sid or "",
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "FromCountry": "KG",
    }


def post_form(
    client: TestClient,
    settings: Settings,
    form: dict[str, str],
    path: str = "/twilio/sms",
    signature: str | None = None,
) -> httpx.Response:
    """Post a form signed for the public URL, as Twilio does behind our TLS proxy."""
    url = settings.public_url.rstrip("/") + path
    response: httpx.Response = client.post(
        path, data=form, headers={"X-Twilio-Signature": signature or sign(settings, url, form)}
    )
    return response


def text_in(
    client: TestClient, settings: Settings, body: str, sender: str = PHONE, sid: str | None = None
) -> list[str]:
    """Send one SMS through the webhook and return the reply texts."""
    response = post_form(client, settings, sms_form(body, sender, sid))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    return replies_from_twiml(response.text)


def converse(session: Session, ctx: Context, body: str, sender: str = PHONE, now: datetime | None = None) -> list[str]:
    """Handle one SMS through the service directly, at a chosen time."""
    sms = Inbound("twilio", new_sid(), sender, OUR_NUMBER, body, now or utcnow())
    return handle_inbound(session, ctx, sms)


def render(ctx: Context, name: str, language: str, **context: Any) -> str:
    """The text of a template as the family reads it (what a reply is compared with)."""
    return ctx.texts.render(name, language, **context).text
