"""Recorded complaints and status by phone: filed once, whatever order Twilio's requests come in."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.complaints import service
from hotline.complaints.reference import is_valid_reference, new_reference
from hotline.config import Settings
from hotline.context import Context
from hotline.models import Complaint, ComplaintStatus, Contact, InboundMessage, OutboundMessage, utcnow
from hotline.voice.service import voice_pin
from tests.factories import PHONE, post_form
from tests.voice.phone import Phone

OTHER_PHONE = "+996700654321"


def recording_sid() -> str:
    return "RE" + secrets.token_hex(16)


def start_complaint(phone: Phone, identity: str, district: str = "1") -> None:
    """Dial, Russian, 2 complaint, the identity choice, a district: ends at the <Record>."""
    phone.dial()
    if phone.played() and phone.played()[-1] == "language":
        phone.press("2")
    phone.press("2")
    assert phone.played()[-1] == "complaint/identity"
    phone.press(identity)
    assert phone.played()[-1] == "complaint/district"
    phone.press(district)


def digits_heard(phone: Phone) -> str:
    return "".join(key.removeprefix("digit/") for key in phone.played() if key.startswith("digit/"))


def test_named_complaint_recorded_filed_and_reference_read_twice(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="1", district="2")
    record = phone.record()
    assert record.attrib["maxLength"] == "120"
    assert record.attrib["finishOnKey"] == "#"
    assert phone.played() == ["complaint/record"]
    sid = recording_sid()
    phone.finish_recording(sid, seconds=47)

    complaint = session.exec(select(Complaint)).one()
    contact = session.exec(select(Contact)).one()
    assert complaint.channel == "voice" and complaint.recording_sid == sid and complaint.recording_seconds == 47
    assert complaint.contact_id == contact.id and not complaint.anonymous
    assert complaint.language == "ru" and complaint.district_code == "kadamjay-rayon"
    assert is_valid_reference(complaint.reference)
    assert digits_heard(phone) == complaint.reference * 2, "the reference, digit by digit, twice"
    assert "complaint/pin" not in phone.played()
    assert phone.played()[-2:] == ["complaint/answer_by", "menu"], "then the main menu: the call may go on"
    # The same triage queue as SMS: officers find it by its reference.
    assert complaint.status == ComplaintStatus.NEW


def test_anonymous_complaint_keeps_no_number_and_reads_the_pin_twice(
    voice_client: TestClient, voice_settings: Settings, session: Session, ctx: Context
) -> None:
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="2")
    assert phone.played() == ["complaint/record_anonymous"]
    callback = phone.record().attrib["recordingStatusCallback"]
    assert "c=" not in urlparse(callback).query, "no contact in an anonymous recording's URL"
    sid = recording_sid()
    phone.finish_recording(sid, seconds=30)
    complaint = session.exec(select(Complaint)).one()
    assert complaint.anonymous and complaint.contact_id is None
    pin = voice_pin(ctx.settings, sid)
    assert digits_heard(phone) == (complaint.reference + pin) * 2
    assert complaint.pin_hash and pin not in complaint.pin_hash
    assert phone.played()[-2] == "complaint/answer_by_anonymous"
    # The PIN works from any phone, by SMS STATUS too.
    from tests.factories import text_in

    replies = text_in(voice_client, voice_settings, f"STATUS {complaint.reference} {pin}", sender=OTHER_PHONE)
    assert complaint.reference in replies[0]
    assert session.exec(select(InboundMessage)).all() == []  # a private turn stores no message row


def test_recording_callback_first_then_the_callers_request_files_one_complaint(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="2")
    callback_url = phone.record().attrib["recordingStatusCallback"]
    sid = recording_sid()
    fields = {**phone.form(), **phone.recording_fields(sid, 20), "RecordingStatus": "completed"}
    path = callback_url.removeprefix(voice_settings.public_url)
    for _ in range(2):  # the callback, and Twilio's retry of it
        assert post_form(voice_client, voice_settings, fields, path=path).status_code == 204
    first = session.exec(select(Complaint)).one()
    assert first.anonymous
    phone.finish_recording(sid, seconds=20)
    assert session.exec(select(Complaint)).all() == [first]
    assert digits_heard(phone).startswith(first.reference), "the caller hears the complaint the callback filed"
    assert digits_heard(phone) == (first.reference + voice_pin(voice_settings, sid)) * 2


def test_recording_callback_without_any_call_record_still_files_the_complaint(
    voice_client: TestClient, voice_settings: Settings, session: Session, ctx: Context
) -> None:
    # The callback carries what the caller chose in our signed URL: nothing else is needed.
    contact_phone = Phone(voice_client, voice_settings)
    contact_phone.dial()
    contact_phone.press("2")  # the caller's contact now exists
    contact = session.exec(select(Contact)).one()
    sid = recording_sid()
    path = f"/twilio/voice/recording?a=0&c={contact.id}&d=leilek-rayon&l=ru"
    fields = {
        "AccountSid": voice_settings.twilio_account_sid,
        "CallSid": "CA" + secrets.token_hex(16),  # a call we never saw
        "RecordingSid": sid,
        "RecordingUrl": "https://api.twilio.com/x",
        "RecordingDuration": "12",
        "RecordingStatus": "completed",
    }
    assert post_form(voice_client, voice_settings, fields, path=path).status_code == 204
    complaint = session.exec(select(Complaint)).one()
    assert complaint.contact_id == contact.id and complaint.district_code == "leilek-rayon"
    # Not yet complete (or failed) recordings file nothing.
    other = {**fields, "RecordingSid": recording_sid(), "RecordingStatus": "absent"}
    assert post_form(voice_client, voice_settings, other, path=path).status_code == 204
    assert len(session.exec(select(Complaint)).all()) == 1
    bad = {**fields, "RecordingSid": "../../x"}
    assert post_form(voice_client, voice_settings, bad, path=path).status_code == 400


def test_hang_up_mid_recording_keeps_what_is_longer_than_two_seconds(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="1")
    phone.finish_recording(recording_sid(), seconds=2, digits="hangup")
    assert session.exec(select(Complaint)).first() is None, "two seconds is a hang-up at the beep, not a complaint"

    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="1")
    twiml = phone.finish_recording(recording_sid(), seconds=9, digits="hangup")
    assert list(twiml) == [], "nobody listens any more: an empty response"
    complaint = session.exec(select(Complaint)).one()
    assert complaint.recording_seconds == 9


def test_silence_or_a_too_short_recording_asks_again_then_says_goodbye(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="1")
    phone.finish_recording(recording_sid(), seconds=1)
    assert phone.played() == ["complaint/too_short", "complaint/record"]
    assert phone.twiml is not None
    redirect = phone.twiml.find("Redirect")
    assert redirect is not None  # what Twilio does when nothing at all was recorded
    for _ in range(2):
        phone.post(redirect.text or "")
        assert phone.played() == ["complaint/too_short", "complaint/record"]
        redirect = phone.twiml.find("Redirect")
        assert redirect is not None
    phone.post(redirect.text or "")
    assert phone.played() == ["common/goodbye"]
    assert session.exec(select(Complaint)).first() is None


def test_a_known_municipality_is_not_asked_again(
    voice_client: TestClient, voice_settings: Settings, session: Session, ctx: Context
) -> None:
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.press("2")
    contact = session.exec(select(Contact)).one()
    contact.municipality_code = "samarkandek"
    session.add(contact)
    session.commit()
    phone.press("2")
    phone.press("1")
    assert phone.played() == ["complaint/record"], "no district menu"
    phone.finish_recording(recording_sid(), seconds=15)
    session.expire_all()
    assert session.exec(select(Complaint)).one().municipality_code == "samarkandek"


def test_hidden_number_complaints_are_anonymous(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings, number="+266696687")  # Twilio's "anonymous" caller id
    phone.dial()
    phone.press("2")
    phone.press("2")
    assert phone.played() == ["complaint/no_number", "complaint/district"]
    phone.press("0")
    phone.finish_recording(recording_sid(), seconds=30)
    complaint = session.exec(select(Complaint)).one()
    assert complaint.anonymous and complaint.district_code is None and complaint.jurisdiction == "oblast"


def test_daily_complaint_limit_applies_to_calls(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    for _ in range(voice_settings.max_complaints_per_day):
        phone = Phone(voice_client, voice_settings)
        start_complaint(phone, identity="1")
        phone.finish_recording(recording_sid(), seconds=10)
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.press("2")
    assert phone.played() == ["complaint/limit", "menu"]


def test_status_by_keypad_for_own_and_anonymous_complaints(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="1")
    phone.finish_recording(recording_sid(), seconds=10)
    named = session.exec(select(Complaint)).one()
    named.status = ComplaintStatus.INVESTIGATING
    session.add(named)
    session.commit()

    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.press("4")
    assert phone.played() == ["status/ask_reference"]
    assert "numDigits" not in phone.gather().attrib and phone.gather().attrib["finishOnKey"] == "#"
    phone.press(named.reference)
    assert phone.played() == ["status/ask_pin"]
    phone.press("")  # just #: no PIN
    assert phone.played() == ["status/is_investigating", "status/no_answer", "menu"]

    # Someone else's named complaint is "not found" (and counts as a miss), even with a PIN.
    other = Phone(voice_client, voice_settings, number=OTHER_PHONE)
    other.dial()
    other.press("2")
    other.press("4")
    other.press(named.reference)
    other.press("1234")
    assert other.played() == ["status/not_found", "menu"]

    # A wrong check digit is caught before any look-up.
    other.press("4")
    wrong = named.reference[:-1] + str((int(named.reference[-1]) + 1) % 10)
    other.press(wrong)
    assert other.played() == ["status/invalid", "status/ask_reference"]


def test_anonymous_status_by_pin_from_another_phone(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="2")
    sid = recording_sid()
    phone.finish_recording(sid, seconds=10)
    complaint = session.exec(select(Complaint)).one()
    other = Phone(voice_client, voice_settings, number=OTHER_PHONE)
    other.dial()
    other.press("2")
    other.press("4")
    other.press(complaint.reference)
    other.press("0000" if voice_pin(voice_settings, sid) != "0000" else "1111")
    assert other.played() == ["status/not_found", "menu"]
    other.press("4")
    other.press(complaint.reference)
    other.press(voice_pin(voice_settings, sid))
    assert other.played() == ["status/is_new", "status/no_answer", "menu"]


def test_status_by_the_keys_the_prompt_asks_for_reference_hash_pin_hash(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    """The caller types exactly what the prompts say ("8 digits, then #", "the PIN, or just #"), key after key,
    as Twilio's <Gather> passes them on; and the same without any # (Twilio sends the digits at the timeout)."""
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="2")
    sid = recording_sid()
    phone.finish_recording(sid, seconds=10)
    complaint = session.exec(select(Complaint)).one()
    pin = voice_pin(voice_settings, sid)

    other = Phone(voice_client, voice_settings, number=OTHER_PHONE)
    other.dial()
    other.keys("24")
    assert other.played() == ["status/ask_reference"]
    other.keys(f"{complaint.reference}#{pin}#")
    assert other.played() == ["status/is_new", "status/no_answer", "menu"]
    assert other.state()["n"] == "main"  # the main menu waits for a key: no PIN digit fell into it

    other.keys("4")
    other.keys(complaint.reference)  # no #: the timeout sends the eight digits
    assert other.played() == ["status/ask_pin"]
    other.keys(pin)
    assert other.played() == ["status/is_new", "status/no_answer", "menu"]

    # The caller's own named complaint: the reference, #, then just # for "no PIN".
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="1")
    phone.finish_recording(recording_sid(), seconds=10)
    named = session.exec(select(Complaint).where(Complaint.id != complaint.id)).one()
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.keys(f"4{named.reference}##")
    assert phone.played() == ["status/is_new", "status/no_answer", "menu"]


