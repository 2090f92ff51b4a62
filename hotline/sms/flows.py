"""Multi-step SMS dialogues (benefits menu, language choice, eligibility self-check), state in the database."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from hotline.benefits.service import estimate_uy_bulogo_komok
from hotline.models import Conversation
from hotline.sms.turn import Answer, Turn

ELIGIBILITY_PROGRAMME = "uy_bulogo_komok"
MAX_MEMBERS = 40
MAX_INCOME_SOM = 10_000_000
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


def start_benefits(turn: Turn, rest: str) -> Answer:
    """BENEFITS lists the programmes; BENEFITS <n> (or the number next) answers that programme."""
    number = parse_number(rest)
    if number is not None:
        return _programme(turn, number)
    save_conversation(turn, "benefits", "choose", {})
    return turn.say("benefits/list", programmes=turn.ctx.catalogue.listing(turn.day))


def _programme(turn: Turn, number: int) -> Answer:
    version = turn.ctx.catalogue.by_number(number, turn.day)
    if version is None:
        return turn.say("benefits/unknown", programmes=turn.ctx.catalogue.listing(turn.day))
    return turn.say(version.template, p=version)


def start_lang(turn: Turn, rest: str) -> Answer:
    """LANG <choice> switches at once; LANG alone lists the choices and waits for one."""
    chosen = turn.ctx.matcher.language(rest) if rest else None
    if chosen is not None:
        return _set_language(turn, chosen)
    save_conversation(turn, "lang", "choose", {})
    return turn.say("lang/list")


def _set_language(turn: Turn, language: str) -> Answer:
    turn.contact.language = language
    turn.contact.updated_at = turn.now
    turn.session.add(turn.contact)
    turn.answer.language = language
    return turn.say("lang/set")


def start_check(turn: Turn) -> Answer:
    """CHECK starts the self-check: household members, children under the age limit, monthly income."""
    save_conversation(turn, "check", "members", {})
    return turn.say("check/members", again=False)


def continue_conversation(turn: Turn, conversation: Conversation, body: str) -> Answer:
    """Feed a message that is not a keyword to the dialogue in progress."""
    if conversation.flow == "benefits":
        number = parse_number(body)
        if number is None or turn.ctx.catalogue.by_number(number, turn.day) is None:
            # Keep waiting for a valid number: the family may try again within the timeout.
            save_conversation(turn, "benefits", "choose", {}, conversation)
            return turn.say("benefits/unknown", programmes=turn.ctx.catalogue.listing(turn.day))
        turn.session.delete(conversation)
        return _programme(turn, number)
    if conversation.flow == "lang":
        chosen = turn.ctx.matcher.language(body)
        if chosen is None:
            save_conversation(turn, "lang", "choose", {}, conversation)
            return turn.say("lang/list")
        turn.session.delete(conversation)
        return _set_language(turn, chosen)
    if conversation.flow == "check":
        return _check_step(turn, conversation, body)
    turn.session.delete(conversation)
    return turn.say("menu")


def _check_step(turn: Turn, conversation: Conversation, body: str) -> Answer:
    data = dict(conversation.data)
    number = parse_number(body)
    step = conversation.step
    version = turn.ctx.catalogue.in_force(ELIGIBILITY_PROGRAMME, turn.day)
    if version is None:
        turn.session.delete(conversation)
        return turn.say("menu")
    if step == "members":
        if number is None or not 1 <= number <= MAX_MEMBERS:
            save_conversation(turn, "check", step, data, conversation)
            return turn.say("check/members", again=True)
        data["members"] = number
        save_conversation(turn, "check", "children", data, conversation)
        return turn.say("check/children", again=False, p=version)
    if step == "children":
        if number is None or number > data["members"]:
            save_conversation(turn, "check", step, data, conversation)
            return turn.say("check/children", again=True, p=version)
        data["children"] = number
        save_conversation(turn, "check", "income", data, conversation)
        return turn.say("check/income", again=False)
    if number is None or number > MAX_INCOME_SOM:
        save_conversation(turn, "check", "income", data, conversation)
        return turn.say("check/income", again=True)
    turn.session.delete(conversation)
    estimate = estimate_uy_bulogo_komok(
        members=data["members"], children=data["children"], income_som=number, version=version
    )
    return turn.say("check/result", e=estimate, p=version)
