"""One opt-out rule for a phone, wherever the opt-out comes from (docs/MESSAGING.md#opt-out).

Two facts are kept per contact: `opted_out_at`, the family's choice in our records (our STOP words in four
languages, and every opt-out Twilio tells us of), and `twilio_blocked_at`, Twilio's own block, which refuses every
SMS to the phone (error 21610) until the phone sends one of Twilio's opt-in words, whatever our records say.
Twilio's words act only on the Twilio channel: Kannel and the Android gateway have no carrier-level block."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from hotline.models import Contact

TWILIO = "twilio"
# Twilio's default words on long codes (twilio.com/docs/messaging/tutorials/advanced-opt-out; help.twilio.com
# article 223134027 "Twilio support for opt-out keywords"): it acts only when the whole body is the word, in any case.
TWILIO_OPT_OUT = frozenset({"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"})
TWILIO_OPT_IN = frozenset({"START", "YES", "UNSTOP"})
OPTED_OUT_ERROR = "21610"  # Twilio: the phone replied STOP, the message was refused


class CarrierAction(StrEnum):
    """What Twilio did to a phone on seeing its message."""

    STOP = "STOP"
    START = "START"


def twilio_action(body: str, opt_out_type: str | None) -> CarrierAction | None:
    """What Twilio did with an inbound SMS: OptOutType when Twilio sent it (a Messaging Service with Advanced
    Opt-Out, whose words may differ from the defaults; HELP changes nothing), else its default words, matched as
    Twilio matches them: the whole body, trimmed, in any case ("STOP please" is not one)."""
    if opt_out_type:
        kind = opt_out_type.strip().upper()
        return CarrierAction(kind) if kind in CarrierAction.__members__ else None
    word = body.strip().upper()
    if word in TWILIO_OPT_OUT:
        return CarrierAction.STOP
    if word in TWILIO_OPT_IN:
        return CarrierAction.START
    return None


def silenced(contact: Contact, transport: str) -> bool:
    """True when nothing but what the family asked for may be sent to the phone on `transport`."""
    return contact.opted_out_at is not None or (transport == TWILIO and contact.twilio_blocked_at is not None)


def blocked_at_twilio(contact: Contact, now: datetime) -> None:
    """Twilio blocks the phone (its STOP word, OptOutType STOP, or 21610 at send time or in a report): the block,
    and the opt-out in our records (what waits for the phone is cancelled by the caller, hotline.messaging.outbox)."""
    contact.twilio_blocked_at = contact.twilio_blocked_at or now
    contact.opted_out_at = contact.opted_out_at or now


def opened_at_twilio(contact: Contact) -> None:
    """Twilio lifted its block (START, YES, UNSTOP, or OptOutType START): the phone is open everywhere again."""
    contact.twilio_blocked_at = None
    contact.opted_out_at = None
