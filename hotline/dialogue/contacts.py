"""Who wrote: a phone's contact, found by its keyed hash and created (encrypted) on first contact."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from hotline.context import Context
from hotline.models import Contact


def find_contact(session: Session, ctx: Context, phone: str) -> Contact | None:
    """The contact of an E.164 number, found by its keyed hash."""
    return session.exec(select(Contact).where(Contact.phone_hash == ctx.vault.lookup_hash(phone))).first()


def get_or_create_contact(session: Session, ctx: Context, phone: str, now: datetime) -> Contact:
    """The contact of a number, created (encrypted, default language) on first contact."""
    contact = find_contact(session, ctx, phone)
    if contact is None:
        contact = Contact(
            phone_hash=ctx.vault.lookup_hash(phone),
            phone_encrypted=ctx.vault.encrypt(phone),
            language=ctx.settings.default_language,
            created_at=now,
            updated_at=now,
        )
        session.add(contact)
        session.flush()
    return contact
