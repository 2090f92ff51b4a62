"""The voice line's records and side effects: call records, missed-call callbacks, recorded complaints, playback."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from hotline.complaints import service as complaints
from hotline.config import Settings
from hotline.content import LANGUAGES
from hotline.context import Context
from hotline.dialogue import private
from hotline.dialogue.contacts import forget_if_unused, get_or_create_contact
from hotline.messaging.outbox import enqueue, quiet_hours_end
from hotline.models import (
    CallDirection,
    Channel,
    Complaint,
    Contact,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    VoiceCall,
    parse_int,
)
from hotline.phones import InvalidPhone, log_phone, normalise_phone
from hotline.places import get_gazetteer
from hotline.voice.jobs import forget_recording
from hotline.webhooks import twilio_sid

log = logging.getLogger(__name__)
MIN_RECORDING_SECONDS = 2  # a hang-up after the beep leaves a second or two of nothing: not a complaint
MAX_RECORDING_SECONDS = 120


@dataclass(frozen=True)
class Caller:
    """Who is on the line: the family's number (None when hidden) and whether we called them back."""

    call_sid: str
    phone: str | None
    callback: bool


def caller_from_form(form: dict[str, str]) -> Caller:
    """The family's side of a call: From on calls they make, To on our callbacks."""
    callback = form.get("Direction", "inbound").startswith("outbound")
    raw = form.get("To" if callback else "From", "")
    try:
        phone: str | None = normalise_phone(raw)
    except InvalidPhone:
        phone = None  # "anonymous", "restricted", "unknown": a hidden number
    return Caller(form.get("CallSid", "").strip(), phone, callback)


def call_record(session: Session, caller: Caller, now: datetime) -> VoiceCall:
    """The record of a call, made on its first request (whichever arrives first: Twilio may repeat them)."""
    record = session.exec(select(VoiceCall).where(VoiceCall.call_sid == caller.call_sid)).first()
    if record is None:
        record = VoiceCall(
            call_sid=caller.call_sid,
            direction=CallDirection.CALLBACK if caller.callback else CallDirection.INBOUND,
            menu_path=[],
            started_at=now,
            updated_at=now,
        )
        session.add(record)
        session.flush()
    return record


ANONYMOUS_CHOICE = "complaint:anonymous"


def mark_choice(record: VoiceCall, seq: int | None, choice: str, now: datetime) -> None:
    """Add a menu choice to the call's path, once: a replayed request (same position) adds nothing."""
    if seq is not None and seq != len(record.menu_path):
        return
    record.menu_path = [*record.menu_path, choice]
    if ANONYMOUS_CHOICE not in record.menu_path:  # a private call's times stay its day (make_private)
        record.updated_at = now


def make_private(session: Session, ctx: Context, record: VoiceCall, contact: Contact | None, now: datetime) -> None:
    """The caller chose an anonymous complaint: the call's times become its day (an exact time would match the
    complaint to the phone's other rows), and a contact the call made for a new number is forgotten with its
    language choice (its place in the contacts' sequence would date it next to the complaint)."""
    record.started_at = record.updated_at = private.coarse_time(ctx, now)
    session.add(record)
    if contact is not None:
        forget_if_unused(session, contact, keep_choices=False)


def caller_contact(session: Session, ctx: Context, caller: Caller, now: datetime) -> Contact | None:
    """The caller's contact (made on first call, number encrypted as for SMS); None for a hidden number."""
    return get_or_create_contact(session, ctx, caller.phone, now) if caller.phone else None


def callback_rate_key(ctx: Context, contact: Contact, day: date) -> str:
    """The key a phone's callbacks of a day are counted under: a private counter (no row id), since a callback can
    turn into an anonymous complaint and a row per callback would line up with it."""
    return private.counter_key(ctx, "callbacks", contact.phone_hash, day.isoformat())


def request_callback(session: Session, ctx: Context, caller: Caller, now: datetime) -> bool:
    """Put a call back in the outbox for a missed call; False when the call should be answered instead.

    Answered instead: a hidden number (nobody to call), or the day's callbacks for this phone used up (so a
    dialler cannot make us call a number all day). A second missed call while one is waiting adds nothing."""
    if caller.phone is None:
        return False
    contact = get_or_create_contact(session, ctx, caller.phone, now)
    waiting = session.exec(
        select(func.count())
        .select_from(OutboundMessage)
        .where(
            OutboundMessage.contact_id == contact.id,
            OutboundMessage.purpose == Purpose.CALLBACK,
            col(OutboundMessage.status).in_([OutboundStatus.PENDING, OutboundStatus.SENDING]),
        )
    ).one()
    if waiting:
        return True
    day = ctx.local_day(now)
    key = callback_rate_key(ctx, contact, day)
    if private.count(session, key, day) >= ctx.settings.max_callbacks_per_day:
        return False
    settings = ctx.settings
    start = quiet_hours_end(now, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end)
    enqueue(
        session,
        ctx,
        contact=contact,
        text="",
        purpose=Purpose.CALLBACK,
        channel=Channel.CALL,
        key=f"callback:{caller.call_sid}",
        not_before=start,
        expires_at=start + timedelta(hours=settings.callback_valid_hours),
        now=now,
    )
    private.bump(session, key, day)
    log.info("missed call from %s: call back queued", log_phone(caller.phone))
    return True


