"""Recordings the hotline lets go of are deleted at (a fake) Twilio through the real twilio client: a hang-up at
the beep, a complaint past its text period. Twilio failing or unreachable delays the deletion, never loses it."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.channels.twilio import RecordingUnavailable, TwilioSender, fetch_recording
from hotline.complaints import service as complaints
from hotline.config import Settings
from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.models import ComplaintStatus, RecordingDeletion, utcnow
from hotline.places import get_gazetteer
from hotline.privacy.jobs import enforce_retention
from hotline.voice.jobs import DeletionReport, delete_recordings
from tests.factories import PHONE, post_form
from tests.fake_twilio import FakeServer
from tests.voice.phone import Phone
from tests.voice.test_complaints_by_phone import recording_sid, start_complaint

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + secrets.token_bytes(512)
DAY = timedelta(days=1)


@pytest.fixture
def at_twilio(settings: Settings, twilio: FakeServer) -> Settings:
    """The settings pointed at the fake Twilio."""
    return settings.model_copy(update={"twilio_api_url": twilio.fake.url})


def held_by_twilio(settings: Settings, sid: str) -> bool:
    """Whether Twilio still serves the recording (asked as officers' playback asks)."""
    try:
        return fetch_recording(settings, sid) == MP3
    except RecordingUnavailable as exc:
        assert "no longer has" in str(exc)
        return False


def decided_voice_complaint(session: Session, ctx: Context, twilio: FakeServer, when: datetime) -> str:
    """A named voice complaint resolved at `when`, its recording held by Twilio; returns the recording SID."""
    sid = recording_sid()
    twilio.fake.recordings[sid] = MP3
    filed = complaints.file_complaint(
        session,
        ctx,
        contact=get_or_create_contact(session, ctx, PHONE, when),
        text="",
        anonymous=False,
        place=get_gazetteer().get("dara"),
        now=when,
        language="ky",
        recording=complaints.Recording(sid, f"https://api.twilio.com/x/Recordings/{sid}", 40),
    )
    filed.complaint.status = ComplaintStatus.RESOLVED
    filed.complaint.decided_at = when
    session.add(filed.complaint)
    session.commit()
    return sid


def hang_up_at_the_beep(client: TestClient, settings: Settings, twilio: FakeServer | None, identity: str = "1") -> str:
    """A caller hangs up a second or two into the recording (held by the fake Twilio unless it is None); its SID."""
    sid = recording_sid()
    if twilio is not None:
        twilio.fake.recordings[sid] = MP3
    phone = Phone(client, settings)
    start_complaint(phone, identity=identity)
    phone.finish_recording(sid, seconds=2, digits="hangup")
    return sid


def test_a_hang_up_at_the_beep_leaves_no_recording_at_twilio(
    voice_client: TestClient, voice_settings: Settings, twilio: FakeServer, at_twilio: Settings, session: Session
) -> None:
    sid = recording_sid()
    twilio.fake.recordings[sid] = MP3
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="1")
    callback = phone.record().attrib["recordingStatusCallback"]
    phone.finish_recording(sid, seconds=2, digits="hangup")  # Twilio's action request
    # ... then its recording callback, twice: still one deletion queued.
    fields = {**phone.form(), **phone.recording_fields(sid, 2), "RecordingStatus": "completed"}
    for _ in range(2):
        path = callback.removeprefix(voice_settings.public_url)
        assert post_form(voice_client, voice_settings, fields, path=path).status_code == 204
    (queued,) = session.exec(select(RecordingDeletion)).all()
    assert queued.recording_sid == sid and queued.reason == "too short" and queued.attempts == 0
    assert held_by_twilio(at_twilio, sid)

    report = delete_recordings(session, TwilioSender(at_twilio), utcnow())

    assert report == DeletionReport(deleted=1)
    assert twilio.fake.deleted_recordings == [sid] and not held_by_twilio(at_twilio, sid)
    session.expire_all()
    assert session.exec(select(RecordingDeletion)).all() == [], "confirmed: nothing left waiting"
    requests = twilio.fake.requests
    assert delete_recordings(session, TwilioSender(at_twilio), utcnow() + DAY) == DeletionReport()
    assert twilio.fake.requests == requests, "a confirmed deletion is never asked for again"


