"""The complaint dialogue by SMS: text (one or several SMS), municipality if unknown, acknowledgement; STATUS."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from hotline.complaints import closing, service
from hotline.context import Context
from hotline.dialogue.place_question import MAX_CANDIDATES, listed, narrow
from hotline.dialogue.place_question import places_in_answer as _places_in_answer
from hotline.dialogue.state import parse_number, save_conversation
from hotline.dialogue.turn import Answer, Turn
from hotline.models import Complaint, ComplaintAnswer, ComplaintDraft, ComplaintStatus, Conversation, InboundMessage
from hotline.places import Place, get_gazetteer

FLOW = "complaint"
# The step after a filed complaint: for a while, more SMS add to its text (hotline/fastpath.py files a new one).
APPEND = "append"


def has_words(text: str) -> bool:
    """A complaint needs at least a letter or a digit: whitespace or emoji alone are not one."""
    return any(ch.isalnum() for ch in text)


def draft_of(turn: Turn) -> ComplaintDraft | None:
    """The unfinished complaint of this phone, if any."""
    return turn.session.exec(select(ComplaintDraft).where(ComplaintDraft.contact_id == turn.contact.id)).first()


def _draft_and_filed_today(turn: Turn) -> tuple[ComplaintDraft | None, int]:
    """The phone's unfinished complaint (draft_of) and how many it filed today, in one statement (#20)."""
    one_row = sa.select(sa.literal(1)).subquery()
    query = (
        select(ComplaintDraft, service.filed_today(turn.ctx, turn.contact, turn.now))
        .select_from(one_row)
        .outerjoin(ComplaintDraft, col(ComplaintDraft.contact_id) == turn.contact.id)
    )
    draft, filed_today = turn.session.exec(query).one()
    return draft, int(filed_today)


def _message_ids(turn: Turn, draft: ComplaintDraft | None) -> list[int]:
    ids = list(draft.message_ids) if draft else []
    message_id = turn.message_id  # None in an anonymous turn: its messages are never stored
    if message_id is not None and message_id not in ids:
        ids.append(message_id)
    return ids


def start_complaint(turn: Turn, rest: str, *, anonymous: bool) -> Answer:
    """COMPLAINT [ANON] [text]: file at once when text and municipality are known, else ask for what is missing."""
    inner = turn.ctx.matcher.match(rest)
    if inner.keyword == "ANON":  # COMPLAINT ANON text
        anonymous, rest = True, inner.rest
    draft, filed_today = _draft_and_filed_today(turn)
    anonymous = anonymous or bool(draft and draft.anonymous)
    # From its first message on, an anonymous dialogue leaves nothing that leads to the phone.
    turn.private = anonymous
    if filed_today >= turn.ctx.settings.max_complaints_per_day:
        return turn.say("complaints/limit")
    if draft is None and not has_words(rest):
        save_conversation(turn, FLOW, "text", {"anonymous": anonymous})
        return turn.say("complaints/ask_text", anonymous=anonymous)
    if draft is None:
        draft = ComplaintDraft(contact_id=turn.contact.id or 0, text=rest.strip(), anonymous=anonymous)
    elif has_words(rest):
        draft.text = f"{draft.text}\n{rest.strip()}"
    draft.anonymous = anonymous
    return _proceed(turn, draft)


def _proceed(turn: Turn, draft: ComplaintDraft, conversation: Conversation | None = None) -> Answer:
    draft.updated_at = turn.now
    named = get_gazetteer().find_in_text(draft.text)
    # Never the phone's remembered place for an anonymous complaint: it would tie the complaint to the family. A place
    # the complaint's own text names was the family's choice to say, so it is taken.
    remembered = None if draft.anonymous else service.place_of(turn.contact)
    if remembered is not None and (not named or fits(remembered, named)):
        return _file(turn, draft, remembered, conversation)
    return _settle(turn, draft, named, conversation)


def fits(place: Place, named: list[Place]) -> bool:
    """A remembered place the text agrees with: it, or its district, is among the names (Баткенде: Dara fits)."""
    return any(candidate.code in (place.code, place.district_code) for candidate in named)


