"""The benefits dialogues: the programme menu and the eligibility self-check, state in the database."""

from __future__ import annotations

from hotline.benefits.service import estimate_uy_bulogo_komok
from hotline.dialogue.state import parse_number, save_conversation
from hotline.dialogue.turn import Answer, Turn
from hotline.models import Conversation

ELIGIBILITY_PROGRAMME = "uy_bulogo_komok"
MAX_MEMBERS = 40
MAX_INCOME_SOM = 10_000_000


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


def start_check(turn: Turn) -> Answer:
    """CHECK starts the self-check: household members, children under the age limit, monthly income."""
    save_conversation(turn, "check", "members", {})
    return turn.say("check/members", again=False)


FLOWS = ("benefits", "check")


def continue_conversation(turn: Turn, conversation: Conversation, body: str) -> Answer:
    """Feed a message that is not a keyword to the benefits dialogue in progress."""
    if conversation.flow == "benefits":
        number = parse_number(body)
        if number is None or turn.ctx.catalogue.by_number(number, turn.day) is None:
            # Keep waiting for a valid number: the family may try again within the timeout.
            save_conversation(turn, "benefits", "choose", {}, conversation)
            return turn.say("benefits/unknown", programmes=turn.ctx.catalogue.listing(turn.day))
        turn.session.delete(conversation)
        return _programme(turn, number)
    if conversation.flow == "check":
        return _check_step(turn, conversation, body)
    raise ValueError(f"not a benefits dialogue: {conversation.flow}")


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
