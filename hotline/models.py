"""Every table of the hotline (one metadata for Alembic) and the column types they share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only form stored)."""
    return datetime.now(UTC)


# Ids are INTEGER columns: PostgreSQL refuses to compare one with a larger number (a 500, not "no such row").
MAX_ID = 2**31 - 1


def parse_int(text: str | None) -> int | None:
    """A non-negative whole number that fits an INTEGER column (a row id, a count, seconds) from a form, a URL or a
    filter; None for anything else. isdecimal, not isdigit: int() refuses "²" and "①", which isdigit accepts."""
    text = (text or "").strip()
    return int(text) if text.isdecimal() and len(text) <= 10 and int(text) <= MAX_ID else None


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware, on SQLite too (which drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (hotline.models.utcnow())")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class Contact(SQLModel, table=True):
    """A phone that has written to the hotline: its language and opt-out; the number only encrypted."""

    id: int | None = Field(default=None, primary_key=True)
    phone_hash: str = Field(max_length=64, unique=True)
    phone_encrypted: str = Field(sa_type=sa.Text)
    language: str = Field(max_length=2)
    # Remembered so a family is asked its municipality only once.
    municipality_code: str | None = Field(default=None, max_length=32)
    # The language chosen on the phone line (issue #7): a caller chooses once, then hears the menu at once.
    voice_language: str | None = Field(default=None, max_length=2)
    opted_out_at: datetime | None = _ts(default=None, nullable=True)
    # Twilio's own block (its STOP words, OptOutType STOP, error 21610): it refuses every SMS to the phone until the
    # phone sends one of its opt-in words, whatever our records say (hotline/messaging/optout.py).
    twilio_blocked_at: datetime | None = _ts(default=None, nullable=True)
    # The channel (twilio, kannel, android) the phone last texted on: what the outbox sends it goes back that way.
    last_channel: str | None = Field(default=None, max_length=16)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class InboundMessage(SQLModel, table=True):
    """One SMS received on a channel, with the reply it got (returned again for an id the channel repeats)."""

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="twilio", max_length=16)
    # The transport's own id (Twilio's MessageSid, Kannel's message id, the Android app's id): unique per channel.
    message_sid: str = Field(max_length=64)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    # Set only when From was not a phone number (e.g. an operator's alphanumeric sender).
    unparsed_sender_encrypted: str | None = Field(default=None, sa_type=sa.Text)
    receiver_encrypted: str = Field(sa_type=sa.Text)
    body: str = Field(sa_type=sa.Text)
    received_at: datetime = _ts(default_factory=utcnow, index=True)
    language: str = Field(max_length=2)
    keyword: str | None = Field(default=None, max_length=32)
    # Set for messages that are part of a named complaint; anonymous ones are never linked and their body is blanked.
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    replies: list[str] = Field(default_factory=list, sa_type=sa.JSON)

    __table_args__ = (sa.UniqueConstraint("channel", "message_sid", name="uq_inboundmessage_channel_sid"),)


class Conversation(SQLModel, table=True):
    """A multi-step SMS dialogue in progress for one contact (at most one at a time)."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", unique=True)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    expires_at: datetime = _ts()
    updated_at: datetime = _ts(default_factory=utcnow)


class ComplaintStatus(StrEnum):
    """Where a complaint is in its life (officers move it on the admin page)."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    CLOSED = "closed"


class Jurisdiction(StrEnum):
    """Which officers handle a complaint; routing moves it up when the municipality itself is accused."""

    MUNICIPALITY = "municipality"
    DISTRICT = "district"
    OBLAST = "oblast"


class Role(StrEnum):
    """What a staff account may do on the admin page."""

    OFFICER = "officer"  # complaints in its area, minus those routed above its level
    SUPERVISOR = "supervisor"  # also reveals identities, reassigns, escalates, closes
    ADMIN = "admin"  # users, reference data, content; no complaint contents
    HEALTH = "health"  # health staff: danger-sign alerts of its area (with the number, to call back); no complaints
    CONTENT = "content"  # programme staff: edits rules and texts, approves another's figures (#21); no complaints


