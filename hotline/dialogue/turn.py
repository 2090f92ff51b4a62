"""One inbound message's turn: who wrote, when, with what, and the answer being built."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from hotline.context import Context
from hotline.models import Contact


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
    message_id: int | None = None
    # Set when the message belongs to an anonymous complaint: it is then stored with no phone and no body.
    private: bool = False

    @property
    def day(self) -> date:
        """Today in the hotline's time zone."""
        return self.ctx.local_day(self.now)

    def say(self, template: str, **context: Any) -> Answer:
        """Add a text to the answer."""
        return self.answer.say(template, **context)
