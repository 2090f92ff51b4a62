"""One message from a family as every channel hands it to the conversation engine, whatever its transport."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Inbound:
    """An inbound SMS: the channel it came in on, that transport's message id (the dedup key within the channel),
    who sent it, to which of our numbers, the text and when it arrived."""

    channel: str
    message_id: str
    sender: str
    receiver: str
    body: str
    received_at: datetime
    # What the transport itself did to the phone on seeing this message: "STOP" or "START" when Twilio's own
    # opt-out acted (hotline.messaging.optout.twilio_action); None elsewhere.
    carrier_action: str | None = None


@dataclass(frozen=True)
class Handled:
    """What a channel needs to send the answer: its texts and language, the keyword, the contact (None for a
    sender that is not a phone) and whether the turn was part of an anonymous complaint (then nothing sent later
    may name the contact)."""

    replies: list[str]
    language: str
    keyword: str | None = None
    contact_id: int | None = None
    private: bool = False