class StaffUser(SQLModel, table=True):
    """A complaint officer, supervisor or admin; the area is a municipality, district or oblast code."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=120)
    password_hash: str = Field(max_length=255)
    role: Role = Field(sa_type=sa.String(16))
    level: Jurisdiction = Field(default=Jurisdiction.OBLAST, sa_type=sa.String(16))
    area_code: str = Field(max_length=32)
    ui_language: str = Field(default="ru", max_length=2)
    active: bool = True
    # Bumped on password change or deactivation: every signed session cookie issued before stops working.
    session_version: int = 1
    created_at: datetime = _ts(default_factory=utcnow)
    last_login_at: datetime | None = _ts(default=None, nullable=True)
    # Someone else (an admin) chose the password: until the owner picks their own, only that page opens.
    must_change_password: bool = False
    # Who last chose this account's password for it (kept after the owner changes it: they may have logged in
    # first); that person's requests for power cannot be approved from this account.
    password_set_by_id: int | None = Field(default=None, foreign_key="staffuser.id")


class StaffSession(SQLModel, table=True):
    """A login on the server: the signed cookie names it, so logging out (here or everywhere) ends it for good."""

    id: int | None = Field(default=None, primary_key=True)
    # SHA-256 of the random id in the cookie: a copy of the database logs no one in.
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="staffuser.id", index=True)
    created_at: datetime = _ts(default_factory=utcnow)
    last_seen_at: datetime = _ts(default_factory=utcnow)
    ended_at: datetime | None = _ts(default=None, nullable=True)


class AccountRequest(SQLModel, table=True):
    """A change that would give an account the power to reveal numbers or to approve such changes (a new supervisor
    or admin, a role or area change, a reactivation, a password set for one), waiting for a second person's decision."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # create, change, reactivate, password
    status: str = Field(default="pending", max_length=16, index=True)  # pending, approved, refused, withdrawn
    requested_by_id: int = Field(foreign_key="staffuser.id")
    target_id: int | None = Field(default=None, foreign_key="staffuser.id")  # None until a new account exists
    username: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=120)
    role: Role = Field(sa_type=sa.String(16))
    level: Jurisdiction = Field(sa_type=sa.String(16))
    area_code: str = Field(max_length=32)
    ui_language: str = Field(default="ru", max_length=2)
    # A new account's password, or a supervisor's or admin's new one, hashed, as the requester chose it (the owner
    # must change it at the next login); emptied once the request is decided.
    password_hash: str = Field(default="", max_length=255)
    created_at: datetime = _ts(default_factory=utcnow)
    decided_by_id: int | None = Field(default=None, foreign_key="staffuser.id")
    decided_at: datetime | None = _ts(default=None, nullable=True)


