"""The simulator (a basic phone's message thread in the browser) and the signed path it shares with the CLI."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlmodel import col, select

from hotline.config import Settings
from hotline.context import Context, get_context
from hotline.db import SessionDep
from hotline.dialogue.contacts import find_contact
from hotline.messaging.segments import count_segments
from hotline.models import OutboundMessage
from hotline.phones import InvalidPhone, normalise_phone
from hotline.webhooks import sign

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
ContextDep = Annotated[Context, Depends(get_context)]
WEBHOOK_PATH = "/twilio/sms"
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


async def send_sms(client: httpx.AsyncClient, settings: Settings, sender: str, body: str) -> list[str]:
    """Post one SMS through the signed webhook (in-process or to a server) and return the replies."""
    form, headers = signed_sms_form(settings, sender, body)
    response = await client.post(WEBHOOK_PATH, data=form, headers=headers)
    if response.status_code != 200:
        raise WebhookRejected(f"{response.status_code}: {response.text}")
    return replies_from_twiml(response.text)


class SimulatedSms(BaseModel):
    """What the simulator page posts."""

    sender: str = Field(min_length=1, max_length=32)
    body: str = Field(max_length=1600)


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
    rows = session.exec(
        select(OutboundMessage)
        .where(OutboundMessage.contact_id == contact.id)
        .order_by(col(OutboundMessage.created_at), col(OutboundMessage.id))
        .limit(100)
    )
    messages = [
        {
            "id": m.id,
            "text": m.body,
            "status": str(m.status),
            "purpose": str(m.purpose),
            "segments": m.segments,
            "encoding": m.encoding,
        }
        for m in rows
    ]
    return JSONResponse({"messages": messages})


@router.get("/simulator", response_class=HTMLResponse)
def simulator_page(request: Request, ctx: ContextDep) -> HTMLResponse:
    """The phone page."""
    return templates.TemplateResponse(request, "simulator.html", {"development": ctx.settings.development})


@router.post("/simulator/send")
async def simulator_send(request: Request, sms: SimulatedSms, ctx: ContextDep) -> JSONResponse:
    """Send what was typed through the real signed webhook and return the replies with their cost."""
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=ctx.settings.public_url) as client:
        try:
            replies = await send_sms(client, ctx.settings, sms.sender, sms.body)
        except WebhookRejected as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
    payload: list[dict[str, Any]] = []
    for text in replies:
        count = count_segments(text)
        payload.append({"text": text, "segments": count.segments, "encoding": count.encoding, "units": count.units})
    if not replies:
        return JSONResponse({"replies": [], "note": "No reply (the sender is not a phone number)."})
    return JSONResponse({"replies": payload})
