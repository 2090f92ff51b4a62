"""JOIN's place question (#19): once enrolled, a phone whose village is unknown is asked its rayon, then its village
(by number or by name), so that its danger messages reach the village's nurse and volunteers.

Asked at most once per JOIN, never when the household or the phone has a village already (from the JOIN's own
text, a complaint, or staff); an answer not understood is asked again once, then the family is left alone."""

from __future__ import annotations

from sqlmodel import select

from hotline.dialogue.place_question import (
    Ask,
    listed,
    narrow,
    pending,
    places_in_answer,
    rayon_question,
    settle,
    village_question,
)
from hotline.dialogue.state import parse_number, save_conversation
from hotline.dialogue.turn import Answer, Turn
from hotline.models import Conversation, Household
from hotline.places import Place, get_gazetteer

FLOW = "join"  # the JOIN dialogue's flow (flows.FLOW): the place question is its last step
MAX_RETRIES = 1


def ask_place(turn: Turn, household: Household, conversation: Conversation | None) -> Answer:
    """After enrolment: ask the rayon (or, when only the rayon is known, the village); end the dialogue otherwise."""
    gazetteer = get_gazetteer()
    known = gazetteer.get(household.municipality_code or turn.contact.municipality_code)
    if known is None:
        return _ask(turn, rayon_question(), conversation, 0)
    if known.district is None and gazetteer.municipalities.get(known.code):
        return _ask(turn, village_question(known), conversation, 0)
    if conversation is not None:
        turn.session.delete(conversation)
    return turn.answer


def continue_place(turn: Turn, conversation: Conversation, body: str) -> Answer:
    """The answer to the place question: a number of the list (0: not sure), or a typed name."""
    step, data = conversation.step, conversation.data
    if body.strip().rstrip(".").isdigit():
        number = parse_number(body) or 0
        places = listed(step, data)
        if 1 <= number <= len(places):
            return _settle(turn, conversation, [places[number - 1]])
        if number == 0 and step == "candidates":  # none of these: the rayon question
            return _ask(turn, rayon_question(), conversation, int(data.get("retries", 0)))
        if number == 0:  # not sure of the village: the rayon is kept; not sure of the rayon: nothing
            return _keep(turn, conversation, get_gazetteer().get(data.get("district")))
        return _again(turn, conversation)
    named = narrow(places_in_answer(body)[0], step, data)
    return _settle(turn, conversation, named) if named else _again(turn, conversation)


def _settle(turn: Turn, conversation: Conversation, named: list[Place]) -> Answer:
    found = settle(named)
    if isinstance(found, Ask):
        return _ask(turn, found, conversation, int(conversation.data.get("retries", 0)))
    return _keep(turn, conversation, found)


def _again(turn: Turn, conversation: Conversation) -> Answer:
    retries = int(conversation.data.get("retries", 0)) + 1
    if retries > MAX_RETRIES:
        return _keep(turn, conversation, get_gazetteer().get(conversation.data.get("district")))
    return _ask(turn, pending(conversation.step, conversation.data), conversation, retries)


def _ask(turn: Turn, ask: Ask, conversation: Conversation | None, retries: int) -> Answer:
    save_conversation(turn, FLOW, ask.step, {**ask.data, "retries": retries}, conversation)
    return turn.say("reminders/join_place", step=ask.step, district=ask.district, places=ask.places)


def _keep(turn: Turn, conversation: Conversation, place: Place | None) -> Answer:
    """Remember the place for the phone and its household (a village replaces a rayon), and thank the family."""
    turn.session.delete(conversation)
    if place is not None:
        turn.contact.municipality_code = place.code
        turn.session.add(turn.contact)
        household = turn.session.exec(select(Household).where(Household.contact_id == turn.contact.id)).first()
        if household is not None:
            household.municipality_code = place.code
            turn.session.add(household)
    return turn.say("reminders/join_place_saved", place=place)
