"""What the simulator's thread shows besides the live replies: a phone's history (so messages that came while the
page was closed are not missed) and why a message got no reply."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.dialogue.contacts import find_contact
from hotline.models import Contact, InboundMessage, OutboundMessage
from hotline.phones import InvalidPhone, normalise_phone
from hotline.segments import count_segments

HISTORY = 100  # the newest items of a phone's thread the page opens with


def outbox_item(message: OutboundMessage) -> dict[str, Any]:
    """One outbox message as the page shows it (pushed: it came later, not in the answer to a message)."""
    return {
        "id": message.id,
        "text": message.body,
        "status": str(message.status),
        "purpose": str(message.purpose),
        "segments": message.segments,
        "encoding": message.encoding,
        "channel": message.transport,
    }


def outbox_of(session: Session, contact: Contact, limit: int = HISTORY) -> list[OutboundMessage]:
    """The newest outbox messages to a phone, oldest first."""
    rows = session.exec(
        select(OutboundMessage)
        .where(OutboundMessage.contact_id == contact.id)
        .order_by(col(OutboundMessage.created_at).desc(), col(OutboundMessage.id).desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def phone_history(session: Session, ctx: Context, sender: str) -> list[dict[str, Any]]:
    """The phone's thread, oldest first: what it sent, the answers that came back at once, and what the outbox sent
    it later. An answer that went through the outbox (the Android gateway, a Kannel turn's further texts) is shown
    once, as the outbox message. The turns of an anonymous complaint are not stored beside the phone: not shown."""
    try:
        contact = find_contact(session, ctx, normalise_phone(sender))
    except InvalidPhone:
        return []
    if contact is None:
        return []
    pushed = outbox_of(session, contact)
    keys = {message.idempotency_key for message in pushed}
    inbound = session.exec(
        select(InboundMessage)
        .where(InboundMessage.contact_id == contact.id)
        .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
        .limit(HISTORY)
    ).all()
    timeline: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for message in inbound:
        at, order = message.received_at, message.id or 0
        timeline.append((at, order, 0, {"from_phone": True, "text": message.body, "channel": message.channel}))
        for number, text in enumerate(message.replies, start=1):
            if f"reply:{message.channel}:{message.message_sid}:{number}" in keys:
                continue  # sent through the outbox: shown below
            count = count_segments(text)
            item = {"text": text, "channel": message.channel, "segments": count.segments, "encoding": count.encoding}
            timeline.append((at, order, number, item))
    for queued in pushed:
        # After the message it answers (queued at the same time), else in time order.
        timeline.append((queued.created_at, 1 << 62, queued.id or 0, {"outbox": True, **outbox_item(queued)}))
    timeline.sort(key=lambda entry: entry[:3])
    return [item for *_, item in timeline[-HISTORY:]]


def why_no_reply(session: Session, ctx: Context, sender: str, channel: str) -> str:
    """Why a message the simulator sent got no answer in the response, as field staff need to know it."""
    try:
        contact = find_contact(session, ctx, normalise_phone(sender))
    except InvalidPhone:
        return "No reply: the sender is not a phone number (an operator's name is stored, never answered)."
    if contact is not None and contact.opted_out_at is not None:
        return (
            "No reply: this phone sent STOP, so nothing more is written to it (its messages are still stored). "
            "Send START (СТАРТ, БАШТА, БОШЛАШ) to start again."
        )
    if channel == "android":
        return "Replies come through the outbox, as the Android app sends them."
    return (
        "No reply: this phone's last messages look like a reply loop (the same text again and again), so its "
        "answers wait until they are older than HOTLINE_LOOP_WINDOW_MINUTES."
    )