def _settle(turn: Turn, draft: ComplaintDraft, named: list[Place], conversation: Conversation | None) -> Answer:
    """File at the one place named, or ask for what is still open: the village of a named rayon, which of several
    candidates, or (nothing named) the rayon."""
    gazetteer = get_gazetteer()
    private = {"anonymous": True} if draft.anonymous else {}
    if len(named) == 1 and not (named[0].district is None and gazetteer.municipalities.get(named[0].code)):
        return _file(turn, draft, named[0], conversation)
    if conversation is not None and conversation.step == "district" and (rayon := _one_rayon(named)):
        # The family has answered one question: file now, at the rayon, rather than ask a second (#17 point 5).
        # A named complaint's acknowledgement invites the village's name, which then routes it there.
        return _file(turn, draft, rayon, conversation)
    # A question follows: the draft is kept until the answer (one filed at once is never stored).
    draft.message_ids = _message_ids(turn, draft)
    turn.session.add(draft)
    if len(named) == 1:
        rayon = named[0]
        save_conversation(turn, FLOW, "municipality", {"district": rayon.code, **private}, conversation)
        return turn.say(
            "complaints/ask_municipality", district=rayon, municipalities=gazetteer.municipalities[rayon.code]
        )
    if 1 < len(named) <= MAX_CANDIDATES:
        codes = [place.code for place in named]
        save_conversation(turn, FLOW, "candidates", {"candidates": codes, **private}, conversation)
        return turn.say("complaints/ask_municipality", district=None, municipalities=named)
    save_conversation(turn, FLOW, "district", private, conversation)
    return turn.say("complaints/ask_district", districts=gazetteer.districts, anonymous=draft.anonymous)


def _one_rayon(named: list[Place]) -> Place | None:
    """The rayon all the places an answer names lie in (Кадамжай: the rayon and its town), if they share one."""
    gazetteer = get_gazetteer()
    codes = {place.district_code or place.code for place in named}
    return gazetteer.get(codes.pop()) if len(codes) == 1 else None


def continue_complaint(turn: Turn, conversation: Conversation, body: str) -> Answer:
    """The next SMS of the complaint dialogue."""
    if conversation.data.get("anonymous"):
        turn.private = True
    if conversation.step == "text":
        if not has_words(body):
            save_conversation(turn, FLOW, "text", conversation.data, conversation)
            return turn.say("complaints/ask_text", anonymous=bool(conversation.data.get("anonymous")))
        started = ComplaintDraft(
            contact_id=turn.contact.id or 0, text=body.strip(), anonymous=bool(conversation.data.get("anonymous"))
        )
        return _proceed(turn, started, conversation)
    if conversation.step == APPEND:
        return _append(turn, conversation, body)
    draft = draft_of(turn)
    if draft is None:  # filed or discarded meanwhile
        turn.session.delete(conversation)
        return turn.say("menu")
    turn.private = turn.private or draft.anonymous
    draft.message_ids = _message_ids(turn, draft)  # every SMS of the dialogue belongs to the complaint
    turn.session.add(draft)
    if body.strip().rstrip(".").isdigit():  # only a bare number is a choice: "2 months unpaid" is more text
        return _chosen(turn, conversation, draft, parse_number(body) or 0)
    named, more_text = _places_in_answer(body)
    if has_words(body) and (more_text or not named):
        # Still writing: a long complaint often comes as several SMS. Keep it (and any place it names).
        draft.text = f"{draft.text}\n{body.strip()}"
    named = _narrow(named, conversation)
    if named:
        return _settle(turn, draft, named, conversation)
    return _ask_again(turn, conversation, draft)


def _question(conversation: Conversation) -> list[Place]:
    """The places the pending question listed, in its order."""
    return listed(conversation.step, conversation.data)


def _chosen(turn: Turn, conversation: Conversation, draft: ComplaintDraft, number: int) -> Answer:
    listed = _question(conversation)
    district = get_gazetteer().get(conversation.data.get("district"))
    if 1 <= number <= len(listed):
        return _settle(turn, draft, [listed[number - 1]], conversation)
    if number == 0 and district is not None:  # not sure which village: the district
        return _file(turn, draft, district, conversation)
    if number == 0 and conversation.step == "district" and draft.anonymous:
        # "Rather not say": the complaint goes to the oblast, where no municipality's staff sees it.
        return _file(turn, draft, None, conversation)
    if number == 0 and conversation.step == "candidates":  # none of these: the usual question
        return _settle(turn, draft, [], conversation)
    return _ask_again(turn, conversation, draft)


