"""The conversation engine: one inbound message from any channel is stored once, its contact found, and the keyword
or the dialogue step answered. It never knows which transport a message used; channels call it."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from hotline.benefits import flows as benefit_flows
from hotline.complaints import closing
from hotline.complaints import flows as complaint_flows
from hotline.context import Context
from hotline.db import commit_with_retry, serialize
from hotline.dialogue import language, loops, private
from hotline.dialogue.contacts import forget_if_unused, get_or_create_contact
from hotline.dialogue.inbound import Handled, Inbound
from hotline.dialogue.turn import Answer, Turn
from hotline.keywords import Match
from hotline.messaging import optout
from hotline.models import Contact, Conversation, InboundMessage
from hotline.phones import InvalidPhone, log_phone, normalise_phone
from hotline.polls import flows as poll_flows
from hotline.reminders import flows as reminder_flows
from hotline.reminders.dates import has_symptom

log = logging.getLogger(__name__)


def clean_body(body: str) -> str:
    """The body as received, but for what a database cannot hold: C0/C1 controls (NUL breaks PostgreSQL text) and
    lone surrogates (no UTF-8 for them) become U+FFFD; line breaks and tabs stay. Format characters (the zero-width
    joiner inside a family emoji, a soft hyphen, a BOM) and combining marks are the family's text and stay."""
    return "".join("\ufffd" if ch not in "\n\r\t" and unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in body)


# Statements built once, bound per message: building one costs more than running it on a keyword SMS (#20).
_STORED = sa.select(
    col(InboundMessage.replies),
    col(InboundMessage.language),
    col(InboundMessage.keyword),
    col(InboundMessage.contact_id),
).where(col(InboundMessage.channel) == sa.bindparam("channel"), col(InboundMessage.message_sid) == sa.bindparam("sid"))
_CONVERSATION = select(Conversation).where(col(Conversation.contact_id) == sa.bindparam("contact_id"))


def _stored(session: Session, ctx: Context, message: Inbound) -> Handled | None:
    row = session.execute(_STORED, {"channel": message.channel, "sid": message.message_id}).first()
    if row is not None:
        replies, language, keyword, contact_id = row
        return Handled(list(replies), language, keyword, contact_id)
    repeated = private.remembered(session, ctx, message.channel, message.message_id)
    if repeated is not None:  # a retry of an anonymous turn: the same replies, unsealed with the transport's id
        turn, texts = repeated
        return Handled(texts, turn.language, turn.keyword, None, private=True)
    return None


def handle(session: Session, ctx: Context, message: Inbound) -> Handled:
    """Store an inbound message and decide its answer; a message id repeated on its channel (a transport's retry)
    gets the first answer and stores nothing new."""

    def once() -> Handled:
        # One phone's messages, a transport's repeats included, one at a time: an anonymous turn stores its message
        # only at its end (and may forget a new phone's contact), so nothing earlier would make a repeat wait.
        serialize(session, f"inbound:{message.sender}")
        return _stored(session, ctx, message) or _process(session, ctx, message)

    return commit_with_retry(session, once)


def handle_inbound(session: Session, ctx: Context, message: Inbound) -> list[str]:
    """The reply texts of an inbound message (`handle`, for callers that answer in the response)."""
    return handle(session, ctx, message).replies


def _process(session: Session, ctx: Context, inbound: Inbound) -> Handled:
    body, now = clean_body(inbound.body), inbound.received_at
    message = InboundMessage(
        channel=inbound.channel,
        message_sid=inbound.message_id,
        receiver_encrypted=ctx.vault.encrypt(inbound.receiver),
        body=body,
        received_at=now,
        language=ctx.settings.default_language,
        replies=[],  # explicit values: pydantic inspects a default_factory on every construction
    )
    try:
        phone = normalise_phone(inbound.sender)
    except InvalidPhone:
        # An operator's alphanumeric sender or a malformed From: keep the message, nobody to answer.
        log.warning(
            "inbound %s %s: sender is not a phone number; stored without reply", inbound.channel, inbound.message_id
        )
        message.unparsed_sender_encrypted = ctx.vault.encrypt(inbound.sender)
        session.add(message)
        return Handled([], message.language)
    contact = get_or_create_contact(session, ctx, phone, now)
    kept = contact.last_channel, contact.updated_at
    if contact.last_channel != inbound.channel:
        # What goes back to this phone through the outbox goes on the channel it last used (no timestamp moves).
        contact.last_channel = inbound.channel
        session.add(contact)
    message.contact_id = contact.id
    turn = respond(session, ctx, contact, body, now, message, inbound.carrier_action)
    answer = turn.answer
    if answer.texts and not turn.private and loops.pause_replies(session, ctx, phone, message):
        # A reply loop (hotline/dialogue/loops.py): the turn is done and stored, its answer not sent.
        answer.texts = []
    replies = [ctx.texts.render(name, answer.language, **context).text for name, context in answer.texts]
    if turn.private:
        _leave_no_trace(session, ctx, inbound, turn, kept, replies)
        log.info("inbound %s: a turn of an anonymous complaint, replies=%d", inbound.channel, len(replies))
        return Handled(replies, answer.language, answer.keyword, None, private=True)
    message.language = answer.language
    message.keyword = answer.keyword
    message.replies = replies
    session.add(message)
    log.info(
        "inbound %s %s from %s keyword=%s replies=%d",
        inbound.channel,
        inbound.message_id,
        log_phone(phone),
        answer.keyword,
        len(replies),
    )
    return Handled(replies, answer.language, answer.keyword, contact.id)


