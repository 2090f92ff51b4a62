"""SMS dialogues of the reminders: JOIN (enrol, with consent), BORN, LOSS, PAUSE, and danger-sign answers."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import col, select

from hotline.dialogue import place_question
from hotline.dialogue.state import save_conversation
from hotline.dialogue.turn import Answer, Turn
from hotline.models import Conversation, Enrolment, EnrolmentKind, EnrolmentStatus, Household
from hotline.places import get_gazetteer
from hotline.reminders import alerts, join_place, volunteers
from hotline.reminders.dates import birth_date, enrolment_kind, is_one_of, parse_date, pregnancy_month, read_date
from hotline.reminders.service import (
    EnrolmentError,
    check_birth_date,
    check_due_date,
    due_date_from_month,
    enrol,
    example_birth_date,
    household_of,
    join_examples,
)

FLOW = "join"
MAX_RETRIES = 2  # an answer not understood is asked again twice, then the dialogue ends with advice
# The steps a message with BORN's word may answer ("родился в марте" is a date); not consent, not the place.
DATE_STEPS = ("kind", "pregnancy", "child")


def _household(turn: Turn) -> Household | None:
    return turn.session.exec(select(Household).where(Household.contact_id == turn.contact.id)).first()


def _note_place(turn: Turn, text: str) -> None:
    """A village the family names while enrolling (ПОДПИСКА, мы из Кара-Бака) is its place, when none is known yet:
    the household is then found by the health staff of that area. Only one clear place; then JOIN does not ask it."""
    named = get_gazetteer().find_in_text(text)
    if len(named) != 1 or turn.contact.municipality_code:
        return
    turn.contact.municipality_code = named[0].code
    turn.session.add(turn.contact)
    household = _household(turn)
    if household is not None and household.municipality_code is None:
        household.municipality_code = named[0].code
        turn.session.add(household)


def start_join(turn: Turn, rest: str) -> Answer:
    """JOIN: pregnancy or child? (JOIN 1 / JOIN 2 answer it at once; 'JOIN беременна 6 мес' answers both questions.)"""
    _note_place(turn, rest)
    if rest.strip():
        return _kind(turn, None, rest)
    save_conversation(turn, FLOW, "kind", {"retries": 0})
    return turn.say("reminders/join_kind")


def continue_join(turn: Turn, conversation: Conversation, body: str) -> Answer:
    """The next answer of the JOIN dialogue."""
    step = conversation.step
    if step in place_question.STEPS:
        return join_place.continue_place(turn, conversation, body)
    _note_place(turn, body)
    if step == "kind":
        return _kind(turn, conversation, body)
    if step == "pregnancy":
        return _pregnancy(turn, conversation, body)
    if step == "child":
        return _child(turn, conversation, body)
    return _consent(turn, conversation, body)


def _retry(turn: Turn, conversation: Conversation | None, step: str, data: dict[str, object], reason: str) -> Answer:
    retries = int(str(data.get("retries", 0))) + 1
    if retries > MAX_RETRIES:
        if conversation is not None:
            turn.session.delete(conversation)
        return turn.say("reminders/join_gave_up")
    save_conversation(turn, FLOW, step, {**data, "retries": retries}, conversation)
    return turn.say("reminders/join_retry", reason=reason, step=step, **join_examples(turn.day))


def join_details(text: str) -> tuple[str | None, bool]:
    """The kind of enrolment a message names and whether it may also hold its date: '1'/'2' answer only the question;
    'Беременна 6 мес', 'бала 3 айлык' name the kind in words, with the date after it."""
    if is_one_of(text, "pregnancy"):
        return "pregnancy", False
    if is_one_of(text, "child"):
        return "child", False
    kind = enrolment_kind(text)
    return kind, kind is not None


def _kind(turn: Turn, conversation: Conversation | None, body: str) -> Answer:
    data: dict[str, object] = dict(conversation.data) if conversation else {"retries": 0}
    kind, in_words = join_details(body)
    if kind is None:
        return _retry(turn, conversation, "kind", data, "kind")
    # What JOIN was already told is not asked again: a month or a date after the kind word answers the next question.
    if in_words and read_date(body, turn.day).said_something:
        return _pregnancy(turn, conversation, body) if kind == "pregnancy" else _child(turn, conversation, body)
    save_conversation(turn, FLOW, kind, {"retries": 0}, conversation)
    return turn.say(f"reminders/join_{kind}", **join_examples(turn.day))


def _pregnancy(turn: Turn, conversation: Conversation | None, body: str) -> Answer:
    data: dict[str, object] = dict(conversation.data) if conversation else {"retries": 0}
    month = pregnancy_month(body)  # "5", "5 ай", "беш ай", "бешинчи ай"; a range such as "3-4 ай" is asked again
    due = None if month is not None else parse_date(body, turn.answer.language, turn.day, when="future")
    if month is None and due is None:
        return _retry(turn, conversation, "pregnancy", data, "unparsed")
    try:  # checked now, so the family is asked again before it gives consent
        due = due_date_from_month(month, turn.day) if month is not None else due
        assert due is not None
        check_due_date(due, turn.day)
    except EnrolmentError as refused:
        return _retry(turn, conversation, "pregnancy", data, refused.reason)
    return _ask_consent(turn, conversation, {"kind": "pregnancy", "date": due.isoformat()})


def _child(turn: Turn, conversation: Conversation | None, body: str) -> Answer:
    data: dict[str, object] = dict(conversation.data) if conversation else {"retries": 0}
    born_on = birth_date(body, turn.answer.language, turn.day)  # a date or an age: "3 айлык" is 3 months ago
    if born_on is None:
        return _retry(turn, conversation, "child", data, "unparsed")
    try:
        check_birth_date(born_on, turn.day)
    except EnrolmentError as refused:
        return _retry(turn, conversation, "child", data, refused.reason)
    return _ask_consent(turn, conversation, {"kind": "child", "date": born_on.isoformat()})


def _ask_consent(turn: Turn, conversation: Conversation | None, data: dict[str, object]) -> Answer:
    if _household(turn) is not None:  # consent was given at the first JOIN: a second child is simply added
        return _enrol(turn, conversation, data)
    save_conversation(turn, FLOW, "consent", {**data, "retries": 0}, conversation)
    return turn.say("reminders/join_consent")


def _consent(turn: Turn, conversation: Conversation, body: str) -> Answer:
    if not is_one_of(body, "yes"):
        turn.session.delete(conversation)
        return turn.say("reminders/join_declined")
    return _enrol(turn, conversation, dict(conversation.data))


def _enrol(turn: Turn, conversation: Conversation | None, data: dict[str, object]) -> Answer:
    household = household_of(turn.session, turn.contact, turn.now, "sms")
    kind = EnrolmentKind(str(data["kind"]))
    day = date.fromisoformat(str(data["date"]))
    dates = {"due_date": day} if kind == EnrolmentKind.PREGNANCY else {"birth_date": day}
    enrol(turn.session, household, kind, turn.now, turn.day, **dates)
    turn.say("reminders/join_done", kind=kind.value, day=day)
    # Enrolled first, so a family that does not answer the place question is enrolled all the same.
    return join_place.ask_place(turn, household, conversation)


def _active(turn: Turn, kind: EnrolmentKind) -> list[Enrolment]:
    household = _household(turn)
    if household is None:
        return []
    return list(
        turn.session.exec(
            select(Enrolment)
            .where(Enrolment.household_id == household.id, Enrolment.kind == kind)
            .where(col(Enrolment.status).in_([EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED]))
            .order_by(col(Enrolment.id))
        )
    )


def born(turn: Turn, rest: str) -> Answer:
    """BORN [date]: the pregnancy becomes a child (born today unless a date is given); a second BORN near an enrolled
    child's birth corrects its date; a household with a child enrolled that has another baby enrols it too."""
    pregnancies = _active(turn, EnrolmentKind.PREGNANCY)
    # "РОДИЛА 20 ноября", "ТӨРӨДҮМ кечээ"; words without a date ("РОДИЛА сына") mean today
    said_a_date = read_date(rest, turn.day, "past").said_something
    day = birth_date(rest, turn.answer.language, turn.day) if said_a_date else turn.day
    if not pregnancies:
        # The same baby when the date (or today, without one) is near an enrolled child's birth: a correction.
        child = _child_born_near(turn, day) if day is not None else _born_child(turn)
        if child is not None:
            return _correct_birth(turn, child, said_a_date, day)
        if not _active(turn, EnrolmentKind.CHILD):
            return turn.say("reminders/not_enrolled")
        # A household enrolled for a child (its consent given) has had another baby: it is enrolled beside it.
    if day is None or day > turn.day:
        return turn.say("reminders/born_date", example=example_birth_date(turn.day))
    if pregnancies:
        pregnancies[0].status, pregnancies[0].updated_at = EnrolmentStatus.COMPLETED, turn.now
        turn.session.add(pregnancies[0])
    household = _household(turn)
    assert household is not None
    enrol(turn.session, household, EnrolmentKind.CHILD, turn.now, turn.day, birth_date=day)
    return turn.say("reminders/born")