class LoginFailure(SQLModel, table=True):
    """A failed login, keyed by a hash of the username or the client address (for throttling only)."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    at: datetime = _ts(default_factory=utcnow)

    __table_args__ = (sa.Index("ix_loginfailure_key_at", "key", "at"),)


class AuditEntry(SQLModel, table=True):
    """What a staff member did on the admin page: viewed, changed, answered, revealed, or was refused."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(default_factory=utcnow, index=True)
    user_id: int | None = Field(default=None, foreign_key="staffuser.id", index=True)
    action: str = Field(max_length=32, index=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class Notification(SQLModel, table=True):
    """A message to a staff member shown on the admin page (e.g. a complaint escalated to them)."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staffuser.id", index=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id")
    kind: str = Field(max_length=32)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = _ts(default_factory=utcnow)
    read_at: datetime | None = _ts(default=None, nullable=True)


class Actor(StrEnum):
    """Who caused a complaint event."""

    FAMILY = "family"
    SYSTEM = "system"
    OFFICER = "officer"


class Complaint(SQLModel, table=True):
    """A family's complaint; anonymous ones keep no link to any phone, not even a hash."""

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=16, unique=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    anonymous: bool = False
    pin_hash: str | None = Field(default=None, max_length=64)
    language: str = Field(max_length=2)
    text: str = Field(sa_type=sa.Text)
    category: str = Field(max_length=32, index=True)
    category_guessed: bool = True
    oblast_code: str = Field(max_length=32)
    district_code: str | None = Field(default=None, max_length=32)
    municipality_code: str | None = Field(default=None, max_length=32, index=True)
    jurisdiction: Jurisdiction = Field(default=Jurisdiction.MUNICIPALITY, sa_type=sa.String(16))
    routed_reason: str | None = Field(default=None, max_length=64)
    status: ComplaintStatus = Field(default=ComplaintStatus.NEW, sa_type=sa.String(16), index=True)
    created_at: datetime = _ts(default_factory=utcnow, index=True)
    updated_at: datetime = _ts(default_factory=utcnow)
    first_answer_due: datetime = _ts()
    resolution_due: datetime = _ts()
    # Admin page (issue #5): who works on it, when it was first answered and decided, and which deadlines
    # have already escalated it (each escalates once).
    assignee_id: int | None = Field(default=None, foreign_key="staffuser.id", index=True)
    first_answered_at: datetime | None = _ts(default=None, nullable=True)
    decided_at: datetime | None = _ts(default=None, nullable=True)
    escalated_first_answer: bool = False
    escalated_resolution: bool = False
    # The deadline that matters now: the first answer's until there is one, then the resolution's; None once
    # decided. Kept in a column so the queue sorts and finds overdue complaints on an index.
    due_at: datetime | None = _ts(default=None, nullable=True, index=True)
    # How it came: "sms" or "voice". A voice complaint is a recording kept at Twilio (officers play it through
    # the app); the text stays empty unless a family adds some by SMS.
    channel: str = Field(default="sms", max_length=8)
    recording_sid: str | None = Field(default=None, max_length=64)
    recording_url: str | None = Field(default=None, max_length=255)
    recording_seconds: int | None = None

    __table_args__ = (
        sa.Index("ix_complaint_municipality_due", "municipality_code", "due_at"),
        sa.Index("ix_complaint_district_due", "district_code", "due_at"),
        # The queue's per-status counts read these alone (no table pages), for each level of staff.
        sa.Index("ix_complaint_municipality_level_status", "municipality_code", "jurisdiction", "status"),
        sa.Index("ix_complaint_district_level_status", "district_code", "jurisdiction", "status"),
        sa.Index("ix_complaint_oblast_status", "oblast_code", "status"),
        sa.Index("ix_complaint_status_due", "status", "due_at"),
        # One complaint per recording, however often Twilio repeats its callbacks.
        sa.UniqueConstraint("recording_sid", name="uq_complaint_recording_sid"),
    )


class ComplaintEvent(SQLModel, table=True):
    """The audit trail: every change to a complaint is a row, never an edit without one."""

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    at: datetime = _ts(default_factory=utcnow)
    actor: Actor = Field(sa_type=sa.String(16))
    actor_id: int | None = None
    kind: str = Field(max_length=32)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class ComplaintAnswer(SQLModel, table=True):
    """An officers' answer to the family; shown on the next STATUS (and sent by SMS once the outbox exists)."""

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    text: str = Field(sa_type=sa.Text)
    created_at: datetime = _ts(default_factory=utcnow)
    officer_id: int | None = None


class ComplaintDraft(SQLModel, table=True):
    """A complaint a family started but has not finished (no municipality yet); kept until filed."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", unique=True)
    text: str = Field(sa_type=sa.Text)
    anonymous: bool = False
    message_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    updated_at: datetime = _ts(default_factory=utcnow)


class RateEvent(SQLModel, table=True):
    """One counted action for rate limits (a complaint filed, a wrong STATUS guess), keyed by a hash.

    Only the day is kept: exact times would let someone match an anonymous complaint to a phone."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=80)
    day: date = Field(index=True)

    __table_args__ = (sa.Index("ix_rateevent_kind_key_day", "kind", "key", "day"),)


class PrivateCounter(SQLModel, table=True):
    """A count for the limits of anonymous acts (anonymous complaints, PIN guesses): one row per keyed bucket and day,
    bumped in place. No serial id and no time, and keys that never match a phone's named rate events, so a dump can
    neither line the rows up with complaints nor tell which phone they count (docs/PRIVACY.md, threat model)."""

    __tablename__ = "private_counter"

    key: str = Field(max_length=64, primary_key=True)
    day: date = Field(index=True)
    count: int = 0


class PrivateTurn(SQLModel, table=True):
    """A message of an anonymous complaint, remembered only so that a transport's retry gets the same answer: the
    transport's id keyed (it names the phone at the operator), the day, and the replies sealed with a key made from
    the raw id. No serial id: an anonymous turn leaves no row in the sequence of a phone's messages (InboundMessage)."""

    __tablename__ = "private_turn"

    key: str = Field(max_length=64, primary_key=True)
    day: date = Field(index=True)
    language: str = Field(max_length=2)
    keyword: str | None = Field(default=None, max_length=32)
    replies: list[str] = Field(default_factory=list, sa_type=sa.JSON)


class Purpose(StrEnum):
    """Why a message goes out; decides its priority and whether quiet hours apply."""

    REPLY = "reply"
    ALERT = "alert"
    COMPLAINT_UPDATE = "complaint_update"
    REMINDER = "reminder"
    STOP_CONFIRMATION = "stop_confirmation"
    CALLBACK = "callback"  # a call back to a family that gave a missed call (voice line)
    # The answer to a message of an anonymous complaint, sent through the outbox (the Android gateway, a Kannel
    # turn with several texts): no contact on the row, and its text and number are removed once it is sent.
    PRIVATE_REPLY = "private_reply"
    POLL = "poll"  # an invitation to a poll or survey (#22): last in line, never at night


class Channel(StrEnum):
    """How an outbound item reaches the family."""

    SMS = "sms"
    CALL = "call"


class OutboundStatus(StrEnum):
    """Where an outbound message is; the order of the delivery statuses never goes backwards."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class OutboundMessage(SQLModel, table=True):
    """The outbox: one SMS to send, with everything needed to send it once, in time, within limits."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=160, unique=True)
    purpose: Purpose = Field(sa_type=sa.String(24))
    channel: Channel = Field(default=Channel.SMS, sa_type=sa.String(8))
    # Which configured channel sends it (twilio, kannel, android): each has its own sender, rate and reports.
    transport: str = Field(default="twilio", max_length=16)
    priority: int = Field(index=True)  # lower goes first: answers before reminders
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    recipient_encrypted: str = Field(sa_type=sa.Text)
    language: str = Field(max_length=2)
    body: str = Field(sa_type=sa.Text)
    segments: int
    encoding: str = Field(max_length=8)
    not_before: datetime = _ts(default_factory=utcnow)
    expires_at: datetime | None = _ts(default=None, nullable=True)
    status: OutboundStatus = Field(default=OutboundStatus.PENDING, sa_type=sa.String(16))
    attempts: int = 0
    next_attempt_at: datetime = _ts(default_factory=utcnow)
    lease_until: datetime | None = _ts(default=None, nullable=True)
    # Set when a dispatcher claims the message; a dispatcher only sends what it still holds the claim for.
    claim_token: str | None = Field(default=None, max_length=32)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    last_error_code: str | None = Field(default=None, max_length=16)
    last_error: str | None = Field(default=None, max_length=255)
    created_at: datetime = _ts(default_factory=utcnow)
    sent_at: datetime | None = _ts(default=None, nullable=True)
    updated_at: datetime = _ts(default_factory=utcnow)

    __table_args__ = (
        sa.Index("ix_outboundmessage_due", "status", "priority", "next_attempt_at"),
        sa.Index("ix_outboundmessage_lease", "status", "lease_until"),
        sa.Index("ix_outboundmessage_expiry", "status", "expires_at"),
    )


class DeliveryReport(SQLModel, table=True):
    """A delivery report that could not be applied when it came (its send not yet recorded, or an id we do not know):
    kept, applied when the dispatcher records the send, and removed once applied. A report is never lost."""

    id: int | None = Field(default=None, primary_key=True)
    transport: str = Field(max_length=16)
    # The channel's id for the message: Twilio's SID, or for Kannel and Android our own outbox id they carry back.
    reference: str = Field(max_length=64)
    status: str = Field(max_length=16)  # mapped to OutboundStatus values
    error_code: str | None = Field(default=None, max_length=16)
    received_at: datetime = _ts(default_factory=utcnow)

    __table_args__ = (sa.Index("ix_deliveryreport_reference", "transport", "reference"),)


class SenderClock(SQLModel, table=True):
    """The rate limit shared by every dispatcher: the earliest time the sender may start its next segment."""

    sender: str = Field(max_length=64, primary_key=True)
    next_free: float = 0.0  # Unix time; each send pushes it on by segments / rate


class EnrolmentKind(StrEnum):
    """What a household is enrolled for."""

    PREGNANCY = "pregnancy"
    CHILD = "child"


class EnrolmentStatus(StrEnum):
    """Where an enrolment is; only active ones get reminders."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    LOSS = "loss"


class Household(SQLModel, table=True):
    """A family enrolled for reminders: its phone (the contact, encrypted), when to write, and its consent."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", unique=True)
    municipality_code: str | None = Field(default=None, max_length=32)
    send_hour: int = 10  # local hour the family prefers; quiet hours still apply
    consent_at: datetime = _ts()
    consent_channel: str = Field(max_length=16)  # sms, staff or import
    created_at: datetime = _ts(default_factory=utcnow)