def _leave_no_trace(
    session: Session,
    ctx: Context,
    inbound: Inbound,
    turn: Turn,
    kept: tuple[str | None, datetime],
    replies: list[str],
) -> None:
    """End a turn of an anonymous complaint: no message row (its id would sit in the phone's sequence), the contact's
    channel and time as they were, a contact this dialogue created gone once the dialogue is over, and only the
    keyed transport id with masked replies kept for a retry."""
    contact = turn.contact
    if turn.message is not None and turn.message.id is not None:
        session.delete(turn.message)  # stored by a step before the turn turned out anonymous
    if not forget_if_unused(session, contact):
        contact.last_channel, contact.updated_at = kept
        session.add(contact)
    private.remember(
        session,
        ctx,
        channel=inbound.channel,
        transport_id=inbound.message_id,
        now=turn.now,
        language=turn.answer.language,
        keyword=turn.answer.keyword,
        replies=replies,
    )


def choose_language(contact: Contact, match: Match) -> str:
    """The keyword's language; the remembered one when the spelling is shared by several languages or the words
    around it are in that language ("мен пособие алгым келет" keeps a Kyrgyz phone Kyrgyz)."""
    return choose_language_of(contact.language, match)


def choose_language_of(language: str, match: Match) -> str:
    """choose_language() for a phone known by its remembered language (hotline/fastpath.py reads no Contact)."""
    if not match.languages or language in match.languages or language in match.context:
        return language
    return match.languages[0]


# Keywords that leave a complaint's dialogue even with words after them; any other keyword followed by words is
# more of the complaint's text ("помощь не дали три месяца").
_LEAVE_COMPLAINT = ("STOP", "START", "COMPLAINT", "ANON")


def respond(
    session: Session,
    ctx: Context,
    contact: Contact,
    body: str,
    now: datetime,
    message: InboundMessage | None = None,
    carrier: str | None = None,
) -> Turn:
    """Decide the answer. Precedence, each step tested in tests/dialogue/test_scripts.py:
    0. what Twilio itself did (`carrier`: its opt-out words, OptOutType) is STOP or START, as Twilio acted;
    1. after STOP only STOP and START are answered;
    2. a danger sign anywhere in the message, unless it is a complaint's text;
    3. inside a dialogue, an answer that fits its question, even with a keyword's word in it;
    4. a keyword (found after greetings and filler), which ends any dialogue;
    5. the dialogue in progress, or the menu."""
    match = _as_carrier_acted(session, contact, ctx.matcher.match(body), carrier, now)
    if _opted_out(contact, match):
        silent = Turn(session, ctx, contact, now, Answer(contact.language, match.keyword), message)  # not answered
        # Stored, unless it is an anonymous complaint's text: that is never kept beside the phone.
        silent.private = match.keyword == "ANON" or ctx.matcher.match(match.rest).keyword == "ANON"
        return silent
    conversation = session.exec(_CONVERSATION, params={"contact_id": contact.id}).first()
    live = conversation if conversation is not None and conversation.expires_at > now else None
    in_complaint = live is not None and live.flow == complaint_flows.FLOW
    complaint_text = match.keyword in ("COMPLAINT", "ANON") or (in_complaint and not leaves_complaint(ctx, match))
    # A quiz answer that names a choice ("кан кетүү" to "which sign is dangerous?") is an answer, not an emergency.
    quiz_answer = live is not None and live.flow == poll_flows.FLOW and poll_flows.names_a_choice(session, live, body)
    if not complaint_text and not quiz_answer and may_name_danger(match) and has_symptom(body):
        # A danger sign comes first (a complaint's text is never taken for one); any dialogue waits.
        turn = Turn(session, ctx, contact, now, Answer(_switch_language(session, ctx, contact, match, now)), message)
        reminder_flows.danger(turn, body)
        return turn
    polled = None
    if match.keyword is None and not in_complaint:
        polled = poll_for(session, ctx, contact, body, now, message, conversation)
    if polled is not None:  # a poll's word (a radio quiz), or an invited phone's answer (hotline/polls/flows.py)
        return polled
    if live is not None and (match.keyword is None or answers_question(ctx, live.flow, live.step, body, match)):
        turn = Turn(session, ctx, contact, now, Answer(contact.language), message)
        continue_conversation(turn, live, body)
        return turn
    if match.keyword is None and conversation is None and ctx.catalogue.named_in(body) is not None:
        # A programme named by what families call it ("үй-бүлөгө көмөк тууралуу") is a question about it.
        match = replace(match, keyword="BENEFITS", rest=body)
    if match.keyword is None:
        turn = Turn(session, ctx, contact, now, Answer(contact.language), message)
        if conversation is None:
            turn.say("menu")
        else:
            session.delete(conversation)
            expired(turn, conversation)
        return turn
    if conversation is not None:
        session.delete(conversation)
        session.flush()
    language = _switch_language(session, ctx, contact, match, now)
    turn = Turn(session, ctx, contact, now, Answer(language, match.keyword), message)
    on_keyword(turn, replace(match, rest=meant_rest(ctx, match)))
    return turn


