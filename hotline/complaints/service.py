"""Complaints as plain functions: file, route, append, answer, look up for STATUS, and the audit trail."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from hotline.complaints.categories import Category, Rules, get_rules
from hotline.complaints.reference import is_valid_reference, new_pin, pin_hash
from hotline.complaints.reference import new_reference as new_reference  # the fast path draws through this module
from hotline.context import Context
from hotline.dialogue import private
from hotline.messaging.outbox import enqueue
from hotline.models import (
    Actor,
    Complaint,
    ComplaintAnswer,
    ComplaintEvent,
    ComplaintStatus,
    Contact,
    Jurisdiction,
    Purpose,
    RateEvent,
)
from hotline.phones import mask_phone
from hotline.places import Gazetteer, Place, get_gazetteer

LEVEL_UP = {Jurisdiction.MUNICIPALITY: Jurisdiction.DISTRICT, Jurisdiction.DISTRICT: Jurisdiction.OBLAST}


@dataclass(frozen=True)
class Filed:
    """A new complaint, the PIN of an anonymous one (shown once, never stored), and its category."""

    complaint: Complaint
    pin: str | None
    category: Category


def record_event(
    session: Session,
    complaint: Complaint,
    kind: str,
    actor: Actor,
    now: datetime,
    actor_id: int | None = None,
    **details: Any,
) -> ComplaintEvent:
    """Add an audit row for something that happened to a complaint."""
    event = ComplaintEvent(
        complaint_id=complaint.id or 0, at=now, actor=actor, actor_id=actor_id, kind=kind, details=details
    )
    session.add(event)
    return event


def above_the_accused(in_municipality: bool) -> Jurisdiction:
    """Who handles a complaint about the office of its own place: the district above a municipality, the oblast
    above a town that is its own district. Never the level the complaint sits at."""
    level = Jurisdiction.MUNICIPALITY if in_municipality else Jurisdiction.DISTRICT
    return LEVEL_UP.get(level, Jurisdiction.OBLAST)


def route(rules: Rules, category: Category, text: str, place: Place | None) -> tuple[Jurisdiction, str | None]:
    """Where a complaint is handled, and why it went above its municipality (None when it did not)."""
    if place is None:
        return Jurisdiction.OBLAST, "place unknown"
    reason = None
    if category.route_to != Jurisdiction.MUNICIPALITY:
        reason = f"category {category.code}"  # a bribe: guessed conservatively (categories.py)
    elif rules.names_local_staff(text):
        reason = "names local staff"
    if reason is None:
        return (Jurisdiction.MUNICIPALITY if place.district else Jurisdiction.DISTRICT), None
    return above_the_accused(place.district is not None), reason


def _counted_today(kind: str, key: str, day: date) -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(RateEvent)
        .where(RateEvent.kind == kind, RateEvent.key == key, RateEvent.day == day)
        .scalar_subquery()
    )


def count_today(session: Session, kind: str, key: str, day: date) -> int:
    """How many rate events of a kind a key has on a day."""
    return int(session.exec(select(_counted_today(kind, key, day))).one())


def add_rate_event(session: Session, kind: str, key: str, day: date) -> None:
    """Count one action towards a daily limit."""
    session.add(RateEvent(kind=kind, key=key, day=day))


class DuplicateRecording(Exception):
    """Another request filed the complaint of this recording first (Twilio's action and callback race)."""


@dataclass(frozen=True)
class Recording:
    """A complaint recorded on the voice line: kept at Twilio, played to officers through the app."""

    sid: str
    url: str
    seconds: int


@dataclass(frozen=True)
class NewComplaint:
    """What filing a complaint writes, worked out without the database (file_complaint, and the webhook's fast path in
    hotline/fastpath.py): every column but the id and the reference (drawn at the insert, again if taken), the PIN of
    an anonymous one (shown once, never stored), its category, the time its rows carry and the day it counts on."""

    columns: dict[str, Any]
    pin: str | None
    category: Category
    at: datetime  # an anonymous complaint's: the start of its day (private.coarse_time)
    day: date  # the local day it was filed on: its rate counter's

    def row(self, ctx: Context, reference: str) -> dict[str, Any]:
        """The complaint's columns with a reference (and the PIN's hash, which depends on it)."""
        hashed = pin_hash(ctx.settings.lookup_key, reference, self.pin) if self.pin else None
        return {**self.columns, "reference": reference, "pin_hash": hashed}

    def events(self) -> list[tuple[str, Actor, dict[str, Any]]]:
        """Its first audit events (kind, actor, details), in order: created, and routed when it went above its
        municipality."""
        columns = self.columns
        created: dict[str, Any] = {
            "channel": columns["channel"],
            "anonymous": columns["anonymous"],
            "category": self.category.code,
            "category_guessed": True,
        }
        events = [("created", Actor.FAMILY, created)]
        if columns["routed_reason"]:
            to = columns["jurisdiction"].value
            events.append(("routed", Actor.SYSTEM, {"to": to, "reason": columns["routed_reason"]}))
        return events


def complaint_values(
    ctx: Context,
    *,
    contact_id: int | None,
    contact_language: str | None,
    text: str,
    anonymous: bool,
    place: Place | None,
    now: datetime,
    rules: Rules | None = None,
    language: str | None = None,
    recording: Recording | None = None,
    pin: str | None = None,
) -> NewComplaint:
    """A new complaint's values (see NewComplaint): its category guessed, routed, its deadlines, its place's codes, its
    language (`language`, else the contact's, else the default) and channel. `contact_id` is None for an anonymous
    one (never linked to a phone)."""
    rules = rules or get_rules()
    category = rules.guess(text)
    jurisdiction, reason = route(rules, category, text, place)
    pin = (pin or new_pin()) if anonymous else None
    day = ctx.local_day(now)
    if anonymous:
        # Every time on an anonymous complaint is its day: an exact one would match the phone's other rows. Its
        # deadlines count from the end of that day, so the coarser time never shortens them.
        now = private.coarse_time(ctx, now)
        deadline_base = now + timedelta(days=1)
    else:
        deadline_base = now
    columns = {
        "contact_id": None if anonymous else contact_id,
        "anonymous": anonymous,
        "language": language or contact_language or ctx.settings.default_language,
        "text": text,
        "category": category.code,
        "category_guessed": True,
        "oblast_code": place.oblast if place else ctx.settings.default_oblast,
        "district_code": place.district_code if place else None,
        "municipality_code": place.code if place and place.district else None,
        "jurisdiction": jurisdiction,
        "routed_reason": reason,
        "status": ComplaintStatus.NEW,
        "created_at": now,
        "updated_at": now,
        "first_answer_due": deadline_base + timedelta(days=category.first_answer_days),
        "resolution_due": deadline_base + timedelta(days=category.resolution_days),
        "assignee_id": None,
        "first_answered_at": None,
        "decided_at": None,
        "escalated_first_answer": False,
        "escalated_resolution": False,
        "due_at": deadline_base + timedelta(days=category.first_answer_days),
        "channel": "voice" if recording else "sms",
        "recording_sid": recording.sid if recording else None,
        "recording_url": recording.url if recording else None,
        "recording_seconds": recording.seconds if recording else None,
    }
    return NewComplaint(columns, pin, category, now, day)


def file_complaint(
    session: Session,
    ctx: Context,
    *,
    contact: Contact | None,
    text: str,
    anonymous: bool,
    place: Place | None,
    now: datetime,
    rules: Rules | None = None,
    language: str | None = None,
    recording: Recording | None = None,
    pin: str | None = None,
) -> Filed:
    """Create a complaint with a unique reference, its deadlines and routing, and its first audit events.

    `contact` is None only for an anonymous call from a hidden number; `pin` lets the voice line choose the PIN
    of an anonymous complaint (it derives it from the recording, so either of Twilio's two requests can say it)."""
    if contact is None and not anonymous:
        raise ValueError("a named complaint needs the complainant's contact")
    new = complaint_values(
        ctx,
        contact_id=contact.id if contact else None,
        contact_language=contact.language if contact else None,
        text=text,
        anonymous=anonymous,
        place=place,
        now=now,
        rules=rules,
        language=language,
        recording=recording,
        pin=pin,
    )
    for _ in range(10):
        complaint = Complaint(**new.row(ctx, new_reference()))
        if _inserted(session, complaint):
            break
        if recording is not None and by_recording(session, recording.sid) is not None:
            raise DuplicateRecording(recording.sid)
        # Otherwise the random reference was taken: draw again.
    else:
        raise RuntimeError("could not draw a free complaint reference")
    for kind, actor, details in new.events():
        record_event(session, complaint, kind, actor, new.at, **details)
    if contact is not None and anonymous:
        # Its own bucket, keyed apart from the named one and with no row id: nothing lines it up with the phone.
        private.bump(session, anonymous_rate_key(ctx, contact, new.day), new.day)
    elif contact is not None:
        add_rate_event(session, "complaint", complaint_rate_key(ctx, contact), new.day)
    return Filed(complaint, new.pin, new.category)


def _inserted(session: Session, complaint: Complaint) -> bool:
    """Insert a new complaint, or nothing when its reference (or recording) is taken: one statement, where a savepoint
    around the ORM's insert sent three. The complaint is then in the session as if it had been loaded."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {key: getattr(complaint, key) for key in sa.inspect(Complaint).columns.keys() if key != "id"}
    statement = insert(Complaint).values(values).on_conflict_do_nothing().returning(col(Complaint.id))
    complaint_id = session.execute(statement).scalar()
    if complaint_id is None:
        return False
    complaint.id = complaint_id
    make_transient_to_detached(complaint)
    session.add(complaint)
    return True


def by_recording(session: Session, recording_sid: str) -> Complaint | None:
    """The complaint made from a recording, if any."""
    return session.exec(select(Complaint).where(Complaint.recording_sid == recording_sid)).first()


def append_text(session: Session, complaint: Complaint, text: str, now: datetime) -> None:
    """Join a further SMS to a complaint, with an audit row (the text before stays in the event trail)."""
    complaint.text = f"{complaint.text}\n{text}"
    complaint.updated_at = now
    session.add(complaint)
    record_event(session, complaint, "message_appended", Actor.FAMILY, now, chars=len(text))


def add_village(
    session: Session, complaint: Complaint, place: Place, now: datetime, rules: Rules | None = None
) -> None:
    """The village a family names after its complaint was filed at the rayon (#17 point 5), audited. A complaint no
    officer has taken up yet is routed again, as if the village had come with it; one in work stays where it is."""
    complaint.municipality_code = place.code
    complaint.updated_at = now
    session.add(complaint)
    record_event(session, complaint, "village_added", Actor.FAMILY, now, place=place.code)
    if complaint.status != ComplaintStatus.NEW or complaint.assignee_id is not None:
        return
    rules = rules or get_rules()
    jurisdiction, reason = route(rules, rules.categories[complaint.category], complaint.text, place)
    if jurisdiction != complaint.jurisdiction:
        complaint.jurisdiction, complaint.routed_reason = jurisdiction, reason
        record_event(session, complaint, "routed", Actor.SYSTEM, now, to=jurisdiction.value, reason=reason)


ANSWER_VALID_DAYS = 3  # an answer not delivered within 3 days waits for the family's next STATUS instead


def add_answer(
    session: Session, ctx: Context, complaint: Complaint, text: str, now: datetime, officer_id: int | None
) -> ComplaintAnswer:
    """Store an officers' answer; a named complainant also gets it by SMS, the number decrypted only to send.

    Anonymous complainants see it on their next STATUS. Raises TextTooLong (nothing stored) past the budget."""
    answer = ComplaintAnswer(complaint_id=complaint.id or 0, text=text, created_at=now, officer_id=officer_id)
    session.add(answer)
    session.flush()
    record_event(session, complaint, "answered", Actor.OFFICER, now, actor_id=officer_id, answer_id=answer.id)
    contact = session.get(Contact, complaint.contact_id) if complaint.contact_id and not complaint.anonymous else None
    if contact is not None:
        sms = ctx.texts.render("complaints/update", complaint.language, reference=complaint.reference, text=text)
        enqueue(
            session,
            ctx,
            contact=contact,
            text=sms.text,
            purpose=Purpose.COMPLAINT_UPDATE,
            key=f"complaint:{complaint.id}:answer:{answer.id}",
            language=complaint.language,
            expires_at=now + timedelta(days=ANSWER_VALID_DAYS),
            now=now,
        )
    return answer


def latest_answer(session: Session, complaint: Complaint) -> ComplaintAnswer | None:
    """The officers' newest answer, if any."""
    query = (
        select(ComplaintAnswer)
        .where(ComplaintAnswer.complaint_id == complaint.id)
        .order_by(col(ComplaintAnswer.created_at).desc(), col(ComplaintAnswer.id).desc())
    )
    return session.exec(query).first()


class Throttled(Exception):
    """Too many wrong STATUS guesses today."""


def look_up(
    session: Session, ctx: Context, *, contact: Contact | None, reference: str, pin: str | None, now: datetime
) -> Complaint | None:
    """The complaint a STATUS may see: the phone's own named one, or an anonymous one with its PIN.

    Anything else is None, the same for a wrong check digit, someone else's complaint or a wrong PIN, so nothing
    can be probed. A named look-up's misses count against the phone for the day. A PIN look-up counts only in
    private counters (no row id, keys that match nothing named): per phone across references, and per phone and
    reference, so a guesser locks out only themselves and the family's own phone with the right PIN always gets
    in. A caller with a hidden number (`contact` None) is limited per reference."""
    day = ctx.local_day(now)
    failures_key = contact.phone_hash if contact else None
    named_misses = count_today(session, "status_failure", failures_key, day) if failures_key else 0
    if pin is not None:
        return _look_up_by_pin(session, ctx, contact, reference, pin, day, named_misses)
    if named_misses >= ctx.settings.max_status_failures_per_day:
        raise Throttled
    complaint = by_reference(session, reference) if is_valid_reference(reference) else None
    if complaint is not None and not complaint.anonymous and contact is not None and complaint.contact_id == contact.id:
        return complaint
    if failures_key is not None:
        add_rate_event(session, "status_failure", failures_key, day)
    return None


def _look_up_by_pin(
    session: Session,
    ctx: Context,
    contact: Contact | None,
    reference: str,
    pin: str,
    day: date,
    named_misses: int,
) -> Complaint | None:
    who = contact.phone_hash if contact else "hidden number"
    guesses = private.counter_key(ctx, "pin-guesses", who, day.isoformat())
    on_reference = private.counter_key(ctx, "pin-reference", who, reference, day.isoformat())
    limit = ctx.settings.max_pin_failures_per_day
    if (
        named_misses + private.count(session, guesses, day) >= ctx.settings.max_status_failures_per_day
        or private.count(session, on_reference, day) >= limit
    ):
        raise Throttled
    complaint = by_reference(session, reference) if is_valid_reference(reference) else None
    if complaint is not None and complaint.anonymous and complaint.pin_hash:
        if hmac.compare_digest(complaint.pin_hash, pin_hash(ctx.settings.lookup_key, reference, pin)):
            return complaint
    private.bump(session, guesses, day)
    private.bump(session, on_reference, day)
    return None


def complaint_rate_key(ctx: Context, contact: Contact) -> str:
    """The key a phone's complaints are counted under for the daily limit."""
    return complaint_rate_key_of(ctx, contact.phone_hash)


def complaint_rate_key_of(ctx: Context, phone_hash: str) -> str:
    """complaint_rate_key() for a phone known by its hash (the fast path reads no Contact)."""
    # Not the phone hash: a dump must not show which phone filed (anonymous) complaints on a day.
    return ctx.vault.private_key("complaint-rate", phone_hash)


def anonymous_rate_key(ctx: Context, contact: Contact, day: date) -> str:
    """The key a phone's anonymous complaints of a day are counted under: a new one each day, and never the named
    key, so the counters link neither to the phone's named complaints nor to its anonymous ones of other days."""
    return anonymous_rate_key_of(ctx, contact.phone_hash, day)


def anonymous_rate_key_of(ctx: Context, phone_hash: str, day: date) -> str:
    """anonymous_rate_key() for a phone known by its hash."""
    return private.counter_key(ctx, "complaints", phone_hash, day.isoformat())


def complaints_today(session: Session, ctx: Context, contact: Contact, now: datetime) -> int:
    """How many complaints this phone filed today (named and anonymous alike; read from both, written to one)."""
    return int(session.exec(select(filed_today(ctx, contact, now))).one())


def filed_today(ctx: Context, contact: Contact, now: datetime) -> ColumnElement[int]:
    """`complaints_today` as an expression, to read in the statement that reads what else a complaint needs."""
    day = ctx.local_day(now)
    named = _counted_today("complaint", complaint_rate_key(ctx, contact), day)
    return named + private.counted(anonymous_rate_key(ctx, contact, day), day)


def place_of(contact: Contact, gazetteer: Gazetteer | None = None) -> Place | None:
    """The municipality remembered for a phone."""
    return place_of_code(contact.municipality_code, gazetteer)


def place_of_code(code: str | None, gazetteer: Gazetteer | None = None) -> Place | None:
    """place_of() for a phone known by its remembered code (the fast path reads no Contact)."""
    return (gazetteer or get_gazetteer()).get(code)


def by_reference(session: Session, reference: str) -> Complaint | None:
    """A complaint by its reference (for staff tools; families go through look_up)."""
    return session.exec(select(Complaint).where(Complaint.reference == reference.strip())).first()


def list_complaints(session: Session, *, status: str | None = None, limit: int = 50) -> list[Complaint]:
    """The newest complaints first, optionally of one status."""
    query = select(Complaint).order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc()).limit(limit)
    if status:
        query = query.where(Complaint.status == status)
    return list(session.exec(query))


def events_of(session: Session, complaint: Complaint) -> list[ComplaintEvent]:
    """The audit trail of a complaint, oldest first."""
    query = (
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id)
        .order_by(col(ComplaintEvent.at), col(ComplaintEvent.id))
    )
    return list(session.exec(query))