def _narrow(named: list[Place], conversation: Conversation) -> list[Place]:
    """Of the places an answer names, those the question was about: the villages of the district asked about, the
    candidates offered, or, asked for the rayon, the rayon of a name it shares with its own town or village."""
    return narrow(named, conversation.step, conversation.data)


def _ask_again(turn: Turn, conversation: Conversation, draft: ComplaintDraft) -> Answer:
    save_conversation(turn, FLOW, conversation.step, conversation.data, conversation)
    listed = _question(conversation)
    if conversation.step == "candidates":
        return turn.say("complaints/ask_municipality", district=None, municipalities=listed)
    district = get_gazetteer().get(conversation.data.get("district"))
    if district is not None:
        return turn.say("complaints/ask_municipality", district=district, municipalities=listed)
    return turn.say("complaints/ask_district", districts=listed, anonymous=draft.anonymous)


def _file(turn: Turn, draft: ComplaintDraft, place: Place | None, conversation: Conversation | None = None) -> Answer:
    filed = service.file_complaint(
        turn.session,
        turn.ctx,
        contact=turn.contact,
        text=draft.text,
        anonymous=draft.anonymous,
        place=place,
        now=turn.now,
    )
    complaint = filed.complaint
    # An anonymous dialogue stores no message; one begun named and made anonymous has its named SMS blanked.
    for message in _messages_of(turn, draft):
        if draft.anonymous:
            message.contact_id, message.body, message.replies = None, "", []
        else:
            message.complaint_id = complaint.id
    if draft.id is not None:
        turn.session.delete(draft)
    elif draft in turn.session:  # begun by this SMS and not yet flushed: nothing to delete
        turn.session.expunge(draft)
    if not draft.anonymous and place is not None:
        # Remember the place (so the next complaint is one SMS) and keep a window for further SMS.
        turn.contact.municipality_code = place.code
        turn.session.add(turn.contact)
        save_conversation(turn, FLOW, APPEND, {"complaint_id": complaint.id}, conversation)
    elif conversation is not None:
        turn.session.delete(conversation)
    ack = ack_context(
        turn.ctx,
        reference=complaint.reference,
        pin=filed.pin,
        anonymous=draft.anonymous,
        first_answer_due=complaint.first_answer_due,
        municipality_code=complaint.municipality_code,
        district_code=complaint.district_code,
    )
    return turn.say("complaints/ack", **ack)


def ack_context(
    ctx: Context,
    *,
    reference: str,
    pin: str | None,
    anonymous: bool,
    first_answer_due: datetime,
    municipality_code: str | None,
    district_code: str | None,
) -> dict[str, Any]:
    """What the acknowledgement of a filed complaint says (complaints/ack): its reference and PIN, the day of its first
    answer, the window for further SMS, and whether its village's name is wanted (_village_wanted). Also the
    webhook's fast path's (hotline/fastpath.py)."""
    return {
        "reference": reference,
        "pin": pin,
        "due": ctx.local_day(first_answer_due),
        "window_minutes": ctx.settings.conversation_timeout_minutes,
        "village_wanted": not anonymous and _village_wanted_at(municipality_code, district_code),
    }


def _messages_of(turn: Turn, draft: ComplaintDraft) -> list[InboundMessage]:
    """The complaint's SMS: those stored with its draft, read, and this turn's, in hand. This one is not stored here:
    the engine stores it at the end of the turn, complaint_id and replies in one insert."""
    this = turn.message if turn.message is not None and not turn.private else None
    earlier = [i for i in draft.message_ids if this is None or i != this.id]
    messages = (
        list(turn.session.exec(select(InboundMessage).where(col(InboundMessage.id).in_(earlier)))) if earlier else []
    )
    return [*messages, this] if this is not None else messages