def poll_for(
    session: Session,
    ctx: Context,
    contact: Contact,
    body: str,
    now: datetime,
    message: InboundMessage | None,
    conversation: Conversation | None,
) -> Turn | None:
    """A message without a hotline keyword that a poll takes: a poll's word ends any dialogue and starts the poll;
    with no dialogue in progress, a phone invited to a poll answers its next question. None otherwise. The phone's
    dialogue is the one respond() already read: no second query."""
    live = conversation is not None and conversation.expires_at > now
    by_word = poll_flows.poll_for_keyword(session, body)
    invited = None if by_word is not None or live else poll_flows.pending_invitation(session, contact, now)
    if by_word is None and invited is None:
        return None
    turn = Turn(session, ctx, contact, now, Answer(contact.language, poll_flows.KEYWORD if by_word else None), message)
    if conversation is not None:
        session.delete(conversation)  # an expired dialogue, or one a poll's word interrupts
        session.flush()
    if by_word is not None:
        poll_flows.start(turn, *by_word)
    elif invited is not None:
        poll_flows.answer_invitation(turn, invited, body)
    return turn


def _switch_language(session: Session, ctx: Context, contact: Contact, match: Match, now: datetime) -> str:
    """Remember the language of a keyword's spelling (choose_language) for the phone."""
    language = choose_language(contact, match)
    if contact.language != language:
        contact.language = language
        contact.updated_at = private.coarse_time(ctx, now)  # to the day, as every contact time
        session.add(contact)
    return language


def may_name_danger(match: Match) -> bool:
    """False for a keyword with nothing after it but a number ("ПОСОБИЕ 2"): most traffic skips the word search."""
    return match.keyword is None or not match.rest.replace(" ", "").isdigit() and bool(match.rest.strip())


def leaves_complaint(ctx: Context, match: Match) -> bool:
    """A keyword alone (or with filler), STOP/START/COMPLAINT, or STATUS with a reference, leaves a complaint."""
    if match.keyword is None:
        return False
    if match.keyword in _LEAVE_COMPLAINT or ctx.matcher.only_filler(match.rest):
        return True
    return match.keyword == "STATUS" and any(ch.isdigit() for ch in match.rest)


def answers_question(ctx: Context, flow: str, step: str, body: str, match: Match) -> bool:
    """True when a message with a keyword's word in it still answers the question of the dialogue (`flow`, `step`)."""
    if flow == complaint_flows.FLOW:
        return not leaves_complaint(ctx, match)
    if flow == language.FLOW:
        return ctx.matcher.language(body) is not None
    if flow == reminder_flows.FLOW and step in reminder_flows.DATE_STEPS:
        # "родился в марте", "born 2 months ago" answer JOIN's date question; they are not BORN.
        return match.keyword == "BORN" or _starts_with_number(body)
    return (flow in benefit_flows.FLOWS or flow == poll_flows.FLOW) and _starts_with_number(body)


def _starts_with_number(text: str) -> bool:
    return text.lstrip()[:1].isdigit()


def meant_rest(ctx: Context, match: Match) -> str:
    """The words after a keyword that say something: none when only filler ("жалобу хочу написать"), and for
    BENEFITS only a programme number that follows it ("Пособие по уходу ... до 3 лет" is no programme 3)."""
    if ctx.matcher.only_filler(match.rest):
        return ""
    if match.keyword == "BENEFITS" and not _starts_with_number(match.rest):
        return ""
    return match.rest