def masked_phone(session: Session, ctx: Context, complaint: Complaint) -> str:
    """The complainant's number as officers see it (+996 55• ••• •56); revealing it is a separate audited act."""
    if complaint.anonymous:
        return "anonymous"
    if complaint.contact_id is None:
        return "number removed"  # by retention or at the family's request (hotline/privacy)
    contact = session.get(Contact, complaint.contact_id)
    return mask_phone(ctx.vault.decrypt(contact.phone_encrypted)) if contact else "unknown"


OPEN_STATUSES = frozenset({ComplaintStatus.NEW, ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.INVESTIGATING})
DECIDED_STATUSES = frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED, ComplaintStatus.CLOSED})

# The moves officers may make (new → acknowledged → investigating → resolved or rejected → closed; reopen).
TRANSITIONS: dict[ComplaintStatus, set[ComplaintStatus]] = {
    ComplaintStatus.NEW: {ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.INVESTIGATING, ComplaintStatus.REJECTED},
    ComplaintStatus.ACKNOWLEDGED: {ComplaintStatus.INVESTIGATING, ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED},
    ComplaintStatus.INVESTIGATING: {ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED},
    ComplaintStatus.RESOLVED: {ComplaintStatus.CLOSED, ComplaintStatus.INVESTIGATING},
    ComplaintStatus.REJECTED: {ComplaintStatus.CLOSED, ComplaintStatus.INVESTIGATING},
    ComplaintStatus.CLOSED: {ComplaintStatus.INVESTIGATING},  # reopen
}


