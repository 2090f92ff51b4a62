"""Which channel an outbound message leaves on (docs/CHANNELS.md#routing)."""

from __future__ import annotations

from hotline.config import Settings
from hotline.models import Channel, Purpose

# Answers to the family's own message go back the way it came: the family is on that channel now.
ANSWERS = {Purpose.REPLY, Purpose.PRIVATE_REPLY, Purpose.STOP_CONFIRMATION}
VOICE_CHANNEL = "twilio"  # calls (the voice line's callbacks) are placed through Twilio only


def outbound_transport(settings: Settings, purpose: Purpose, last_channel: str | None, kind: Channel) -> str:
    """The channel for a message: calls by Twilio; answers on the phone's own channel; reminders, officers' answers
    and alerts on the configured outbound channel, else the phone's channel, else the first channel in use."""
    if kind == Channel.CALL:
        return VOICE_CHANNEL
    in_use = settings.channel_list
    own = last_channel if last_channel in in_use else None
    if purpose in ANSWERS and own:
        return own
    return settings.outbound_channel or own or in_use[0]


def reply_number(settings: Settings) -> str | None:
    """The number to name in a text that asks the family to write back, when the outbound sender cannot take replies
    (an alphanumeric sender ID); None when a plain reply reaches the hotline."""
    return settings.public_number if settings.outbound_one_way else None
