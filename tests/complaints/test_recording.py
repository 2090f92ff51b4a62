"""Officers play a voice complaint's recording through the app, which fetches it from (a fake) Twilio."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, select

from hotline.complaints.service import Recording, file_complaint
from hotline.config import Settings
from hotline.context import Context, build_context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.main import create_app
from hotline.models import AuditEntry, CallDirection, Complaint, Jurisdiction, Role, StaffUser, VoiceCall, utcnow
from hotline.places import get_gazetteer
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.fake_twilio import FakeTwilio
from tests.staff_pages import PASSWORD, log_in, make_staff
from tests.support import free_port, make_settings

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + secrets.token_bytes(4096)


@pytest.fixture
def app_client(settings: Settings, fake: FakeTwilio) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"twilio_api_url": fake.url}))
    with TestClient(app, base_url="https://hotline.example.org") as client:
        yield client


def voice_complaint(session: Session, ctx: Context, sid: str, municipality: str = "dara") -> Complaint:
    now = utcnow()
    contact = get_or_create_contact(session, ctx, "+996555123456", now)
    filed = file_complaint(
        session,
        ctx,
        contact=contact,
        text="",
        anonymous=False,
        place=get_gazetteer().get(municipality),
        now=now,
        language="ky",
        recording=Recording(sid, f"https://api.twilio.com/x/Recordings/{sid}", 64),
    )
    session.commit()
    session.refresh(filed.complaint)
    return filed.complaint


def test_officer_hears_the_recording_and_listening_is_audited(
    app_client: TestClient, fake: FakeTwilio, session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    sid = "RE" + secrets.token_hex(16)
    fake.recordings[sid] = MP3
    complaint = voice_complaint(session, ctx, sid)
    log_in(app_client, "dara.officer")
    queue = app_client.get("/admin/queue").text
    assert "🎙" in queue and "64" in queue, "the queue shows a voice complaint and its length"
    page = app_client.get(f"/admin/complaints/{complaint.id}").text
    assert f'src="/admin/complaints/{complaint.id}/recording"' in page
    audio = app_client.get(f"/admin/complaints/{complaint.id}/recording")
    assert audio.status_code == 200 and audio.content == MP3
    assert audio.headers["content-type"] == "audio/mpeg" and audio.headers["cache-control"] == "no-store"
    actions = [e.action for e in session.exec(select(AuditEntry).where(AuditEntry.complaint_id == complaint.id))]
    assert "listen" in actions


def test_recording_of_another_area_is_refused_and_twilio_failures_are_explained(
    app_client: TestClient, fake: FakeTwilio, session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    sid = "RE" + secrets.token_hex(16)
    fake.recordings[sid] = MP3
    complaint = voice_complaint(session, ctx, sid)
    log_in(app_client, "kyshtut.officer")
    assert app_client.get(f"/admin/complaints/{complaint.id}/recording").status_code == 403
    app_client.cookies.clear()
    assert app_client.get(f"/admin/complaints/{complaint.id}/recording", follow_redirects=False).status_code in (
        303,
        401,
    )

    log_in(app_client, "dara.officer")
    gone = voice_complaint(session, ctx, "RE" + secrets.token_hex(16))  # Twilio has no such recording
    response = app_client.get(f"/admin/complaints/{gone.id}/recording")
    assert response.status_code == 502 and "no longer has" in response.text
    sms_only = voice_complaint(session, ctx, "RE" + secrets.token_hex(16))
    sms_only.recording_sid = None
    session.add(sms_only)
    session.commit()
    assert app_client.get(f"/admin/complaints/{sms_only.id}/recording").status_code == 404


def test_dashboard_counts_calls_per_day_and_menu_choices(
    app_client: TestClient, session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    today = ctx.local_day(utcnow())
    paths = [["lang:ru", "main:benefits"], ["main:complaint", "complaint:recorded"], ["main:benefits"], []]
    for path in paths:
        session.add(
            VoiceCall(
                call_sid="CA" + secrets.token_hex(16),
                direction=CallDirection.INBOUND,
                menu_path=path,
                duration_seconds=60,
            )
        )
    session.add(VoiceCall(call_sid="CA" + secrets.token_hex(16), direction=CallDirection.REJECTED, menu_path=[]))
    session.commit()
    log_in(app_client, "batken.super")
    week = (today - timedelta(days=6)).isoformat()
    page = app_client.get(f"/admin/dashboard?from={week}&to={date.isoformat(today)}").text
    assert '<dd id="calls">4</dd>' in page and '<dd id="callbacks">1</dd>' in page
    assert "benefits: 2" in page and "complaint recorded: 1" in page and "no choice (hung up): 1" in page
    assert f"{today.isoformat()}: 4" in page


def tone(seconds: float, rate: int = 8000) -> bytes:
    """A real, decodable recording: a 440 Hz tone as 8 kHz mono WAV (Twilio's recordings are 8 kHz mono)."""
    import io
    import math
    import struct
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate)))
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


def test_officer_plays_the_recording_in_the_browser(
    settings: Settings, fake: FakeTwilio, session: Session, ctx: Context, tmp_path: Path
) -> None:
    require_chromium()
    port = free_port()
    web_settings = make_settings(
        settings.database_url,
        tmp_path,
        public_url=f"http://127.0.0.1:{port}",
        cookie_secure=False,
        encryption_keys=settings.encryption_keys,
        lookup_key=settings.lookup_key,
        twilio_account_sid=settings.twilio_account_sid,
        twilio_auth_token=settings.twilio_auth_token,
        twilio_api_url=fake.url,
    )
    make_staff(session, "dara.listener", Role.OFFICER, Jurisdiction.MUNICIPALITY, "dara", language="ru")
    sid = "RE" + secrets.token_hex(16)
    fake.recordings[sid] = tone(3.0)
    complaint = voice_complaint(session, build_context(web_settings), sid)

    with serve(create_app(web_settings), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/admin/complaints/{complaint.id}")
        page.get_by_label("Имя пользователя").fill("dara.listener")
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        player = page.locator("audio#recording")
        expect(player).to_be_visible()
        # The browser fetches the recording through the app with the officer's session and decodes it.
        duration = player.evaluate(
            """audio => new Promise((resolve, reject) => {
                 audio.addEventListener("loadedmetadata", () => resolve(audio.duration), {once: true});
                 audio.addEventListener("error", () => reject(new Error("media error " + audio.error.code)));
                 audio.preload = "auto"; audio.load();
               })"""
        )
        assert 2.9 < duration < 3.1, duration
        browser.close()
    actions = [e.action for e in session.exec(select(AuditEntry).where(AuditEntry.complaint_id == complaint.id))]
    assert "listen" in actions, "listening in the browser is audited"