class Enrolment(SQLModel, table=True):
    """One pregnancy (by its due date) or one child (by birth date) of a household."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    kind: EnrolmentKind = Field(sa_type=sa.String(16))
    due_date: date | None = None
    birth_date: date | None = None
    status: EnrolmentStatus = Field(default=EnrolmentStatus.ACTIVE, sa_type=sa.String(16))
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)

    __table_args__ = (
        sa.Index("ix_enrolment_due", "kind", "status", "due_date"),
        sa.Index("ix_enrolment_birth", "kind", "status", "birth_date"),
    )


class ReminderPlanned(SQLModel, table=True):
    """A scheduled message decided for an enrolment: sent (in the week's SMS) or skipped; never decided twice."""

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="enrolment.id")
    code: str = Field(max_length=32)
    day: date
    outbound_key: str | None = Field(default=None, max_length=160)  # None: skipped (one reminder a week at most)

    __table_args__ = (sa.UniqueConstraint("enrolment_id", "code", name="uq_reminderplanned_enrolment_code"),)


class HealthAlert(SQLModel, table=True):
    """A family texted DANGER or a danger sign: it was told to go to a facility now; health staff follow up."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="inboundmessage.id")  # the day's first
    # Every danger message of the phone that local day, in order (one alert a day per phone: #19).
    message_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    # The village, else the rayon (the village is to be asked), else None: the oblast's health staff ask both.
    municipality_code: str | None = Field(default=None, max_length=32, index=True)
    created_at: datetime = _ts(default_factory=utcnow, index=True)
    handled_at: datetime | None = _ts(default=None, nullable=True)
    handled_by: int | None = Field(default=None, foreign_key="staffuser.id")


class Volunteer(SQLModel, table=True):
    """A village health volunteer who gets an SMS when a family of the municipality texts a danger sign."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", unique=True)  # the volunteer's number, encrypted there
    municipality_code: str = Field(max_length=32, index=True)
    name: str = Field(max_length=120)
    active: bool = True
    created_at: datetime = _ts(default_factory=utcnow)


