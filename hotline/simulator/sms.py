"""The simulator (a basic phone's message thread in the browser) and the authenticated paths it shares with the
CLI: a message comes in on the chosen channel (Twilio, Kannel, the Android gateway) as that transport sends it."""

from __future__ import annotations

import json
import secrets
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hotline.channels import android
from hotline.config import Settings
from hotline.context import ContextDep
from hotline.db import SessionDep
from hotline.dialogue.contacts import find_contact
from hotline.phones import InvalidPhone, normalise_phone
from hotline.segments import count_segments
from hotline.simulator.thread import outbox_item, outbox_of, phone_history, why_no_reply
from hotline.webhooks import sign

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
STATIC_DIR = Path(__file__).with_name("static")  # both simulators' scripts and styles (no inline code: the CSP)
WEBHOOK_PATH = "/twilio/sms"
KANNEL_PATH = "/kannel/sms"
SIMULATED_RECEIVER = "+996312000000"


class WebhookRejected(RuntimeError):
    """The webhook answered with an error status (its message says why)."""


def signed_sms_form(settings: Settings, sender: str, body: str) -> tuple[dict[str, str], dict[str, str]]:
    """A form and headers exactly as Twilio would post them for one SMS, signed with our auth token."""
    form = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
        "From": sender,
        "To": settings.twilio_from_number or SIMULATED_RECEIVER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": str(count_segments(body).segments),
    }
    url = settings.public_url.rstrip("/") + WEBHOOK_PATH
    return form, {"X-Twilio-Signature": sign(settings, url, form)}


def replies_from_twiml(twiml: str) -> list[str]:
    """The texts of the <Message> elements of a TwiML answer."""
    return [element.text or "" for element in ET.fromstring(twiml).iter("Message")]


def kannel_query(settings: Settings, sender: str, body: str) -> str:
    """The query Kannel's sms-service sends for one SMS (the get-url of docs/CHANNELS.md), with our secret."""
    fields = {
        "secret": settings.kannel_secret,
        "id": str(uuid.uuid4()),  # Kannel's ids are UUIDs
        "from": sender,
        "to": settings.public_number or SIMULATED_RECEIVER,
        "coding": "0",
        "charset": "UTF-8",  # what Kannel passes with mo-recode: the text as UTF-8
        "text": body,
    }
    return urlencode(fields)


def android_webhook(settings: Settings, sender: str, body: str) -> tuple[bytes, dict[str, str]]:
    """An sms:received webhook as SMS Gateway for Android sends it, signed with the app's signing key."""
    message_id = secrets.token_urlsafe(16)
    envelope = {
        "id": secrets.token_urlsafe(16),
        "webhookId": "hotline",
        "event": "sms:received",
        "deviceId": "simulator",
        "payload": {
            "messageId": message_id,
            "message": body,
            "phoneNumber": sender,
            "sender": sender,
            "recipient": settings.public_number or SIMULATED_RECEIVER,
            "simNumber": 1,
            "receivedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        },
    }
    raw = json.dumps(envelope, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {"X-Signature": android.signature(settings.android_signing_key, raw, timestamp), "X-Timestamp": timestamp}
    return raw, {"Content-Type": "application/json", **headers}


async def send_sms(
    client: httpx.AsyncClient, settings: Settings, sender: str, body: str, channel: str = "twilio"
) -> list[str]:
    """Post one SMS as the channel's transport would (in-process or to a server) and return the replies that come
    back in the response: Twilio's TwiML, Kannel's body. The Android gateway's replies all go by the outbox."""
    if channel == "kannel":
        response = await client.get(f"{KANNEL_PATH}?{kannel_query(settings, sender, body)}")
        if response.status_code != 200:
            raise WebhookRejected(f"{response.status_code}: {response.text}")
        return [response.text] if response.text else []
    if channel == "android":
        raw, headers = android_webhook(settings, sender, body)
        response = await client.post(android.WEBHOOK_PATH, content=raw, headers=headers)
        if response.status_code >= 300:
            raise WebhookRejected(f"{response.status_code}: {response.text}")
        return []
    form, headers = signed_sms_form(settings, sender, body)
    response = await client.post(WEBHOOK_PATH, data=form, headers=headers)
    if response.status_code != 200:
        raise WebhookRejected(f"{response.status_code}: {response.text}")
    return replies_from_twiml(response.text)


class SimulatedSms(BaseModel):
    """What the simulator page posts."""

    sender: str = Field(min_length=1, max_length=32)
    body: str = Field(max_length=1600)
    channel: Literal["twilio", "kannel", "android"] = "twilio"


@router.get("/simulator/outbox")
def simulator_outbox(sender: str, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    """Messages the outbox holds for a phone (with the console backend, this is where they "arrive")."""
    try:
        phone = normalise_phone(sender)
    except InvalidPhone:
        return JSONResponse({"messages": []})
    contact = find_contact(session, ctx, phone)
    if contact is None:
        return JSONResponse({"messages": []})
    return JSONResponse({"messages": [outbox_item(m) for m in outbox_of(session, contact)]})


@router.get("/simulator/history")
def simulator_history(sender: str, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    """The phone's thread so far, for a page that opens (or changes phone): nothing that came meanwhile is missed."""
    return JSONResponse({"messages": phone_history(session, ctx, sender)})


@router.get("/simulator", response_class=HTMLResponse)
def simulator_page(request: Request, ctx: ContextDep) -> HTMLResponse:
    """The phone page."""
    context = {"development": ctx.settings.development, "channels": ctx.settings.channel_list}
    return templates.TemplateResponse(request, "simulator.html", context)


@router.post("/simulator/send")
async def simulator_send(request: Request, sms: SimulatedSms, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    """Send what was typed through the real signed webhook and return the replies with their cost."""
    if sms.channel not in ctx.settings.channel_list:
        return JSONResponse({"error": f"The {sms.channel} channel is not in HOTLINE_CHANNELS"}, status_code=422)
    # Kannel's requests come from an allowed address: the simulator's in-process requests come from 127.0.0.1.
    transport = httpx.ASGITransport(app=request.app, client=("127.0.0.1", 123))
    async with httpx.AsyncClient(transport=transport, base_url=ctx.settings.public_url) as client:
        try:
            replies = await send_sms(client, ctx.settings, sms.sender, sms.body, sms.channel)
        except WebhookRejected as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
    payload: list[dict[str, Any]] = []
    for text in replies:
        count = count_segments(text)
        payload.append(
            {
                "text": text,
                "segments": count.segments,
                "encoding": count.encoding,
                "units": count.units,
                "channel": sms.channel,
            }
        )
    if not replies:
        reason = await run_in_threadpool(why_no_reply, session, ctx, sms.sender, sms.channel)
        return JSONResponse({"replies": [], "note": reason})
    return JSONResponse({"replies": payload})
