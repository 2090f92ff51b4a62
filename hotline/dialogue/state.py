"""A dialogue's state between messages (stored, expiring) and reading the numbers families type."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from hotline.dialogue.turn import Turn
from hotline.models import Conversation

_NUMBER = re.compile(r"\d[\d\s\u00a0\u202f.,']*")


def parse_number(text: str) -> int | None:
    """The first whole number in a message: '15 000 сом', '15.000', '5 киши' all read as people write them."""
    found = _NUMBER.search(text)
    if not found:
        return None
    digits = re.sub(r"\D", "", found.group(0))
    return int(digits) if digits and len(digits) <= 9 else None


def save_conversation(
    turn: Turn, flow: str, step: str, data: dict[str, Any], conversation: Conversation | None = None
) -> None:
    """Start or advance a dialogue; it expires after the configured timeout without an answer."""
    conversation = conversation or Conversation(
        contact_id=turn.contact.id or 0, flow=flow, step=step, data={}, expires_at=turn.now, updated_at=turn.now
    )
    conversation.flow, conversation.step, conversation.data = flow, step, data
    conversation.expires_at = turn.now + timedelta(minutes=turn.ctx.settings.conversation_timeout_minutes)
    conversation.updated_at = turn.now
    turn.session.add(conversation)