class CallDirection(StrEnum):
    """How a call on the voice line went (VoiceCall.direction; /metrics reports each, zero or not)."""

    INBOUND = "inbound"  # a family called and the menu served it
    ANSWERED = "answered"  # a family called, no callback was possible, so the menu served it
    REJECTED = "rejected"  # a missed call, rejected so it costs nothing; a callback follows
    CALLBACK = "callback"  # our call back, answered


class VoiceCall(SQLModel, table=True):
    """One call on the voice line, for the dashboard: never the number (an anonymous complaint may be in it)."""

    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=64, unique=True)
    direction: CallDirection = Field(sa_type=sa.String(16))
    language: str | None = Field(default=None, max_length=2)
    # The choices made, in order: "main:1", "benefits:2", "complaint:anonymous", ... (a replayed request adds none).
    menu_path: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    status: str | None = Field(default=None, max_length=16)
    duration_seconds: int | None = None
    started_at: datetime = _ts(default_factory=utcnow, index=True)
    updated_at: datetime = _ts(default_factory=utcnow)


class RecordingDeletion(SQLModel, table=True):
    """A recording to delete at Twilio (a hang-up at the beep, or a complaint past its text period). Written in the
    transaction that lets go of the recording and removed once Twilio confirms, so the caller's voice never stays in
    the Twilio account because one attempt failed, and the table holds only what still waits. Only the SID: it
    names no one."""

    __tablename__ = "recording_deletion"

    id: int | None = Field(default=None, primary_key=True)
    recording_sid: str = Field(max_length=64, unique=True)
    reason: str = Field(max_length=16)  # "too short" or "retention"
    created_at: datetime = _ts(default_factory=utcnow)
    due_at: datetime = _ts(default_factory=utcnow, index=True)
    attempts: int = 0
    last_error: str = Field(default="", max_length=255)


