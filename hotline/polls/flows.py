"""Answering a poll by SMS: a radio quiz's keyword starts it (a stored dialogue, question by question), and an invited
phone's reply answers the next question it has not answered. A keyword interrupts a poll as any dialogue; after
STOP nothing is asked (hotline/engine.py decides both before a poll sees the message)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from hotline.dialogue.state import save_conversation
from hotline.dialogue.turn import Answer, Turn
from hotline.keywords import split_first_word
from hotline.models import (
    Contact,
    Conversation,
    Household,
    Poll,
    PollAnswer,
    PollInvitation,
    PollQuestion,
    PollStatus,
)
from hotline.polls.reading import Reading, read_answer
from hotline.polls.service import choice_label, is_open, keyword_key, question_context, questions_of

FLOW = "poll"
KEYWORD = "POLL"  # stored as the message's keyword when a poll word started a poll


def poll_for_keyword(session: Session, body: str) -> tuple[Poll, str] | None:
    """The poll whose word a message starts with (in any script), and the words after it; None if none."""
    word, rest = split_first_word(body)
    if not word or not any(ch.isalpha() for ch in word):
        return None
    poll = session.exec(
        select(Poll).where(Poll.keyword_key == keyword_key(word), Poll.status != PollStatus.DRAFT)
    ).first()
    return (poll, rest) if poll is not None else None


def start(turn: Turn, poll: Poll, rest: str) -> Answer:
    """A poll's word: its first question (answered at once when the words after it answer it: "QUIZ 2")."""
    if not is_open(poll, turn.now):
        return _closed(turn, poll)
    questions = questions_of(turn.session, poll.id or 0)
    if rest.strip() and read_answer(questions[0], rest).understood:
        return _answer(turn, poll, questions, questions[0], rest, 0, None)
    return _ask(turn, poll, questions[0], None)


def continue_poll(turn: Turn, conversation: Conversation, body: str) -> Answer:
    """An answer to the question the dialogue asked."""
    poll = turn.session.get(Poll, conversation.data.get("poll", 0))
    question = turn.session.get(PollQuestion, int(conversation.step)) if conversation.step.isdecimal() else None
    if poll is None or question is None or not is_open(poll, turn.now):
        turn.session.delete(conversation)
        return turn.say("polls/ended")
    questions = questions_of(turn.session, poll.id or 0)
    return _answer(turn, poll, questions, question, body, int(conversation.data.get("misses", 0)), conversation)


def pending_invitation(session: Session, contact: Contact, now: datetime) -> tuple[PollInvitation, Poll] | None:
    """The newest invitation of a phone to a poll it has not finished (answered every question or given up)."""
    found = session.exec(
        select(PollInvitation, Poll)
        .join(Poll, col(Poll.id) == col(PollInvitation.poll_id))
        .where(
            PollInvitation.contact_id == contact.id,
            col(PollInvitation.done_at).is_(None),
            Poll.status != PollStatus.DRAFT,
        )
        .order_by(col(PollInvitation.id).desc())
    ).first()
    if found is None or not is_open(found[1], now) or _next_question(session, found[1], contact) is not None:
        return found  # an ended poll is still the phone's: it is told once that the poll has ended
    found[0].done_at = now  # answered every question already (by the poll's word): nothing more to take
    session.add(found[0])
    return None


def names_a_choice(session: Session, conversation: Conversation, body: str) -> bool:
    """True when a message names a choice of the question the poll's dialogue asked (by a word, not a number)."""
    question = session.get(PollQuestion, int(conversation.step)) if conversation.step.isdecimal() else None
    return question is not None and question.kind == "choice" and read_answer(question, body).choice is not None


def answer_invitation(turn: Turn, invited: tuple[PollInvitation, Poll], body: str) -> Answer:
    """A message from an invited phone in no dialogue: the answer to the next question it has not answered."""
    invitation, poll = invited
    if not is_open(poll, turn.now):
        invitation.done_at = turn.now  # told once; the next message gets the menu
        turn.session.add(invitation)
        return _closed(turn, poll)
    question = _next_question(turn.session, poll, turn.contact)
    assert question is not None  # pending_invitation found one
    questions = questions_of(turn.session, poll.id or 0)
    return _answer(turn, poll, questions, question, body, invitation.misses, None, invitation)


