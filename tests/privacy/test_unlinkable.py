"""An insider with a full database dump and the logs tries to link anonymous complaints to phones (issue #16).

A mix of named and anonymous complaints, by SMS and by voice, from phones with a history and from new ones, goes
through the real webhooks. Then each linking technique is tried on the dump and the captured log: exact times, row
order (ids), rate-limit keys, stored replies, transport ids. None may link. The threat model: docs/PRIVACY.md."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from hotline.complaints.service import complaint_rate_key
from hotline.config import Settings
from hotline.context import Context
from hotline.models import Complaint, Contact, utcnow
from tests.factories import PHONE, new_sid, post_form, text_in
from tests.support import production_log
from tests.voice.phone import Phone, call_sid

Rows = dict[str, dict[tuple[Any, ...], dict[str, Any]]]

# Phones: A and C have a named history; B and D are new and only ever complain anonymously.
A, B, C, D = PHONE, "+996700100200", "+996770300400", "+996220500600"
# The columns that tie a row to a phone.
PHONE_COLUMNS = ("contact_id", "phone_hash", "phone_encrypted", "recipient_encrypted", "unparsed_sender_encrypted")


def snapshot(engine: Engine) -> Rows:
    """Every row of every table, by primary key."""
    rows: Rows = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            keys = [c.name for c in table.primary_key.columns]
            found = conn.execute(table.select()).mappings().all()
            rows[table.name] = {tuple(r[k] for k in keys): dict(r) for r in found}
    return rows


def names_a_phone(table: str, row: dict[str, Any]) -> bool:
    return table == "contact" or any(row.get(column) for column in PHONE_COLUMNS)


def times_in(row: dict[str, Any]) -> list[datetime]:
    values = []
    for value in row.values():
        if isinstance(value, datetime):
            values.append(value if value.tzinfo else value.replace(tzinfo=UTC))
    return values


@dataclass
class Anonymous:
    """One anonymous dialogue as the test saw it: its requests' time windows, transport ids, what changed."""

    windows: list[tuple[datetime, datetime]] = field(default_factory=list)
    sids: list[str] = field(default_factory=list)
    added: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    changed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    removed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reference: str = ""
    pin: str = ""


class Scenario:
    """Drives the webhooks and notes, for each anonymous dialogue, what an insider must not be able to use."""

    def __init__(self, client: TestClient, settings: Settings, engine: Engine) -> None:
        self.client, self.settings, self.engine = client, settings, engine
        self.anonymous: list[Anonymous] = []
        self.named_sids: list[str] = []
        self._current: Anonymous | None = None
        self.asked_place = False
        self.voice_reused_place = False
        self._before: Rows = {}

    def sms(self, body: str, sender: str) -> list[str]:
        sid = new_sid()
        start = utcnow()
        replies = text_in(self.client, self.settings, body, sender=sender, sid=sid)
        if self._current is not None:
            self._current.windows.append((start, utcnow()))
            self._current.sids.append(sid)
        else:
            self.named_sids.append(sid)
        return replies

    def begin(self) -> None:
        self._current, self._before = Anonymous(), snapshot(self.engine)

    def end(self, ack: str) -> Anonymous:
        current = self._current
        assert current is not None
        after = snapshot(self.engine)
        for table, rows in after.items():
            old = self._before[table]
            current.added[table] = [row for key, row in rows.items() if key not in old]
            current.changed[table] = [row for key, row in rows.items() if key in old and old[key] != row]
            current.removed[table] = [row for key, row in old.items() if key not in rows]
        found = re.search(r"\b(\d{8})\b.*?(?:PIN|ПИН|PIN-код)\D{0,3}(\d{4})", ack, re.S)
        if found:
            current.reference, current.pin = found.group(1), found.group(2)
        self.anonymous.append(current)
        self._current = None
        return current

    def call(self, number: str, identity: str, district: str) -> tuple[Phone, str]:
        """A call that records a complaint: identity 1 named, 2 anonymous; returns the phone and recording id."""
        phone = Phone(self.client, self.settings, number=number, sid=call_sid())
        anonymous = identity == "2"
        self.named_sids.append(phone.sid) if not anonymous else None
        phone.dial()
        if phone.state().get("n") == "lang":
            phone.press("2")
        phone.press("2")  # complaint
        assert phone.state().get("n") == "identity", phone.state()
        if anonymous:
            self.begin()
            assert self._current is not None
            self._current.sids.append(phone.sid)
        self._timed(lambda: phone.press(identity))
        if phone.twiml is None or phone.twiml.find("Record") is None:
            assert phone.state().get("n") == "district", phone.state()
            self._timed(lambda: phone.press(district))
        elif anonymous:
            self.voice_reused_place = True  # an anonymous caller must be asked (never the remembered place)
        recording = "RE" + new_sid()[2:]
        callback = phone.record().attrib["recordingStatusCallback"].removeprefix(self.settings.public_url.rstrip("/"))
        self._timed(lambda: phone.finish_recording(recording, seconds=30))
        if self._current is not None:
            self._current.sids.append(recording)
        # Twilio's recording callback (a repeat: the caller's request filed it) and the call's end.
        fields = {**phone.form(), **phone.recording_fields(recording, 30), "RecordingStatus": "completed"}
        self._timed(lambda: post_form(self.client, self.settings, fields, path=callback))
        status = {**phone.form(), "CallStatus": "completed", "CallDuration": "95"}
        self._timed(lambda: post_form(self.client, self.settings, status, path="/twilio/voice/status"))
        return phone, recording

    def _timed(self, action: Any) -> None:
        start = utcnow()
        action()
        if self._current is not None:
            self._current.windows.append((start, utcnow()))


