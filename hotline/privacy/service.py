"""Privacy on request: a family's data erased (everything that names or leads to its phone; complaints stay,
unlinked), and every stored number re-encrypted when the keys rotate."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, literal, or_, update
from sqlmodel import Session, SQLModel, col, select

from hotline.complaints.service import complaint_rate_key
from hotline.context import Context
from hotline.dialogue.contacts import find_contact
from hotline.models import (
    Complaint,
    ComplaintDraft,
    Contact,
    Conversation,
    Enrolment,
    HealthAlert,
    Household,
    InboundMessage,
    OutboundMessage,
    OutboundStatus,
    PollAnswer,
    PollInvitation,
    RateEvent,
    ReminderPlanned,
    Volunteer,
)
from hotline.phones import mask_phone
from hotline.privacy.jobs import add_events, detach_complaints
from hotline.staff.audit import audit


@dataclass
class FamilyData:
    """What the hotline holds about one phone: rows counted before an erasure, or removed by it."""

    messages_received: int = 0
    messages_sent: int = 0
    messages_waiting: int = 0  # in the outbox, not sent yet: cancelled by the erasure
    complaints: int = 0  # named complaints: kept for the officers, without the link to the phone
    households: int = 0
    enrolments: int = 0
    reminders_planned: int = 0
    health_alerts: int = 0
    volunteer: int = 0
    dialogues: int = 0  # a dialogue in progress and an unfinished complaint draft
    rate_events: int = 0

    def lines(self) -> list[str]:
        """One line per kind of data the phone has, for the operator."""
        return [f"{count:>7}  {LABELS[name]}" for name, count in asdict(self).items() if count]


LABELS = {
    "messages_received": "SMS received (text, replies and link to the phone removed)",
    "messages_sent": "messages sent (text, number and link removed)",
    "messages_waiting": "messages waiting in the outbox (cancelled)",
    "complaints": "named complaints (kept with their text, no longer linked to the phone)",
    "households": "household enrolled for reminders",
    "enrolments": "pregnancies and children enrolled",
    "reminders_planned": "reminders planned",
    "health_alerts": "danger-sign alerts",
    "volunteer": "health-volunteer registration",
    "dialogues": "dialogues or unfinished complaint drafts",
    "rate_events": "rate-limit counters of today",
}


def _count(session: Session, model: type[SQLModel], *conditions: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*conditions)).one())


def _rate_keys(ctx: Context, contact: Contact) -> list[str]:
    # Every key a named daily limit counts this phone under: its hash (status look-ups) and the keyed one. The
    # private counters (callbacks, anonymous acts) carry no row id and are dropped with their day by retention.
    return [contact.phone_hash, complaint_rate_key(ctx, contact)]


def _enrolment_ids(session: Session, contact_id: int) -> list[int]:
    query = select(Enrolment.id).join(Household, col(Household.id) == col(Enrolment.household_id))
    return [i for i in session.exec(query.where(Household.contact_id == contact_id)) if i is not None]


def family_data(session: Session, ctx: Context, contact: Contact) -> FamilyData:
    """Count what an erasure of this contact would remove (the operator sees it before confirming)."""
    cid = contact.id
    waiting = col(OutboundMessage.status).in_([OutboundStatus.PENDING, OutboundStatus.SENDING])
    enrolments = _enrolment_ids(session, cid or 0)
    return FamilyData(
        messages_received=_count(session, InboundMessage, InboundMessage.contact_id == cid),
        messages_sent=_count(session, OutboundMessage, OutboundMessage.contact_id == cid, ~waiting),
        messages_waiting=_count(session, OutboundMessage, OutboundMessage.contact_id == cid, waiting),
        complaints=_count(session, Complaint, Complaint.contact_id == cid),
        households=_count(session, Household, Household.contact_id == cid),
        enrolments=len(enrolments),
        reminders_planned=_count(session, ReminderPlanned, col(ReminderPlanned.enrolment_id).in_(enrolments)),
        health_alerts=_count(session, HealthAlert, HealthAlert.contact_id == cid),
        volunteer=_count(session, Volunteer, Volunteer.contact_id == cid),
        dialogues=_count(session, Conversation, Conversation.contact_id == cid)
        + _count(session, ComplaintDraft, ComplaintDraft.contact_id == cid),
        rate_events=_count(session, RateEvent, col(RateEvent.key).in_(_rate_keys(ctx, contact))),
    )


def find_family(session: Session, ctx: Context, phone: str) -> Contact | None:
    """The contact of an E.164 number, locked against a concurrent SMS changing it during the erasure."""
    contact = find_contact(session, ctx, phone)
    if contact is not None:
        session.refresh(contact, with_for_update=True)
    return contact


def erase_family(
    session: Session, ctx: Context, contact: Contact, now: datetime, *, operator: str, reason: str
) -> FamilyData:
    """Remove the contact and everything that names or leads to its phone, in the caller's one transaction.

    SMS in and out stay as rows without body, number or link (counts and delivery statistics still add up);
    named complaints stay, with their text, unlinked. The audit entry has the masked number and the counts, never
    the number nor which complaints were the family's."""
    assert contact.id is not None
    cid = contact.id
    masked = mask_phone(ctx.vault.decrypt(contact.phone_encrypted))
    removed = family_data(session, ctx, contact)
    enrolments = _enrolment_ids(session, cid)
    # Its complaints are locked before any message, in the order the retention job takes them: never a deadlock.
    query = select(Complaint.id).where(Complaint.contact_id == cid).order_by(col(Complaint.id))
    complaint_ids = [i for i in session.exec(query.with_for_update()) if i is not None]

    # The family's outbox, and the alerts to volunteers about its danger signs (their text holds its number).
    alert_ids = [i for i in session.exec(select(HealthAlert.id).where(HealthAlert.contact_id == cid)) if i]
    ours = or_(
        col(OutboundMessage.contact_id) == cid,
        *(col(OutboundMessage.idempotency_key).startswith(f"health-alert:{i}:") for i in alert_ids),
    )
    pending = col(OutboundMessage.status) == OutboundStatus.PENDING
    session.execute(
        update(OutboundMessage)
        .where(ours, pending)  # the STOP confirmation and a callback too: the family asked to be forgotten
        .values(status=OutboundStatus.CANCELLED, last_error="recipient erased", updated_at=now)
    )
    # Keys name the household, enrolment, alert or complaint. SQLite may give a deleted row's id to the next new
    # one, whose messages would then find these keys taken and never go: each key becomes the row's own.
    erased_key = literal("erased:") + cast(col(OutboundMessage.id), String)
    session.execute(update(OutboundMessage).where(ours).values(body="", idempotency_key=erased_key, updated_at=now))
    session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.contact_id) == cid)
        .values(contact_id=None, recipient_encrypted="", updated_at=now)
    )
    if complaint_ids:
        detach_complaints(session, complaint_ids)
        add_events(session, complaint_ids, "identity_removed", now)
    # Health alerts point at the family's SMS: they go before the messages are unlinked from the contact.
    session.execute(delete(HealthAlert).where(col(HealthAlert.contact_id) == cid))
    session.execute(
        update(InboundMessage)
        .where(col(InboundMessage.contact_id) == cid)
        .values(contact_id=None, complaint_id=None, body="", replies=[], unparsed_sender_encrypted=None)
    )
    if enrolments:
        session.execute(delete(ReminderPlanned).where(col(ReminderPlanned.enrolment_id).in_(enrolments)))
        session.execute(delete(Enrolment).where(col(Enrolment.id).in_(enrolments)))
    for model in (Household, Volunteer, Conversation, ComplaintDraft):
        session.execute(delete(model).where(col(model.contact_id) == cid))
    session.execute(delete(RateEvent).where(col(RateEvent.key).in_(_rate_keys(ctx, contact))))
    # Poll answers stay counted in results, with no link to the phone and no words (#22).
    session.execute(update(PollAnswer).where(col(PollAnswer.contact_id) == cid).values(contact_id=None, text=""))
    session.execute(update(PollInvitation).where(col(PollInvitation.contact_id) == cid).values(contact_id=None))
    session.execute(delete(Contact).where(col(Contact.id) == cid))
    session.expunge(contact)
    # The operator may not be a staff account (the CLI): who ran it and why go in the details.
    # Flat, non-zero counts: the audit page and its CSV show the details as "key: value" pairs.
    counts = {name: count for name, count in asdict(removed).items() if count}
    audit(session, None, "erase", now, phone=masked, operator=operator, reason=reason, **counts)
    return removed