def _next_question(session: Session, poll: Poll, contact: Contact) -> PollQuestion | None:
    answered = set(
        session.exec(
            select(PollAnswer.question_id).where(PollAnswer.poll_id == poll.id, PollAnswer.contact_id == contact.id)
        )
    )
    return next((q for q in questions_of(session, poll.id or 0) if q.id not in answered), None)


def _closed(turn: Turn, poll: Poll) -> Answer:
    if poll.status == PollStatus.STARTED and turn.now < poll.starts_at:
        return turn.say("polls/not_started", day=turn.ctx.local_day(poll.starts_at))
    return turn.say("polls/ended")


def _ask(turn: Turn, poll: Poll, question: PollQuestion, conversation: Conversation | None) -> Answer:
    save_conversation(turn, FLOW, str(question.id), {"poll": poll.id, "misses": 0}, conversation)
    return turn.say("polls/question", **question_context(question, turn.answer.language))


def _answer(
    turn: Turn,
    poll: Poll,
    questions: list[PollQuestion],
    question: PollQuestion,
    body: str,
    misses: int,
    conversation: Conversation | None,
    invitation: PollInvitation | None = None,
) -> Answer:
    session, language = turn.session, turn.answer.language
    invitation = invitation or _invitation(session, poll, turn)
    reading = read_answer(question, body)
    if not reading.understood:
        if misses == 0:
            # Asked again once, with the choices; the question stays open.
            if conversation is not None:
                save_conversation(turn, FLOW, conversation.step, {**conversation.data, "misses": 1}, conversation)
            if invitation is not None:
                invitation.misses = 1
                session.add(invitation)
            return turn.say("polls/retry", **question_context(question, language))
        _finish(turn, conversation, invitation)
        return turn.say("polls/gave_up", keyword=poll.keyword)
    _record(turn, poll, question, reading, invited=invitation is not None)
    if invitation is not None and invitation.misses:
        invitation.misses = 0
        session.add(invitation)
    if question.correct:
        right = reading.choice == question.correct
        answer = choice_label(question.choices[question.correct - 1], language)
        turn.say("polls/feedback", right=right, answer=answer, text=question.feedback.get(language, ""))
    later = [q for q in questions if q.position > question.position]
    if later:
        return _ask(turn, poll, later[0], conversation)
    _finish(turn, conversation, invitation)
    return turn.say("polls/thanks")


def _invitation(session: Session, poll: Poll, turn: Turn) -> PollInvitation | None:
    return session.exec(
        select(PollInvitation).where(PollInvitation.poll_id == poll.id, PollInvitation.contact_id == turn.contact.id)
    ).first()


def _finish(turn: Turn, conversation: Conversation | None, invitation: PollInvitation | None) -> None:
    if conversation is not None and conversation.id is not None:
        turn.session.delete(conversation)
    if invitation is not None:
        invitation.done_at = turn.now
        turn.session.add(invitation)


def _record(turn: Turn, poll: Poll, question: PollQuestion, reading: Reading, *, invited: bool) -> None:
    """One answer per phone per question: the latest replaces the earlier one, or the first stays (the poll says)."""
    session, contact = turn.session, turn.contact
    existing = session.exec(
        select(PollAnswer).where(PollAnswer.question_id == question.id, PollAnswer.contact_id == contact.id)
    ).first()
    if existing is not None and poll.keep == "first":
        return
    household = session.exec(select(Household.municipality_code).where(Household.contact_id == contact.id)).first()
    row = existing or PollAnswer(
        poll_id=poll.id or 0, question_id=question.id or 0, contact_id=contact.id, language=turn.answer.language
    )
    row.choice, row.text = reading.choice, reading.text
    row.correct = reading.choice == question.correct if question.correct else None
    row.language = turn.answer.language
    row.municipality_code = household or contact.municipality_code
    row.invited = row.invited or invited
    row.answered_at = turn.now
    session.add(row)
    session.flush()