def _opted_out(contact: Contact, match: Match) -> bool:
    # After STOP nothing is written to the phone but the answers to STOP and START; nothing either on the Twilio
    # channel while Twilio blocks the phone (it would refuse the answer).
    silenced = optout.silenced(contact, contact.last_channel or "")
    return silenced and match.keyword not in ("START", "STOP")


def _as_carrier_acted(session: Session, contact: Contact, match: Match, carrier: str | None, now: datetime) -> Match:
    """Mirror Twilio's own opt-out: it blocked the phone (CANCEL, END, ... even inside a dialogue) or opened it
    (START, YES, UNSTOP). An opt-in word from a phone that is open anyway changes nothing: "YES" answers the
    dialogue's question."""
    if carrier == optout.CarrierAction.STOP:
        optout.blocked_at_twilio(contact, now)
        session.add(contact)
        return replace(match, keyword="STOP", rest="")
    if carrier == optout.CarrierAction.START and (contact.opted_out_at or contact.twilio_blocked_at):
        optout.opened_at_twilio(contact)
        session.add(contact)
        return replace(match, keyword="START", rest="")
    return match


def continue_conversation(turn: Turn, conversation: Conversation, body: str) -> Answer:
    """Hand a message that is not a keyword to the dialogue in progress."""
    if conversation.flow == "complaint":
        return complaint_flows.continue_complaint(turn, conversation, body)
    if conversation.flow == reminder_flows.FLOW:
        return reminder_flows.continue_join(turn, conversation, body)
    if conversation.flow == language.FLOW:
        return language.continue_lang(turn, conversation, body)
    if conversation.flow in benefit_flows.FLOWS:
        return benefit_flows.continue_conversation(turn, conversation, body)
    if conversation.flow == poll_flows.FLOW:
        return poll_flows.continue_poll(turn, conversation, body)
    if conversation.flow == closing.FLOW:  # the rating asked with a decision's SMS (#21)
        return closing.continue_rating(turn, conversation, body)
    turn.session.delete(conversation)
    return turn.say("menu")


def expired(turn: Turn, conversation: Conversation) -> Answer:
    """Tell the family a dialogue timed out, and how to finish an unfinished complaint."""
    draft = complaint_flows.draft_of(turn) if conversation.flow == "complaint" else None
    if draft is not None and draft.anonymous:
        # An anonymous complaint left unfinished is not kept (its text sits next to the phone): it goes now, and
        # this message, which may be more of its text, is as private as the rest of it.
        turn.private = True
        turn.session.delete(draft)
        return turn.say("expired", flow=conversation.flow)
    if draft is not None:
        return turn.say("complaints/draft_saved")
    return turn.say("expired", flow=conversation.flow)


def on_keyword(turn: Turn, match: Match) -> Answer:
    """Answer a matched keyword."""
    keyword, contact = match.keyword, turn.contact
    if keyword == "HELP":
        return turn.say("help", free=turn.ctx.settings.free_to_text)
    blocked = contact.last_channel == optout.TWILIO and contact.twilio_blocked_at is not None
    if keyword == "STOP":
        contact.opted_out_at = contact.opted_out_at or turn.now
        turn.session.add(contact)
        # Twilio confirms its own STOP, and refuses any text of ours to a phone it blocks.
        return turn.answer if blocked else turn.say("stop")
    if keyword == "START":
        contact.opted_out_at = None
        turn.session.add(contact)
        reminder_flows.resume(turn)
        # Our START in another word (СТАРТ, БАШТА) does not lift Twilio's block: only its own START does.
        return turn.say("start_blocked" if blocked else "start")
    if keyword == "JOIN":
        return reminder_flows.start_join(turn, match.rest)
    if keyword == "BORN":
        return reminder_flows.born(turn, match.rest)
    if keyword == "LOSS":
        return reminder_flows.loss(turn)
    if keyword == "PAUSE":
        return reminder_flows.pause(turn)
    if keyword == "DANGER":
        return reminder_flows.danger(turn, match.rest)
    if keyword == "BENEFITS":
        return benefit_flows.start_benefits(turn, match.rest)
    if keyword == "CHECK":
        return benefit_flows.start_check(turn)
    if keyword == "LANG":
        return language.start_lang(turn, match.rest)
    if keyword in ("COMPLAINT", "ANON"):
        return complaint_flows.start_complaint(turn, match.rest, anonymous=keyword == "ANON")
    if keyword == "STATUS":
        return complaint_flows.status(turn, match.rest)
    raise ValueError(f"keyword {keyword} has no handler")