@pytest.fixture
def log_text(client: TestClient) -> Iterator[io.StringIO]:
    """Every line the production log handler writes, from after the app started."""
    with production_log() as stream:
        yield stream


@pytest.fixture
def scenario(client: TestClient, settings: Settings, engine: Engine, log_text: io.StringIO) -> Scenario:
    s = Scenario(client, settings, engine)
    # A: a family with a history: a question, a named complaint, then an anonymous one, then named again.
    s.sms("HELP", A)
    s.sms("COMPLAINT the school director wants money for the form", A)
    s.sms("1", A)  # the rayon: filed there
    s.sms("Dara", A)  # the village, as the acknowledgement invites
    s.begin()
    ack = s.sms("ANON the akim Toktosunov took 3000 som from us", A)[0]
    s.asked_place = ack.startswith("Where did it happen?")  # never the phone's remembered place
    if s.asked_place:
        ack = s.sms("2", A)[0]  # a rayon: filed at once
    s.end(ack)
    s.sms("BENEFITS", A)
    # B: a new phone whose only act is an anonymous complaint, in one dialogue, place left out.
    s.begin()
    s.sms("ЖАЛОБА АНОНИМ соцработник требует подарок", B)
    ack = s.sms("0", B)[0]
    s.end(ack)
    # A follows its anonymous complaint by PIN, and someone (C) guesses PINs: private turns too.
    first = s.anonymous[0]
    s.begin()
    s.sms(f"STATUS {first.reference} {first.pin}", A)
    s.end("")
    s.sms("COMPLAINT pension not paid since May", C)
    s.sms("3", C)
    s.sms("Katran", C)
    s.begin()
    s.sms(f"STATUS {first.reference} 0000", C)
    s.sms(f"STATUS {first.reference} 9999", C)
    s.end("")
    s.sms("STATUS", C)
    # Voice: C calls and complains anonymously; D, a new number, only ever calls anonymously; A calls named.
    s.call(C, identity="2", district="1")
    s.end("")
    s.call(D, identity="2", district="0")
    s.end("")
    s.call(A, identity="1", district="2")
    return s


def everything(engine: Engine) -> str:
    with engine.connect() as conn:
        return "\n".join(
            repr(tuple(row))
            for table in SQLModel.metadata.sorted_tables
            for row in conn.execute(text(f"SELECT * FROM {table.name}"))
        )


def test_no_anonymous_turn_leaves_a_row_that_names_a_phone(scenario: Scenario) -> None:
    """Row order and ids: an anonymous dialogue adds or changes no row that names a phone (so no id of such a row
    sits next to the complaint's), and removes only what it made itself (its dialogue, a new phone's contact)."""
    for number, dialogue in enumerate(scenario.anonymous):
        for table, rows in {**dialogue.added}.items():
            linked = [row for row in rows if names_a_phone(table, row)]
            assert linked == [], (number, table, linked)
        for table, rows in dialogue.changed.items():
            linked = [row for row in rows if names_a_phone(table, row)]
            assert linked == [], (number, table, linked)
        assert {t for t, rows in dialogue.removed.items() if rows} <= {"contact", "conversation", "complaintdraft"}
        # Rows with a serial id that an anonymous dialogue adds: only the complaint's own, which name no phone.
        serial = {t for t, rows in dialogue.added.items() if rows and "id" in rows[0]}
        assert serial <= {"complaint", "complaintevent"}, (number, serial)