class InvalidTransition(ValueError):
    """A status change the workflow does not allow."""


def change_status(
    session: Session,
    complaint: Complaint,
    new: ComplaintStatus,
    *,
    actor: Actor,
    actor_id: int | None,
    now: datetime,
) -> None:
    """Move a complaint along its workflow, with an audit row; refuse moves the workflow does not allow."""
    old = ComplaintStatus(complaint.status)
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(f"a complaint cannot go from {old} to {new}")
    complaint.status = new
    complaint.updated_at = now
    session.add(complaint)
    record_event(session, complaint, "status_changed", actor, now, actor_id=actor_id, old=old.value, new=new.value)


def correct_category(
    session: Session,
    complaint: Complaint,
    category: str,
    *,
    officer_id: int | None,
    now: datetime,
    rules: Rules | None = None,
) -> Category:
    """An officer's correction of the guessed category, with an audit row. Returns the category: when it routes
    above the municipality (a bribe), the caller moves the complaint up at once (casework.route_above_accused)."""
    rules = rules or get_rules()
    if category not in rules.categories:
        raise ValueError(f"unknown category {category}")
    old = complaint.category
    complaint.category, complaint.category_guessed, complaint.updated_at = category, False, now
    session.add(complaint)
    record_event(session, complaint, "category_changed", Actor.OFFICER, now, actor_id=officer_id, old=old, new=category)
    return rules.categories[category]