# ---- Polls, radio quizzes and awareness surveys (#22) -----------------------------------------------------------


class PollStatus(StrEnum):
    """Where a poll is: staff edit a draft, start it once (answers and invitations open), and close it."""

    DRAFT = "draft"
    STARTED = "started"
    CLOSED = "closed"


class Poll(SQLModel, table=True):
    """A poll, radio quiz or awareness survey: who may answer (by keyword, or an invited audience) and when."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    # The word a radio quiz announces (anyone who texts it answers); None for an invited audience only.
    keyword: str | None = Field(default=None, max_length=32)
    # Its skeleton (hotline/lexicon.py): one word in any script, unique among polls.
    keyword_key: str | None = Field(default=None, max_length=64, unique=True)
    status: PollStatus = Field(default=PollStatus.DRAFT, sa_type=sa.String(16), index=True)
    starts_at: datetime = _ts()
    ends_at: datetime = _ts()
    # Who is invited through the outbox: "" (nobody: keyword only), "households" (enrolled) or "phones" (every phone
    # that has texted and not said STOP); narrowed by an area code and languages (empty: all).
    audience: str = Field(default="", max_length=16)
    area_code: str | None = Field(default=None, max_length=32)
    languages: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Which answer counts when a phone answers a question again: "latest" or "first".
    keep: str = Field(default="latest", max_length=8)
    # An end-line poll names its baseline: their results are compared question by question.
    baseline_id: int | None = Field(default=None, foreign_key="poll.id")
    created_by_id: int | None = Field(default=None, foreign_key="staffuser.id")
    created_at: datetime = _ts(default_factory=utcnow)
    started_at: datetime | None = _ts(default=None, nullable=True)


class PollQuestion(SQLModel, table=True):
    """One question of a poll in four languages: choices (with synonyms in any script) or an open answer."""

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    position: int
    kind: str = Field(max_length=8)  # "choice" or "open"
    texts: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)  # language -> question
    # [{"labels": {language: label}, "synonyms": [word, ...]}, ...]: choice n is answered by n, a label or a synonym.
    choices: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    correct: int | None = None  # a quiz: the right choice's number (1-based)
    feedback: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)  # language -> what a quiz explains

    __table_args__ = (sa.UniqueConstraint("poll_id", "position", name="uq_pollquestion_poll_position"),)


class PollInvitation(SQLModel, table=True):
    """A phone invited to a poll (the invitation is in the outbox under outbound_key): never twice per poll. Its
    replies answer the poll's questions until it is done (all answered, or gave up)."""

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="poll.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    outbound_key: str = Field(max_length=160)
    misses: int = 0  # answers not understood in a row
    created_at: datetime = _ts(default_factory=utcnow)
    done_at: datetime | None = _ts(default=None, nullable=True)

    __table_args__ = (sa.UniqueConstraint("poll_id", "contact_id", name="uq_pollinvitation_poll_contact"),)


