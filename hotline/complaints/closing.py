"""Closing the loop (#21 point 4): a decided complaint's named family is told the outcome in one discreet SMS (with,
if HOTLINE_OUTCOME_RATING allows, a one-question rating of the handling, answered as a dialogue step); a STATUS
after the decision, the only way an anonymous family learns it, is recorded for the grievance report without
linking the phone, and may rate it in the same message."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import Session, select

from hotline.context import Context
from hotline.dialogue import private
from hotline.dialogue.turn import Answer, Turn
from hotline.messaging.outbox import enqueue
from hotline.models import Complaint, ComplaintOutcome, ComplaintStatus, Contact, Conversation, Purpose

FLOW = "rating"
TOLD_DECISIONS = frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED})
OUTCOME_VALID_DAYS = 3  # as an officer's answer: after that the family reads it on its next STATUS
RATING_VALID_DAYS = 7  # the rating question waits this long for its answer (a keyword ends it sooner)
RATINGS = (1, 2, 3)  # good, so-so, bad
_DIGITS = re.compile(r"\d+")


def outcome_of(session: Session, complaint: Complaint) -> ComplaintOutcome:
    """The complaint's outcome row, new (not yet added) if it has none."""
    found = session.get(ComplaintOutcome, complaint.id)
    return found or ComplaintOutcome(complaint_id=complaint.id or 0)


def tell_outcome(session: Session, ctx: Context, complaint: Complaint, now: datetime) -> None:
    """An officer resolved or rejected the complaint: its named family gets one SMS in its language (the reference,
    the outcome and STATUS; never the complaint's text), inviting a rating when the setting allows and no other
    dialogue of the phone is under way. An anonymous complaint gets nothing: its family asks by STATUS."""
    decision = ComplaintStatus(complaint.status)
    if decision not in TOLD_DECISIONS or complaint.anonymous or complaint.contact_id is None:
        return
    contact = session.get(Contact, complaint.contact_id)
    if contact is None:
        return
    outcome = outcome_of(session, complaint)
    conversation = session.exec(select(Conversation).where(Conversation.contact_id == contact.id)).first()
    busy = conversation is not None and conversation.expires_at > now and conversation.flow != FLOW
    rate = ctx.settings.outcome_rating and outcome.rating is None and not busy
    sms = ctx.texts.render(
        "complaints/outcome", complaint.language, reference=complaint.reference, outcome=decision.value, rate=rate
    )
    # One SMS per outcome: a complaint reopened and decided the other way is told again, a repeat of the same not.
    key = f"complaint:{complaint.id}:outcome:{decision.value}"
    enqueue(
        session,
        ctx,
        contact=contact,
        text=sms.text,
        purpose=Purpose.COMPLAINT_UPDATE,
        key=key,
        language=complaint.language,
        expires_at=now + timedelta(days=OUTCOME_VALID_DAYS),
        now=now,
    )
    outcome.outbound_key = key
    session.add(outcome)
    if rate:
        conversation = conversation or Conversation(contact_id=contact.id or 0, flow=FLOW, step=FLOW, data={})
        conversation.flow, conversation.step = FLOW, FLOW
        conversation.data = {"complaint_id": complaint.id, "language": complaint.language}
        conversation.expires_at, conversation.updated_at = now + timedelta(days=RATING_VALID_DAYS), now
        session.add(conversation)


def rating_in(text: str) -> int | None:
    """1, 2 or 3 when the reply starts with it ("2", "2 жакшы"); None for anything else."""
    found = _DIGITS.match(text.strip())
    return int(found.group()) if found and found.group() in ("1", "2", "3") else None


def continue_rating(turn: Turn, conversation: Conversation, body: str) -> Answer:
    """The reply to the rating question: a rating is kept and thanked for; anything else is asked once more, then
    the dialogue ends with the menu (a keyword ends it at once, in the engine)."""
    complaint = turn.session.get(Complaint, conversation.data.get("complaint_id"))
    turn.answer.language = str(conversation.data.get("language") or turn.answer.language)
    rating = rating_in(body)
    if complaint is None or (rating is None and conversation.data.get("missed")):
        turn.session.delete(conversation)
        return turn.say("menu")
    if rating is None:
        conversation.data = {**conversation.data, "missed": True}
        turn.session.add(conversation)
        return turn.say("complaints/rating_retry")
    _rate(turn.session, complaint, rating, turn.now)
    turn.session.delete(conversation)
    return turn.say("complaints/rating_thanks")


def _rate(session: Session, complaint: Complaint, rating: int, at: datetime) -> None:
    outcome = outcome_of(session, complaint)
    outcome.rating, outcome.rated_at = rating, at
    session.add(outcome)


def split_rating(groups: list[str]) -> tuple[list[str], int | None]:
    """A STATUS with a reference, a PIN and a lone 1-3 after them ("СТАТУС 12345678 0123 2") rates an anonymous
    complaint: the digit groups without it, and the rating."""
    if len(groups) >= 3 and groups[-1] in ("1", "2", "3"):
        return groups[:-1], int(groups[-1])
    return groups, None


def after_status(turn: Turn, complaint: Complaint, rating: int | None) -> None:
    """A STATUS has just shown a complaint. After its decision the family now knows the outcome: recorded for the
    report (in an anonymous turn, to the day, on a row that names no phone). An anonymous family may rate in the
    same message (split_rating), and is invited to once, when the setting allows."""
    decided = ComplaintStatus(complaint.status) in TOLD_DECISIONS | {ComplaintStatus.CLOSED}
    if not decided or complaint.decided_at is None:
        return
    at = private.coarse_time(turn.ctx, turn.now) if complaint.anonymous else turn.now
    outcome = outcome_of(turn.session, complaint)
    if outcome.status_seen_at is None:
        outcome.status_seen_at = at
        turn.session.add(outcome)
    if not complaint.anonymous or not turn.ctx.settings.outcome_rating:
        return
    if rating is not None:
        _rate(turn.session, complaint, rating, at)
        turn.say("complaints/rating_thanks")
    elif outcome.rating is None:
        turn.say("complaints/rate_by_status")