def _born_child(turn: Turn) -> Enrolment | None:
    """The child BORN enrolled: the newest active (or paused) child enrolled since a pregnancy was completed."""
    household = _household(turn)
    if household is None:
        return None
    completed = (
        select(sa.func.max(Enrolment.updated_at))
        .where(Enrolment.household_id == household.id, Enrolment.kind == EnrolmentKind.PREGNANCY)
        .where(Enrolment.status == EnrolmentStatus.COMPLETED)
        .scalar_subquery()
    )
    return turn.session.exec(
        select(Enrolment)
        .where(Enrolment.household_id == household.id, Enrolment.kind == EnrolmentKind.CHILD)
        .where(col(Enrolment.status).in_([EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED]))
        .where(col(Enrolment.created_at) >= completed)
        .order_by(col(Enrolment.id).desc())
    ).first()


CORRECTION_DAYS = 42  # a BORN date this close to an enrolled child's birth date is the same baby, mistyped at JOIN


def _child_born_near(turn: Turn, day: date) -> Enrolment | None:
    """The enrolled child (by BORN, JOIN or staff) born within CORRECTION_DAYS of the day BORN gives."""
    near = [
        child
        for child in _active(turn, EnrolmentKind.CHILD)
        if child.birth_date is not None and abs((child.birth_date - day).days) <= CORRECTION_DAYS
    ]
    return near[-1] if near else None