def test_status_of_a_new_complaint_an_officer_answered_is_not_waiting(
    voice_client: TestClient, voice_settings: Settings, session: Session, ctx: Context
) -> None:
    phone = Phone(voice_client, voice_settings)
    start_complaint(phone, identity="1")
    phone.finish_recording(recording_sid(), seconds=10)
    complaint = session.exec(select(Complaint)).one()
    service.add_answer(session, ctx, complaint, "Текшерип жатабыз.", utcnow(), officer_id=None)
    session.commit()
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.keys(f"4{complaint.reference}##")
    assert phone.played() == ["status/answered", "menu"]  # not "received, waiting for an officer"


def test_too_many_wrong_references_are_throttled(
    voice_client: TestClient, voice_settings: Settings, session: Session
) -> None:
    phone = Phone(voice_client, voice_settings)
    phone.dial()
    phone.press("2")
    for _ in range(voice_settings.max_status_failures_per_day):
        phone.press("4")
        phone.press(new_reference())
        phone.press("")
        assert phone.played() == ["status/not_found", "menu"]
    phone.press("4")
    phone.press(new_reference())
    phone.press("")
    assert phone.played() == ["status/throttled", "menu"]


def test_anonymous_complaint_in_a_callback_unlinks_the_callback_from_the_phone(
    voice_client: TestClient, voice_settings: Settings, session: Session, ctx: Context
) -> None:
    from hotline.dialogue.contacts import get_or_create_contact
    from hotline.messaging.outbox import enqueue
    from hotline.models import Channel, OutboundStatus, Purpose

    now = utcnow()
    contact = get_or_create_contact(session, ctx, PHONE, now)
    row = enqueue(
        session,
        ctx,
        contact=contact,
        text="",
        purpose=Purpose.CALLBACK,
        channel=Channel.CALL,
        key="callback:x",
        now=now,
    )
    phone = Phone(voice_client, voice_settings, callback=True)
    row.provider_sid, row.status = phone.sid, OutboundStatus.SENT
    session.add(row)
    session.commit()
    start_complaint(phone, identity="2")
    phone.finish_recording(recording_sid(), seconds=25)
    session.expire_all()
    stored = session.exec(select(OutboundMessage)).one()
    assert stored.contact_id is None and stored.recipient_encrypted == ""
    assert parse_qs(urlparse(phone.gather().attrib["action"]).query)["n"] == ["main"]
