"""A family with a bit of everything the hotline can hold about a phone, made through the real SMS service."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import Session, select

from hotline.complaints import service as complaints
from hotline.context import Context
from hotline.dialogue.contacts import find_contact
from hotline.messaging import outbox
from hotline.models import Complaint, Contact, OutboundMessage, OutboundStatus, Purpose
from hotline.reminders.importer import register_volunteer
from tests.factories import PHONE, converse

VOLUNTEER = "+996700111222"


def reference_in(reply: str) -> str:
    """The 8-digit complaint reference an acknowledgement names."""
    found = re.search(r"\b(\d{8})\b", reply)
    assert found, reply
    return found.group(1)


def contact_of(session: Session, ctx: Context, phone: str = PHONE) -> Contact | None:
    """The phone's contact, as the hotline finds it."""
    session.expire_all()
    return find_contact(session, ctx, phone)


def family(session: Session, ctx: Context, when: datetime, phone: str = PHONE) -> Complaint:
    """Enrolled for reminders, one named complaint filed by SMS, one danger sign forwarded to a volunteer, one
    reminder waiting in the outbox. Returns the complaint."""
    for body in ("ПОДПИСКА", "1", "5 месяц", "да", "1", "1"):  # the rayon and village JOIN asks: Dara
        converse(session, ctx, body, phone, when)
    reference = reference_in(converse(session, ctx, "ЖАЛОБА аким просил 2000 сом за справку", phone, when)[0])
    if find_contact(session, ctx, VOLUNTEER) is None:
        register_volunteer(session, ctx, VOLUNTEER, "dara", "Айгуль", when)
        session.commit()
    converse(session, ctx, "у ребенка судороги", phone, when + timedelta(hours=1))
    contact = find_contact(session, ctx, phone)
    assert contact is not None
    outbox.enqueue(
        session,
        ctx,
        contact=contact,
        text="Апта 21: кош бойлуулуктагы коркунучтуу белгилер",
        purpose=Purpose.REMINDER,
        key=f"reminder:test:{contact.id}",
        not_before=when + timedelta(days=1),
        now=when,
    )
    session.commit()
    complaint = complaints.by_reference(session, reference)
    assert complaint is not None and complaint.contact_id == contact.id
    return complaint


def deliver_everything(session: Session) -> None:
    """As if the dispatcher had sent every waiting message and Twilio had confirmed it."""
    for message in session.exec(select(OutboundMessage).where(OutboundMessage.status == OutboundStatus.PENDING)):
        message.status = OutboundStatus.DELIVERED
        session.add(message)
    session.commit()