def _correct_birth(turn: Turn, child: Enrolment, said_a_date: bool, day: date | None) -> Answer:
    """A new date replaces the child's birth date (the planner reads it, so the next reminders follow it); without
    one, the family is told the date on record and how to correct it."""
    example = example_birth_date(turn.day)
    if not said_a_date:
        return turn.say("reminders/born_corrected", day=child.birth_date, changed=False, example=example)
    try:
        if day is None:
            raise EnrolmentError("unreadable")
        check_birth_date(day, turn.day)
    except EnrolmentError:
        return turn.say("reminders/born_date", example=example)
    changed = day != child.birth_date
    if changed:
        child.birth_date, child.updated_at = day, turn.now
        turn.session.add(child)
    return turn.say("reminders/born_corrected", day=day, changed=changed, example=example)


def loss(turn: Turn) -> Answer:
    """LOSS: pregnancy messages stop at once, one compassionate message, never baby messages."""
    pregnancies = _active(turn, EnrolmentKind.PREGNANCY)
    for pregnancy in pregnancies:
        pregnancy.status, pregnancy.updated_at = EnrolmentStatus.LOSS, turn.now
        turn.session.add(pregnancy)
    return turn.say("reminders/loss") if pregnancies else turn.say("reminders/not_enrolled")


def pause(turn: Turn) -> Answer:
    """PAUSE: no reminders until JOIN or START; other messages (answers to complaints) still arrive."""
    household = _household(turn)
    if household is None:
        return turn.say("reminders/not_enrolled")
    for enrolment in _active(turn, EnrolmentKind.PREGNANCY) + _active(turn, EnrolmentKind.CHILD):
        enrolment.status, enrolment.updated_at = EnrolmentStatus.PAUSED, turn.now
        turn.session.add(enrolment)
    return turn.say("reminders/paused")


def resume(turn: Turn) -> None:
    """START after PAUSE (or STOP) makes paused enrolments active again."""
    household = _household(turn)
    if household is None:
        return
    for kind in EnrolmentKind:
        for enrolment in _active(turn, kind):
            if enrolment.status == EnrolmentStatus.PAUSED:
                enrolment.status, enrolment.updated_at = EnrolmentStatus.ACTIVE, turn.now
                turn.session.add(enrolment)


def danger(turn: Turn, text: str) -> Answer:
    """A danger sign or DANGER: go to the nearest facility now, call 103; health staff see it on the admin page, the
    village's volunteers are told (once for the day's alert)."""
    alert = alerts.raise_alert(turn.session, turn.ctx, turn.contact, turn.message_id, text, turn.now)
    volunteers.notify(turn.session, turn.ctx, alert, turn.contact, turn.now)
    return turn.say("reminders/danger")
