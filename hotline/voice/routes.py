"""The voice line's webhooks (signed like the SMS one) and the audio prompts Twilio fetches to play."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from hotline.channels.twilio import NAME, STATUSES, read_twilio_form
from hotline.config import Settings
from hotline.context import Context, ContextDep
from hotline.db import SessionDep, commit_with_retry, serialize, write_lock
from hotline.messaging.outbox import record_delivery_status
from hotline.models import parse_int, utcnow
from hotline.voice.flows import Ivr
from hotline.voice.prompts import AUDIO_SUFFIXES, KEY_PATTERN, VOICE_LANGUAGES, AudioLibrary
from hotline.voice.service import (
    call_record,
    caller_from_form,
    file_recording,
    record_call_status,
    recording_report,
)
from hotline.webhooks import twilio_sid

router = APIRouter()
log = logging.getLogger(__name__)
MEDIA_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


def audio_library(settings: Settings) -> AudioLibrary:
    """The prompts' audio: recorded files first, then generated ones."""
    return AudioLibrary(settings.voice_audio_dir, settings.voice_recorded_dir)


def _call_sid(form: dict[str, str]) -> str:
    sid = twilio_sid(form.get("CallSid"))
    if sid is None:
        raise HTTPException(400, "Missing or malformed field CallSid")
    return sid


def _respond(session: Session, ctx: Context, form: dict[str, str], query: dict[str, str], entry: bool) -> str:
    caller = caller_from_form(form)
    now = utcnow()

    def once() -> str:
        serialize(session, f"call:{caller.call_sid}")  # Twilio's repeats of one call's request, one at a time
        record = call_record(session, caller, now)
        ivr = Ivr(session, ctx, audio_library(ctx.settings), caller, record, query, form, now)
        return str(ivr.start() if entry else ivr.answer())

    # A repeated request may make the same call record or contact at the same moment: once more on its rows.
    return commit_with_retry(session, once)


def _twiml(xml: str) -> Response:
    return Response(xml, media_type="text/xml")


@router.post("/twilio/voice")
async def incoming_call(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """A call starts (the family's, or our callback answered): greeting and first menu, or a free rejection."""
    form = await read_twilio_form(request, ctx.settings)
    _call_sid(form)
    return _twiml(await run_in_threadpool(_respond, session, ctx, form, dict(request.query_params), True))


@router.post("/twilio/voice/step")
async def menu_step(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """A key pressed (or none) in one of the menus; the menu is named in our own signed URL."""
    form = await read_twilio_form(request, ctx.settings)
    _call_sid(form)
    return _twiml(await run_in_threadpool(_respond, session, ctx, form, dict(request.query_params), False))


def _file_reported(session: Session, ctx: Context, form: dict[str, str], query: dict[str, str]) -> str:
    report = recording_report(form, query, ctx.settings.default_language)
    if report is None:
        raise HTTPException(400, "Missing or malformed field RecordingSid")
    with write_lock(session):
        filed = file_recording(session, ctx, report, utcnow())
        session.commit()
    return "filed" if filed else "too short"


@router.post("/twilio/voice/recording", status_code=204)
async def recording_status(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """Twilio's recording callback: files the complaint if the caller's request did not (a hang-up, or it came
    first); a repeat files nothing more."""
    form = await read_twilio_form(request, ctx.settings)
    status = form.get("RecordingStatus", "").strip().lower()
    if status != "completed":
        log.info("recording callback with status %s: nothing to file", status[:16] or "none")
        return Response(status_code=204)
    outcome = await run_in_threadpool(_file_reported, session, ctx, form, dict(request.query_params))
    log.info("recording callback: %s", outcome)
    return Response(status_code=204)


def _apply_call_status(session: Session, sid: str, status: str, duration: int | None) -> None:
    now = utcnow()
    known = record_call_status(session, sid, status, duration, now)
    mapped = STATUSES.get(status)
    message = None
    if mapped is not None:
        # A call we know (an inbound call) is no outbox item: only an unknown one may be a callback not yet recorded.
        message = record_delivery_status(
            session, transport=NAME, reference=sid, status=mapped, error_code=None, now=now, keep_unknown=not known
        )
    session.commit()
    if not known and message is None:
        log.warning("call status for unknown call %s (%s)", sid, status)


@router.post("/twilio/voice/status", status_code=204)
async def call_status(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """A call ended (or a callback was not answered): its length for the dashboard, the callback's outcome."""
    form = await read_twilio_form(request, ctx.settings)
    sid = _call_sid(form)
    status = form.get("CallStatus", "").strip().lower()
    if not status or not status.isprintable():  # stored and shown on the dashboard as it comes
        raise HTTPException(400, "Missing or malformed field CallStatus")
    duration = parse_int(form.get("CallDuration"))
    await run_in_threadpool(_apply_call_status, session, sid, status[:16], duration)
    return Response(status_code=204)


# Two routes with their own operation ids: one api_route for both methods gives the schema a duplicate id.
@router.get("/voice/audio/{language}/{name:path}", operation_id="voice_prompt_audio")
@router.head("/voice/audio/{language}/{name:path}", operation_id="voice_prompt_audio_head")
async def prompt_audio(language: str, name: str, ctx: ContextDep) -> Response:
    """A prompt's audio file, public (Twilio fetches it; it holds only what every family may hear)."""
    key, dot, suffix = name.rpartition(".")
    suffix = dot + suffix
    if language not in VOICE_LANGUAGES or suffix not in AUDIO_SUFFIXES or not KEY_PATTERN.match(key):
        raise HTTPException(404, "No such prompt")
    path = audio_library(ctx.settings).find(language, key)
    if path is None or path.suffix != suffix:
        raise HTTPException(404, "No audio for this prompt (run `hotline voice build`)")
    # Long caching is safe: the URL carries the file's time, so a new recording has a new URL.
    return FileResponse(path, media_type=MEDIA_TYPES[suffix], headers={"Cache-Control": "public, max-age=86400"})