@dataclass(frozen=True)
class Rotated:
    """How many rows were re-encrypted."""

    contacts: int
    messages: int
    outbound: int


def rotate_keys(session: Session, ctx: Context) -> Rotated:
    """Re-encrypt every stored number with the newest key and recompute look-up hashes with the current key."""
    contacts = messages = outbound = 0
    for contact in session.exec(select(Contact)):
        phone = ctx.vault.decrypt(contact.phone_encrypted)
        contact.phone_encrypted = ctx.vault.rotate(contact.phone_encrypted)
        contact.phone_hash = ctx.vault.lookup_hash(phone)
        session.add(contact)
        contacts += 1
    for message in session.exec(select(InboundMessage)):
        message.receiver_encrypted = ctx.vault.rotate(message.receiver_encrypted)
        if message.unparsed_sender_encrypted:
            message.unparsed_sender_encrypted = ctx.vault.rotate(message.unparsed_sender_encrypted)
        session.add(message)
        messages += 1
    # Queued messages carry their own copy of the number: rotate them too, or a message waiting at the time of
    # rotation could not be sent once the old key is retired.
    for queued in session.exec(select(OutboundMessage).where(OutboundMessage.recipient_encrypted != "")):
        queued.recipient_encrypted = ctx.vault.rotate(queued.recipient_encrypted)
        session.add(queued)
        outbound += 1
    return Rotated(contacts, messages, outbound)