class PollAnswer(SQLModel, table=True):
    """One phone's answer to one question: linked to the phone only through the contact (its number encrypted); the
    place and language are copied so results need no join, and the text is blanked like a message's body."""

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    question_id: int = Field(foreign_key="pollquestion.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    choice: int | None = None  # the choice's number; None for an open answer
    text: str = Field(default="", sa_type=sa.Text)
    correct: bool | None = None
    language: str = Field(max_length=2)
    municipality_code: str | None = Field(default=None, max_length=32)
    invited: bool = False
    answered_at: datetime = _ts(default_factory=utcnow, index=True)

    __table_args__ = (sa.UniqueConstraint("question_id", "contact_id", name="uq_pollanswer_question_contact"),)


# ---- Content edited by staff, versioned; translation review (#21 points 1-2) ------------------------------------


class RevisionKind(StrEnum):
    TEXT = "text"  # a family-facing template in one language (SMS or voice)
    PROGRAMME = "programme"  # a programme's figures and rules (one version of hotline/benefits/programmes.toml)


class RevisionStatus(StrEnum):
    PENDING = "pending"  # a figure changed: waits for a second person's approval
    APPROVED = "approved"  # in force from effective_from (over the files shipped in the package)
    REFUSED = "refused"


class ContentRevision(SQLModel, table=True):
    """A staff member's new version of a text or of a programme's rules: the files in the package are the seed, the
    approved revisions lie over them, each in force from its day."""

    id: int | None = Field(default=None, primary_key=True)
    kind: RevisionKind = Field(sa_type=sa.String(16))
    subject: str = Field(max_length=120)  # a template's name ("benefits/list") or a programme's id
    language: str | None = Field(default=None, max_length=2)  # a text's language; None for a programme
    body: str = Field(sa_type=sa.Text)  # the template's source, or the programme version's fields as JSON
    effective_from: date
    source: str = Field(max_length=500)  # where the rule or figure was published, or why the text changed
    note: str = Field(default="", max_length=500)
    figures_changed: bool = False
    status: RevisionStatus = Field(sa_type=sa.String(16), index=True)
    author_id: int | None = Field(default=None, foreign_key="staffuser.id")  # None: `hotline content import`
    created_at: datetime = _ts(default_factory=utcnow)
    decided_by_id: int | None = Field(default=None, foreign_key="staffuser.id")
    decided_at: datetime | None = _ts(default=None, nullable=True)
    reviewed_by: str | None = Field(default=None, max_length=120)  # the native speaker who reviewed the text

    __table_args__ = (sa.Index("ix_contentrevision_subject", "kind", "subject", "language"),)


# ---- Grievance reports and closing the loop (#21 points 3-5) -----------------------------------------------------


class ComplaintOutcome(SQLModel, table=True):
    """How the family of a decided complaint learnt the outcome, and its rating of the handling (1 good, 2 so-so,
    3 bad), for the grievance report (docs/REPORTS.md). One row per complaint and no serial id; it names no phone,
    and on an anonymous complaint (written by a STATUS with the PIN) its times are days, as every time of an
    anonymous turn, so nothing lines it up with the phone that asked (docs/PRIVACY.md)."""

    __tablename__ = "complaint_outcome"

    complaint_id: int = Field(foreign_key="complaint.id", primary_key=True)
    # The outbox key of the outcome SMS to a named family; None when none was queued (anonymous, no phone left).
    outbound_key: str | None = Field(default=None, max_length=160)
    # The first STATUS after the decision: the family then read the outcome (the only way an anonymous one can).
    status_seen_at: datetime | None = _ts(default=None, nullable=True)
    rating: int | None = None
    rated_at: datetime | None = _ts(default=None, nullable=True)
