"""The voice simulator: a keypad in the browser that calls the real, signed voice webhooks as Twilio would, and
shows (and plays) what the caller would hear. For field staff's demos; on only where the SMS simulator is."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from hotline.context import Context, ContextDep
from hotline.places import get_gazetteer
from hotline.simulator.sms import SIMULATED_RECEIVER
from hotline.voice.prompts import Prompts
from hotline.webhooks import sign, twilio_sid

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
VOICE_PATHS = ("/twilio/voice", "/twilio/voice/step")


class SimulatedCall(BaseModel):
    """One step of a simulated call: dial (no url), a key press, silence, or the end of a recording."""

    caller: str = Field(min_length=1, max_length=32)
    call_sid: str | None = Field(default=None, max_length=64)
    url: str | None = Field(default=None, max_length=1000)
    digits: str | None = Field(default=None, max_length=32)
    recording_seconds: int | None = Field(default=None, ge=0, le=600)


def _spoken(ctx: Context, prompts: dict[str, Any], audio_url: str) -> str:
    # /voice/audio/<lang>/<key>.<ext>: show the text beside the audio, so a demo can be followed without sound.
    path = urlparse(audio_url).path.removeprefix("/voice/audio/")
    language, _, name = path.partition("/")
    prompt = prompts.get(name.rsplit(".", 1)[0])
    return ctx.texts.speech(prompt.template, language, **prompt.context) if prompt else name


def describe(ctx: Context, twiml: str) -> dict[str, Any]:
    """What the caller hears and can do next, from a TwiML answer."""
    root = ET.fromstring(twiml)
    prompts = {p.key: p for p in Prompts(ctx.catalogue, get_gazetteer()).every()}
    base = ctx.settings.public_url.rstrip("/")
    items: list[dict[str, str]] = []
    for node in root.iter():
        if node.tag == "Play":
            url = node.text or ""
            items.append({"kind": "play", "audio": url.removeprefix(base), "text": _spoken(ctx, prompts, url)})
        elif node.tag == "Say":
            items.append({"kind": "say", "text": node.text or "", "language": node.attrib.get("language", "")})
    gather, record, redirect = root.find("Gather"), root.find("Record"), root.find("Redirect")
    return {
        "items": items,
        "gather": dict(gather.attrib) if gather is not None else None,
        "record": dict(record.attrib) if record is not None else None,
        "redirect": redirect.text if redirect is not None else None,
        "hangup": root.find("Hangup") is not None or not list(root),
        "reject": root.find("Reject") is not None,
    }


@router.get("/simulator/voice", response_class=HTMLResponse)
def voice_page(request: Request) -> HTMLResponse:
    """The keypad page."""
    return templates.TemplateResponse(request, "voice_simulator.html", {})


@router.post("/simulator/call")
async def simulate_call(request: Request, step: SimulatedCall, ctx: ContextDep) -> JSONResponse:
    """Post one step of the call to the voice webhooks, signed as Twilio signs, and describe the answer."""
    settings = ctx.settings
    base = settings.public_url.rstrip("/")
    url = step.url or f"{base}/twilio/voice"
    if not url.startswith(base) or urlparse(url).path not in VOICE_PATHS:
        return JSONResponse({"error": "only the voice line's own URLs can be called"}, status_code=422)
    call_sid = twilio_sid(step.call_sid) or "CA" + secrets.token_hex(16)
    form = {
        "CallSid": call_sid,
        "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
        "From": step.caller,
        "To": settings.twilio_from_number or SIMULATED_RECEIVER,
        "Direction": "inbound",
        "CallStatus": "in-progress",
    }
    if step.digits is not None:
        form["Digits"] = step.digits
    if step.recording_seconds is not None:
        sid = "RE" + secrets.token_hex(16)
        form |= {
            "RecordingSid": sid,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{form['AccountSid']}/Recordings/{sid}",
            "RecordingDuration": str(step.recording_seconds),
        }
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        response = await client.post(
            url.removeprefix(base), data=form, headers={"X-Twilio-Signature": sign(settings, url, form)}
        )
    if response.status_code != 200:
        return JSONResponse({"error": f"{response.status_code}: {response.text}"}, status_code=422)
    return JSONResponse({"call_sid": call_sid, **describe(ctx, response.text)})
