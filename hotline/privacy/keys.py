"""Key rotation: every stored number re-encrypted with the newest key and its look-up hash recomputed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from hotline.context import Context
from hotline.models import Contact, InboundMessage, OutboundMessage


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
