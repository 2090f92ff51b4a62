"""One inbound message's turn: who wrote, when, with what, and the answer being built."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from hotline.context import Context
from hotline.models import Contact, InboundMessage


@dataclass
class Answer:
    """What to send back: templates to render in a language, and the keyword that was matched."""

    language: str
    keyword: str | None = None
    texts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def say(self, template: str, **context: Any) -> Answer:
        """Add a text to the answer."""
        self.texts.append((template, context))
        return self


@dataclass
class Turn:
    """Everything a keyword handler or dialogue step needs, passed as one."""

    session: Session
    ctx: Context
    contact: Contact
    now: datetime
    answer: Answer
    # The inbound message, stored only when a step needs its id (a named complaint's SMS, an alert's message) or
    # at the end of a turn that was not private: an anonymous turn leaves no row in the message sequence.
    message: InboundMessage | None = None
    # Set when the message belongs to an anonymous complaint: nothing written in the turn may lead to the phone.
    private: bool = False

    @property
    def message_id(self) -> int | None:
        """The stored message's id, storing it now if need be (never in an anonymous turn)."""
        if self.message is None or self.private:
            return None
        if self.message.id is None:
            self.session.add(self.message)
            self.session.flush()
        return self.message.id

    @property
    def day(self) -> date:
        """Today in the hotline's time zone."""
        return self.ctx.local_day(self.now)

    def say(self, template: str, **context: Any) -> Answer:
        """Add a text to the answer."""
        return self.answer.say(template, **context)
