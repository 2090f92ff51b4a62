"""Who wrote: a phone's contact, found by its keyed hash and created (encrypted) on first contact."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.dialogue.private import coarse_time
from hotline.models import (
    Complaint,
    ComplaintDraft,
    Contact,
    Conversation,
    HealthAlert,
    Household,
    InboundMessage,
    OutboundMessage,
    PollAnswer,
    PollInvitation,
    Volunteer,
)

_BY_HASH = select(Contact).where(col(Contact.phone_hash) == sa.bindparam("phone_hash"))  # built once


def find_contact(session: Session, ctx: Context, phone: str) -> Contact | None:
    """The contact of an E.164 number, found by its keyed hash."""
    return session.exec(_BY_HASH, params={"phone_hash": ctx.vault.lookup_hash(phone)}).first()


def get_or_create_contact(session: Session, ctx: Context, phone: str, now: datetime) -> Contact:
    """The contact of a number, created (encrypted, default language) on first contact."""
    contact = find_contact(session, ctx, phone)
    if contact is None:
        contact = Contact(
            phone_hash=ctx.vault.lookup_hash(phone),
            phone_encrypted=ctx.vault.encrypt(phone),
            language=ctx.settings.default_language,
            # To the day, for every contact: an exact time would match the first message of a new phone, and a day
            # only on contacts made in anonymous turns would mark them.
            created_at=coarse_time(ctx, now),
            updated_at=coarse_time(ctx, now),
        )
        session.add(contact)
        session.flush()
    return contact


# Every table whose rows name a contact: a contact with a row in none of them has nothing but its number.
_NAMED_BY = (
    InboundMessage,
    Conversation,
    ComplaintDraft,
    Complaint,
    Household,
    Volunteer,
    HealthAlert,
    OutboundMessage,
    PollAnswer,
    PollInvitation,
)


def forget_if_unused(session: Session, contact: Contact, *, keep_choices: bool = True) -> bool:
    """Delete a contact that nothing names and that holds no choice (a STOP): what is left of a new phone that only
    made an anonymous complaint. Keeping it would keep its number, and its place in the contacts' sequence next to
    the complaint."""
    if contact.opted_out_at is not None or (keep_choices and contact.voice_language is not None):
        return False
    for table in _NAMED_BY:
        column = table.contact_id
        if session.exec(select(col(column)).where(column == contact.id).limit(1)).first() is not None:
            return False
    session.delete(contact)
    return True