def voice_pin(settings: Settings, recording_sid: str) -> str:
    """The PIN of an anonymous recorded complaint: derived from the recording with our key, never stored.

    Twilio reports a recording twice (the caller's request and a callback, in either order): both must be able to
    say the same PIN, and only its keyed hash is kept."""
    digest = hmac.new(settings.lookup_key.encode(), f"voice-pin\x00{recording_sid}".encode(), hashlib.sha256)
    return f"{int.from_bytes(digest.digest()[:8], 'big') % 10_000:04d}"


@dataclass(frozen=True)
class RecordedComplaint:
    """A filed voice complaint and, if anonymous, its PIN (to be read to the caller)."""

    complaint: Complaint
    pin: str | None


@dataclass(frozen=True)
class RecordingReport:
    """What Twilio told us of a recording, with the choices the caller made before it (from our own URL)."""

    sid: str
    url: str
    seconds: int
    language: str
    anonymous: bool
    place_code: str | None
    contact_id: int | None
    call_sid: str = ""


def recording_report(
    form: dict[str, str], query: dict[str, str], default_language: str, caller_contact_id: int | None = None
) -> RecordingReport | None:
    """A recording from Twilio's fields and our URL's state (l language, a anonymous, d place, c contact)."""
    sid = twilio_sid(form.get("RecordingSid"))
    if sid is None:
        return None
    anonymous = query.get("a") == "1"
    contact_id = None if anonymous else (parse_int(query.get("c")) or caller_contact_id)
    language = query.get("l", "")
    url = form.get("RecordingUrl", "")
    return RecordingReport(
        sid=sid,
        url=url[:255] if url.isprintable() else "",  # kept for reference only: playback builds its own URL
        seconds=parse_int(form.get("RecordingDuration")) or 0,
        language=language if language in LANGUAGES else default_language,
        anonymous=anonymous,
        place_code=query.get("d") or None,
        contact_id=contact_id,
        call_sid=twilio_sid(form.get("CallSid")) or "",
    )


def file_recording(session: Session, ctx: Context, report: RecordingReport, now: datetime) -> RecordedComplaint | None:
    """Make the recording a complaint, once; None when it is too short to hold one (a hang-up at the beep)."""
    existing = complaints.by_recording(session, report.sid)
    if existing is not None:
        return RecordedComplaint(existing, voice_pin(ctx.settings, report.sid) if existing.anonymous else None)
    if report.seconds <= MIN_RECORDING_SECONDS:
        forget_recording(session, report.sid, "too short", now)  # nothing to keep: no voice left at Twilio either
        return None
    contact = session.get(Contact, report.contact_id) if report.contact_id else None
    if contact is None and not report.anonymous:
        # The named caller's contact is gone (erased meanwhile): keep the complaint, as an anonymous one.
        log.warning("a recording's caller no longer exists (erased): filed as anonymous")
    anonymous = report.anonymous or contact is None
    pin = voice_pin(ctx.settings, report.sid) if anonymous else None
    try:
        filed = complaints.file_complaint(
            session,
            ctx,
            contact=contact,
            text="",
            anonymous=anonymous,
            place=get_gazetteer().get(report.place_code),
            now=now,
            language=report.language,
            recording=complaints.Recording(report.sid, report.url, min(report.seconds, 10 * MAX_RECORDING_SECONDS)),
            pin=pin,
        )
    except complaints.DuplicateRecording:
        found = complaints.by_recording(session, report.sid)
        assert found is not None
        return RecordedComplaint(found, pin)
    if anonymous and report.call_sid:
        _forget_callback(session, report.call_sid)
    return RecordedComplaint(filed.complaint, filed.pin)


def _forget_callback(session: Session, call_sid: str) -> None:
    # An anonymous complaint made in a call we placed: the outbox row of that call names the phone and its time
    # matches the complaint's. Unlink it, as an anonymous SMS is unlinked from its phone.
    # Its key named the missed call (whose SID the operator links to the phone): a random one now.
    session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.provider_sid) == call_sid)
        .values(contact_id=None, recipient_encrypted="", idempotency_key=f"callback:forgotten:{secrets.token_hex(16)}")
    )


def record_call_status(session: Session, call_sid: str, status: str, duration: int | None, now: datetime) -> bool:
    """Keep a call's final status and length for the dashboard; False for a call we have no record of."""
    record = session.exec(select(VoiceCall).where(VoiceCall.call_sid == call_sid)).first()
    if record is None:
        return False
    record.status = status[:16]
    if duration is not None:
        record.duration_seconds = duration
    if ANONYMOUS_CHOICE not in record.menu_path:
        record.updated_at = now
    session.add(record)
    return True
