"""LANG: the language a phone is answered in, chosen by keyword or from a numbered list."""

from __future__ import annotations

from hotline.dialogue.state import save_conversation
from hotline.dialogue.turn import Answer, Turn
from hotline.models import Conversation

FLOW = "lang"


def start_lang(turn: Turn, rest: str) -> Answer:
    """LANG <choice> switches at once; LANG alone lists the choices and waits for one."""
    chosen = turn.ctx.matcher.language(rest) if rest else None
    if chosen is not None:
        return _set_language(turn, chosen)
    save_conversation(turn, FLOW, "choose", {})
    return turn.say("lang/list")


def _set_language(turn: Turn, language: str) -> Answer:
    turn.contact.language = language
    turn.contact.updated_at = turn.now
    turn.session.add(turn.contact)
    turn.answer.language = language
    return turn.say("lang/set")


def continue_lang(turn: Turn, conversation: Conversation, body: str) -> Answer:
    """The answer to the language list: a language, or the list again."""
    chosen = turn.ctx.matcher.language(body)
    if chosen is None:
        save_conversation(turn, FLOW, "choose", {}, conversation)
        return turn.say("lang/list")
    turn.session.delete(conversation)
    return _set_language(turn, chosen)
