"""The benefits dialogues: the programme menu and the eligibility self-check, state in the database."""

from __future__ import annotations

from typing import Any

from hotline.benefits.service import estimate_uy_bulogo_komok, income_problem
from hotline.dialogue.state import parse_number, save_conversation
from hotline.dialogue.turn import Answer, Turn
from hotline.models import Conversation
from hotline.numbers import parse_amount, read_choice, read_number

ELIGIBILITY_PROGRAMME = "uy_bulogo_komok"
MAX_MEMBERS = 40


def start_benefits(turn: Turn, rest: str) -> Answer:
    """BENEFITS lists the programmes; BENEFITS <n> (or the number next) answers that programme."""
    number = parse_number(rest)
    number = number if number is not None else turn.ctx.catalogue.named_in(rest)
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
        number = read_choice(body)  # "2", "номер 2", "второй", "экинчиси", "the second one"
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
    step = conversation.step
    version = turn.ctx.catalogue.in_force(ELIGIBILITY_PROGRAMME, turn.day)
    if version is None:
        turn.session.delete(conversation)
        return turn.say("menu")
    if step == "members":
        members = parse_amount(body)  # "5", "беш адам", "5 kishi"; a range or two numbers is asked again
        if members is None or not 1 <= members <= MAX_MEMBERS:
            save_conversation(turn, "check", step, data, conversation)
            return turn.say("check/members", again=True)
        data["members"] = members
        save_conversation(turn, "check", "children", data, conversation)
        return turn.say("check/children", again=False, p=version)
    if step == "children":
        children = parse_amount(body)  # "0", "жок", "yo'q" are none
        if children is None or children > data["members"]:
            save_conversation(turn, "check", step, data, conversation)
            return turn.say("check/children", again=True, p=version)
        data["children"] = children
        save_conversation(turn, "check", "income", data, conversation)
        return turn.say("check/income", again=False)
    return _income_step(turn, conversation, data, body, version)


def _income_step(turn: Turn, conversation: Conversation, data: dict[str, Any], body: str, version: Any) -> Answer:
    # No estimate from a number we are not sure of: a family told "you may be entitled" on a misread amount
    # travels to the office for nothing. Unsure amounts are asked again with an example.
    reading = read_number(body)
    problem = income_problem(reading, confirmed=data.get("small"))
    if problem:
        data["small"] = reading.value if problem == "small" else None
        save_conversation(turn, "check", "income", data, conversation)
        return turn.say("check/income", again=True, problem=problem, amount=reading.value)
    assert reading.value is not None
    turn.session.delete(conversation)
    estimate = estimate_uy_bulogo_komok(
        members=data["members"], children=data["children"], income_som=reading.value, version=version
    )
    return turn.say("check/result", e=estimate, p=version)