def _village_wanted(complaint: Complaint) -> bool:
    """Filed at a rayon that has villages: its name, sent within the window, routes the complaint there."""
    return _village_wanted_at(complaint.municipality_code, complaint.district_code)


def _village_wanted_at(municipality_code: str | None, district_code: str | None) -> bool:
    return municipality_code is None and bool(get_gazetteer().municipalities.get(district_code or ""))


def _append(turn: Turn, conversation: Conversation, body: str) -> Answer:
    """A further SMS within the window: more text is added to the complaint, and the family told so. A thank-you, a
    lone digit or a place already known is not text (#19 point 3); a village's name completes a rayon's complaint."""
    complaint = turn.session.get(Complaint, conversation.data.get("complaint_id"))
    if complaint is None:
        turn.session.delete(conversation)
        return turn.say("menu")
    save_conversation(turn, FLOW, APPEND, conversation.data, conversation)
    if turn.ctx.matcher.thanks(body):
        return turn.say("complaints/thanks", reference=complaint.reference)
    if not has_words(body) or body.strip().rstrip(".").isdigit():
        return turn.say("complaints/not_added", reference=complaint.reference, village=_village_wanted(complaint))
    named, more_text = _places_in_answer(body)
    if named and not more_text:
        gazetteer = get_gazetteer()
        villages = [p for p in named if p.district_code == complaint.district_code and p.district is not None]
        if _village_wanted(complaint) and len(villages) == 1:
            service.add_village(turn.session, complaint, villages[0], turn.now)
            turn.contact.municipality_code = villages[0].code  # remembered, as a village named at first would be
            turn.session.add(turn.contact)
            return turn.say("complaints/place_noted", reference=complaint.reference, place=villages[0])
        known = gazetteer.get(complaint.municipality_code or complaint.district_code)
        if known is not None and any(p.code in (complaint.municipality_code, complaint.district_code) for p in named):
            return turn.say("complaints/place_noted", reference=complaint.reference, place=known)
    service.append_text(turn.session, complaint, body.strip(), turn.now)
    message = turn.session.get(InboundMessage, turn.message_id) if turn.message_id else None
    if message is not None:
        message.complaint_id = complaint.id
        turn.session.add(message)
    return turn.say("complaints/appended", reference=complaint.reference)


_DIGITS = re.compile(r"\d+")


def status(turn: Turn, rest: str) -> Answer:
    """STATUS <ref> [PIN]: the status and the officers' latest answer, or one "not found" for every miss."""
    groups, rating = closing.split_rating(_DIGITS.findall(rest))
    digits = "".join(groups)
    if not digits:
        if has_words(rest):
            return turn.say("status/ask")
        latest = turn.session.exec(
            select(Complaint).where(Complaint.contact_id == turn.contact.id).order_by(col(Complaint.created_at).desc())
        ).first()
        if latest is None:
            return turn.say("status/ask")
        return _show(turn, latest)
    reference, pin = digits[:8], (digits[8:] or None)
    if pin is not None:
        turn.private = True  # a PIN means an anonymous complaint: keep no trace from this phone to it
    try:
        complaint = service.look_up(
            turn.session, turn.ctx, contact=turn.contact, reference=reference, pin=pin, now=turn.now
        )
    except service.Throttled:
        return turn.say("status/throttled")
    if complaint is None:
        return turn.say("status/not_found")
    return _show(turn, complaint, rating)


def _show(turn: Turn, complaint: Complaint, rating: int | None = None) -> Answer:
    answer = service.latest_answer(turn.session, complaint)
    # In the complaint's language, the one officers answered in: the phone asking may be a neighbour's (a PIN).
    turn.answer.language = complaint.language
    turn.say(
        "status/show", reference=complaint.reference, status=shown_status(complaint, answer), answered=bool(answer)
    )
    if answer is not None:
        turn.say("status/answer", text=answer.text)
    closing.after_status(turn, complaint, rating)  # the outcome now known (and perhaps rated), for the report
    return turn.answer


def shown_status(complaint: Complaint, answer: ComplaintAnswer | None) -> str:
    """The state a family reads: a new complaint an officer has answered is no longer "waiting for an officer"."""
    if complaint.status == ComplaintStatus.NEW and answer is not None:
        return "answered"
    return str(complaint.status)