def test_a_complaint_past_its_text_period_loses_its_recording_at_twilio(
    session: Session, ctx: Context, twilio: FakeServer, at_twilio: Settings
) -> None:
    start = utcnow() - 2000 * DAY
    old = decided_voice_complaint(session, ctx, twilio, start)
    recent = decided_voice_complaint(session, ctx, twilio, start + 1000 * DAY)  # inside the 5-year text period
    now = start + (ctx.settings.complaint_text_days + 1) * DAY

    assert enforce_retention(session, ctx, now).texts == 1
    assert delete_recordings(session, TwilioSender(at_twilio), now) == DeletionReport(deleted=1)

    assert twilio.fake.deleted_recordings == [old]
    assert not held_by_twilio(at_twilio, old) and held_by_twilio(at_twilio, recent)
    assert enforce_retention(session, ctx, now + DAY).texts == 0  # nothing queued twice
    assert delete_recordings(session, TwilioSender(at_twilio), now + DAY) == DeletionReport()
    assert twilio.fake.deleted_recordings == [old]


def test_twilio_failing_or_unreachable_delays_the_deletion_and_never_loses_it(
    voice_client: TestClient, voice_settings: Settings, twilio: FakeServer, at_twilio: Settings, session: Session
) -> None:
    sid = hang_up_at_the_beep(voice_client, voice_settings, twilio, identity="2")
    sender = TwilioSender(at_twilio, timeout=2.0)
    now = utcnow()

    twilio.fake.fail(503, 20503, "Service Unavailable", times=-1)
    assert delete_recordings(session, sender, now) == DeletionReport(failed=1)
    session.expire_all()
    row = session.exec(select(RecordingDeletion)).one()
    assert row.attempts == 1 and "503" in row.last_error
    assert row.due_at > now, "not tried again at once"
    assert delete_recordings(session, sender, now + timedelta(minutes=5)) == DeletionReport()

    twilio.fake.recover()
    twilio.stop()  # now not even reachable
    assert delete_recordings(session, sender, now + DAY) == DeletionReport(failed=1)
    session.expire_all()
    row = session.exec(select(RecordingDeletion)).one()
    assert row.attempts == 2 and row.last_error == "ConnectionError"

    twilio.start()
    assert held_by_twilio(at_twilio, sid)
    assert delete_recordings(session, sender, now + 2 * DAY) == DeletionReport(deleted=1)
    assert not held_by_twilio(at_twilio, sid)


def test_a_recording_already_gone_at_twilio_counts_as_deleted(
    voice_client: TestClient, voice_settings: Settings, at_twilio: Settings, session: Session
) -> None:
    hang_up_at_the_beep(voice_client, voice_settings, None)  # Twilio no longer has it (deleted in the console)

    assert delete_recordings(session, TwilioSender(at_twilio), utcnow()) == DeletionReport(already_gone=1)
    session.expire_all()
    assert session.exec(select(RecordingDeletion)).all() == []


def test_a_second_scheduler_does_not_delete_what_the_first_is_deleting(
    voice_client: TestClient, voice_settings: Settings, twilio: FakeServer, at_twilio: Settings, session: Session
) -> None:
    sid = hang_up_at_the_beep(voice_client, voice_settings, twilio)
    second_runs: list[DeletionReport] = []

    class SlowTwilio(TwilioSender):
        def delete_recording(self, sid: str) -> bool:
            # While this scheduler waits for Twilio, the other one runs its job in its own session.
            with Session(session.get_bind()) as other:
                second_runs.append(delete_recordings(other, TwilioSender(at_twilio), utcnow()))
            return super().delete_recording(sid)

    assert delete_recordings(session, SlowTwilio(at_twilio), utcnow()) == DeletionReport(deleted=1)
    assert second_runs == [DeletionReport()]
    assert twilio.fake.deleted_recordings == [sid]


def test_the_metric_shows_recordings_waiting_to_be_deleted(
    voice_client: TestClient, voice_settings: Settings, at_twilio: Settings, session: Session
) -> None:
    def waiting() -> str:
        lines: list[str] = voice_client.get("/metrics").text.splitlines()
        return next(line for line in lines if line.startswith("hotline_recordings_to_delete "))

    assert waiting() == "hotline_recordings_to_delete 0.0"
    hang_up_at_the_beep(voice_client, voice_settings, None)
    assert waiting() == "hotline_recordings_to_delete 1.0"
    delete_recordings(session, TwilioSender(at_twilio), utcnow())
    assert waiting() == "hotline_recordings_to_delete 0.0"
