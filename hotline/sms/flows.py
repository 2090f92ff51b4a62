"""Multi-step SMS dialogues (benefits menu, language choice, eligibility self-check), state in the database."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from hotline.benefits.service import estimate_uy_bulogo_komok
from hotline.context import Context
from hotline.models import Contact, Conversation

if TYPE_CHECKING:
    from hotline.sms.service import Answer

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
    session: Session,
    ctx: Context,
    contact: Contact,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
    conversation: Conversation | None = None,
) -> None:
    """Start or advance a dialogue; it expires after the configured timeout without an answer."""
    conversation = conversation or Conversation(contact_id=contact.id or 0, flow=flow, step=step, expires_at=now)
    conversation.flow, conversation.step, conversation.data = flow, step, data
    conversation.expires_at = now + timedelta(minutes=ctx.settings.conversation_timeout_minutes)
    conversation.updated_at = now
    session.add(conversation)


def start_benefits(
    session: Session, ctx: Context, contact: Contact, rest: str, answer: Answer, now: datetime
) -> Answer:
    """BENEFITS lists the programmes; BENEFITS <n> (or the number next) answers that programme."""
    number = parse_number(rest)
    if number is not None:
        return _programme(ctx, number, answer, now)
    save_conversation(session, ctx, contact, "benefits", "choose", {}, now)
    return answer.say("benefits/list", programmes=ctx.catalogue.listing(ctx.local_day(now)))


def _programme(ctx: Context, number: int, answer: Answer, now: datetime) -> Answer:
    version = ctx.catalogue.by_number(number, ctx.local_day(now))
    if version is None:
        return answer.say("benefits/unknown", programmes=ctx.catalogue.listing(ctx.local_day(now)))
    return answer.say(version.template, p=version)


def start_lang(session: Session, ctx: Context, contact: Contact, rest: str, answer: Answer, now: datetime) -> Answer:
    """LANG <choice> switches at once; LANG alone lists the choices and waits for one."""
    chosen = ctx.matcher.language(rest) if rest else None
    if chosen is not None:
        return _set_language(session, contact, chosen, answer, now)
    save_conversation(session, ctx, contact, "lang", "choose", {}, now)
    return answer.say("lang/list")


def _set_language(session: Session, contact: Contact, language: str, answer: Answer, now: datetime) -> Answer:
    contact.language = language
    contact.updated_at = now
    session.add(contact)
    answer.language = language
    return answer.say("lang/set")


def start_check(session: Session, ctx: Context, contact: Contact, answer: Answer, now: datetime) -> Answer:
    """CHECK starts the self-check: household members, children under the age limit, monthly income."""
    save_conversation(session, ctx, contact, "check", "members", {}, now)
    return answer.say("check/members", again=False)


def continue_conversation(
    session: Session,
    ctx: Context,
    contact: Contact,
    conversation: Conversation,
    body: str,
    answer: Answer,
    now: datetime,
) -> Answer:
    """Feed a message that is not a keyword to the dialogue in progress."""
    if conversation.flow == "benefits":
        number = parse_number(body)
        if number is None or ctx.catalogue.by_number(number, ctx.local_day(now)) is None:
            # Keep waiting for a valid number: the family may try again within the timeout.
            save_conversation(session, ctx, contact, "benefits", "choose", {}, now, conversation)
            return answer.say("benefits/unknown", programmes=ctx.catalogue.listing(ctx.local_day(now)))
        session.delete(conversation)
        return _programme(ctx, number, answer, now)
    if conversation.flow == "lang":
        chosen = ctx.matcher.language(body)
        if chosen is None:
            save_conversation(session, ctx, contact, "lang", "choose", {}, now, conversation)
            return answer.say("lang/list")
        session.delete(conversation)
        return _set_language(session, contact, chosen, answer, now)
    if conversation.flow == "check":
        return _check_step(session, ctx, contact, conversation, body, answer, now)
    session.delete(conversation)
    return answer.say("menu")


def _check_step(
    session: Session,
    ctx: Context,
    contact: Contact,
    conversation: Conversation,
    body: str,
    answer: Answer,
    now: datetime,
) -> Answer:
    data = dict(conversation.data)
    number = parse_number(body)
    step = conversation.step
    version = ctx.catalogue.in_force(ELIGIBILITY_PROGRAMME, ctx.local_day(now))
    if version is None:
        session.delete(conversation)
        return answer.say("menu")
    if step == "members":
        if number is None or not 1 <= number <= MAX_MEMBERS:
            save_conversation(session, ctx, contact, "check", step, data, now, conversation)
            return answer.say("check/members", again=True)
        data["members"] = number
        save_conversation(session, ctx, contact, "check", "children", data, now, conversation)
        return answer.say("check/children", again=False, p=version)
    if step == "children":
        if number is None or number > data["members"]:
            save_conversation(session, ctx, contact, "check", step, data, now, conversation)
            return answer.say("check/children", again=True, p=version)
        data["children"] = number
        save_conversation(session, ctx, contact, "check", "income", data, now, conversation)
        return answer.say("check/income", again=False)
    if number is None or number > MAX_INCOME_SOM:
        save_conversation(session, ctx, contact, "check", "income", data, now, conversation)
        return answer.say("check/income", again=True)
    session.delete(conversation)
    estimate = estimate_uy_bulogo_komok(
        members=data["members"], children=data["children"], income_som=number, version=version
    )
    return answer.say("check/result", e=estimate, p=version)