def test_no_time_written_in_an_anonymous_turn_is_exact(scenario: Scenario, settings: Settings) -> None:
    """Time: every time on a row an anonymous dialogue added or changed is its day, never a moment in one of its
    requests; and no row that names a phone carries such a moment either."""
    zone = ZoneInfo(settings.timezone)

    def is_day(moment: datetime) -> bool:
        local = moment.astimezone(zone)
        return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0) or (
            moment.astimezone(UTC).time() == datetime.min.time()
        )

    final = snapshot(scenario.engine)
    phone_rows = [row for table, rows in final.items() for row in rows.values() if names_a_phone(table, row)]
    for dialogue in scenario.anonymous:
        written = [row for rows in (*dialogue.added.values(), *dialogue.changed.values()) for row in rows]
        assert written, "an anonymous dialogue that wrote nothing proves nothing"
        for moment in (m for row in written for m in times_in(row)):
            assert is_day(moment), moment
        for start, end in dialogue.windows:
            hits = [row for row in phone_rows for m in times_in(row) if start <= m <= end and not is_day(m)]
            assert hits == [], hits


def test_rate_limit_keys_never_join_named_and_anonymous(
    scenario: Scenario, engine: Engine, session: Session, ctx: Context
) -> None:
    """Rate-limit keys: the anonymous counters share no key with any named rate event, have no row id, and the
    named events of a phone number exactly its named acts (no row per anonymous act to line up)."""
    final = snapshot(engine)
    named_keys = {row["key"] for row in final["rateevent"].values()}
    # Named first: with one shared bucket, each anonymous complaint adds a row under the phone's named key.
    named = session.exec(select(Complaint).where(Complaint.anonymous == False)).all()  # noqa: E712
    complaint_events = [row for row in final["rateevent"].values() if row["kind"] == "complaint"]
    assert len(complaint_events) == len(named)
    counters = final.get("private_counter", {})
    private_keys = {row["key"] for row in counters.values()}
    assert private_keys and not (named_keys & private_keys)
    assert all("id" not in row for row in counters.values())
    contacts = {c.phone_hash: c for c in session.exec(select(Contact)).all()}
    named_buckets = {complaint_rate_key(ctx, c) for c in contacts.values()}
    assert {row["key"] for row in complaint_events} <= named_buckets


def test_no_reply_pin_or_transport_id_of_an_anonymous_turn_is_kept(
    scenario: Scenario, engine: Engine, log_text: io.StringIO
) -> None:
    """Replies, transport ids and logs: the acknowledgement (reference and PIN) is stored only masked, no message
    or call id of an anonymous turn is stored or logged, and no log line holds a reference or PIN."""
    dump = everything(engine)
    log = log_text.getvalue()
    assert any(sid in log for sid in scenario.named_sids), "the log was captured (named turns are logged)"
    first = scenario.anonymous[0]
    assert first.reference and first.pin
    for dialogue in scenario.anonymous:
        for sid in dialogue.sids:
            if sid.startswith("SM"):
                assert sid not in dump
            assert sid not in log, sid
        if dialogue.reference:
            assert dump.count(dialogue.reference) == 1, "only the complaint's own reference column holds it"
            assert dialogue.reference not in log
            for spelled in (f"PIN {dialogue.pin}", f"ПИН {dialogue.pin}", f"PIN: {dialogue.pin}"):
                assert spelled not in dump and spelled not in log
    # A retry's replies are kept sealed: no reply text is readable in the dump.
    kept = [reply for row in snapshot(engine)["private_turn"].values() for reply in row["replies"]]
    assert kept and not any("PIN" in reply or "ПИН" in reply or " " in reply for reply in kept)


def test_new_phones_that_only_complained_anonymously_leave_no_contact(
    scenario: Scenario, session: Session, ctx: Context
) -> None:
    """The anonymous complaint of a phone with a remembered place asked for its place all the same. A new
    phone's contact, made for the anonymous dialogue, is gone with it: its number is not kept, and its place in the
    contacts' sequence cannot date it next to the complaint."""
    assert scenario.asked_place and not scenario.voice_reused_place
    hashes = {c.phone_hash for c in session.exec(select(Contact)).all()}
    assert ctx.vault.lookup_hash(A) in hashes and ctx.vault.lookup_hash(C) in hashes
    assert ctx.vault.lookup_hash(B) not in hashes and ctx.vault.lookup_hash(D) not in hashes
    anonymous = session.exec(select(Complaint).where(Complaint.anonymous == True)).all()  # noqa: E712
    assert len(anonymous) == 4 and all(c.contact_id is None for c in anonymous)
    assert {c.channel for c in anonymous} == {"sms", "voice"}
