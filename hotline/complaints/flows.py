"""The complaint dialogue by SMS: text (one or several SMS), municipality if unknown, acknowledgement; STATUS."""

from __future__ import annotations

import re

from sqlmodel import col, select

from hotline.complaints import service
from hotline.dialogue.state import parse_number, save_conversation
from hotline.dialogue.turn import Answer, Turn
from hotline.models import Complaint, ComplaintDraft, Conversation, InboundMessage
from hotline.places import Place, get_gazetteer

FLOW = "complaint"


def has_words(text: str) -> bool:
    """A complaint needs at least a letter or a digit: whitespace or emoji alone are not one."""
    return any(ch.isalnum() for ch in text)


def draft_of(turn: Turn) -> ComplaintDraft | None:
    """The unfinished complaint of this phone, if any."""
    return turn.session.exec(select(ComplaintDraft).where(ComplaintDraft.contact_id == turn.contact.id)).first()


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
    draft = draft_of(turn)
    anonymous = anonymous or bool(draft and draft.anonymous)
    # From its first message on, an anonymous dialogue leaves nothing that leads to the phone.
    turn.private = anonymous
    if (
        service.complaints_today(turn.session, turn.ctx, turn.contact, turn.now)
        >= turn.ctx.settings.max_complaints_per_day
    ):
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
    draft.message_ids = _message_ids(turn, draft)
    draft.updated_at = turn.now
    turn.session.add(draft)
    if draft.anonymous:
        # Never the phone's remembered place: the place would tie the complaint to the family. Asked, or left out.
        save_conversation(turn, FLOW, "district", {"anonymous": True}, conversation)
        return turn.say("complaints/ask_district", districts=get_gazetteer().districts, anonymous=True)
    place = service.place_of(turn.contact)
    if place is not None:
        return _file(turn, draft, place, conversation)
    save_conversation(turn, FLOW, "district", {}, conversation)
    return turn.say("complaints/ask_district", districts=get_gazetteer().districts, anonymous=False)


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
    if conversation.step == "append":
        return _append(turn, conversation, body)
    draft = draft_of(turn)
    if draft is None:  # filed or discarded meanwhile
        turn.session.delete(conversation)
        return turn.say("menu")
    turn.private = turn.private or draft.anonymous
    draft.message_ids = _message_ids(turn, draft)  # every SMS of the dialogue belongs to the complaint
    turn.session.add(draft)
    gazetteer = get_gazetteer()
    district = gazetteer.get(conversation.data.get("district"))
    choices = gazetteer.municipalities.get(district.code, []) if district else gazetteer.districts
    # Only a bare number is a choice: "2 months unpaid" is more complaint text, not district 2.
    number = parse_number(body) if body.strip().rstrip(".").isdigit() else None
    place: Place | None = None
    if number == 0 and district is None and draft.anonymous:
        # "Rather not say": the complaint goes to the oblast, where no municipality's staff sees it.
        return _file(turn, draft, None, conversation)
    if number is not None:
        if district is not None and number == 0:
            place = district
        elif 1 <= number <= len(choices):
            place = choices[number - 1]
    else:
        place = gazetteer.find_by_name(body)
        if place is None and has_words(body):
            # Still writing: a long complaint often comes as several SMS. Keep it, ask again.
            draft.text = f"{draft.text}\n{body.strip()}"
    if place is not None and district is None and place.district is None and gazetteer.municipalities.get(place.code):
        data = {"district": place.code, **({"anonymous": True} if draft.anonymous else {})}
        save_conversation(turn, FLOW, "municipality", data, conversation)
        return turn.say(
            "complaints/ask_municipality", district=place, municipalities=gazetteer.municipalities[place.code]
        )
    if place is not None:
        return _file(turn, draft, place, conversation)
    save_conversation(turn, FLOW, conversation.step, conversation.data, conversation)
    if district is not None:
        return turn.say("complaints/ask_municipality", district=district, municipalities=choices)
    return turn.say("complaints/ask_district", districts=gazetteer.districts, anonymous=draft.anonymous)


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
    messages = turn.session.exec(select(InboundMessage).where(col(InboundMessage.id).in_(_message_ids(turn, draft))))
    for message in messages:
        if draft.anonymous:
            message.contact_id, message.body, message.replies = None, "", []
        else:
            message.complaint_id = complaint.id
        turn.session.add(message)
    if draft.id is not None:
        turn.session.delete(draft)
    if not draft.anonymous and place is not None:
        # Remember the place (so the next complaint is one SMS) and keep a window for further SMS.
        turn.contact.municipality_code = place.code
        turn.session.add(turn.contact)
        save_conversation(turn, FLOW, "append", {"complaint_id": complaint.id}, conversation)
    elif conversation is not None:
        turn.session.delete(conversation)
    due = turn.ctx.local_day(complaint.first_answer_due)
    window = turn.ctx.settings.conversation_timeout_minutes
    return turn.say("complaints/ack", reference=complaint.reference, pin=filed.pin, due=due, window_minutes=window)


def _append(turn: Turn, conversation: Conversation, body: str) -> Answer:
    complaint = turn.session.get(Complaint, conversation.data.get("complaint_id"))
    if complaint is None or not has_words(body):
        turn.session.delete(conversation)
        return turn.say("menu")
    service.append_text(turn.session, complaint, body.strip(), turn.now)
    message = turn.session.get(InboundMessage, turn.message_id) if turn.message_id else None
    if message is not None:
        message.complaint_id = complaint.id
        turn.session.add(message)
    save_conversation(turn, FLOW, "append", conversation.data, conversation)
    return turn.say("complaints/appended", reference=complaint.reference)


_DIGITS = re.compile(r"\d+")


def status(turn: Turn, rest: str) -> Answer:
    """STATUS <ref> [PIN]: the status and the officers' latest answer, or one "not found" for every miss."""
    groups = _DIGITS.findall(rest)
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
    return _show(turn, complaint)


def _show(turn: Turn, complaint: Complaint) -> Answer:
    answer = service.latest_answer(turn.session, complaint)
    turn.say("status/show", reference=complaint.reference, status=str(complaint.status), answered=answer is not None)
    if answer is not None:
        turn.say("status/answer", text=answer.text)
    return turn.answer
