"""Polls as data (#22): what staff cannot save, and why they are told."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import Session

from hotline.context import Context
from hotline.models import utcnow
from hotline.polls import service
from tests.polls.builders import QUIZ, make_poll, poll_staff


@pytest.mark.parametrize("word, keyword", [("HELP", "HELP"), ("жардамга", "HELP"), ("СТОП", "STOP"), ("stop", "STOP")])
def test_a_poll_word_that_is_the_hotlines_keyword_is_refused(
    session: Session, ctx: Context, word: str, keyword: str
) -> None:
    with pytest.raises(service.PollRefused) as refused:
        make_poll(session, ctx, poll_staff(session), [QUIZ], keyword=word)
    assert str(refused.value) == f"“{word}” would be read as the hotline's keyword {keyword}: choose another word."


def test_a_poll_word_taken_by_another_poll_in_another_script_is_refused(session: Session, ctx: Context) -> None:
    user = poll_staff(session)
    make_poll(session, ctx, user, [QUIZ], name="Radio", keyword="КВИЗ")
    with pytest.raises(service.PollRefused, match="already the keyword of the poll “Radio”"):
        make_poll(session, ctx, user, [QUIZ], keyword="kviz")


def test_a_question_over_its_budget_is_refused_with_its_segments(session: Session, ctx: Context) -> None:
    poll = make_poll(session, ctx, poll_staff(session), [], keyword="КВИЗ", start=False)
    long = replace(QUIZ, texts={**QUIZ.texts, "ru": "Какой признак при беременности опасен? " * 4})
    with pytest.raises(service.PollRefused) as refused:
        service.add_question(session, ctx, poll, long)
    message = str(refused.value)
    assert message.startswith("Too long for its SMS (segments > budget): ru question: 3 > 2")
    assert "ru invitation: 4 > 3" in message and not any(f"{lang} " in message for lang in ("ky", "uz", "en"))
    assert service.questions_of(session, poll.id or 0) == []


def test_choices_must_be_given_in_every_language(session: Session, ctx: Context) -> None:
    poll = make_poll(session, ctx, poll_staff(session), [], keyword="КВИЗ", start=False)
    with pytest.raises(service.PollRefused, match="as many in every language"):
        service.add_question(session, ctx, poll, replace(QUIZ, choices={**QUIZ.choices, "uz": "Қон кетиши"}))


def test_a_poll_started_twice_is_refused(session: Session, ctx: Context) -> None:
    poll = make_poll(session, ctx, poll_staff(session), [QUIZ], keyword="КВИЗ")
    with pytest.raises(service.PollRefused, match="already been started"):
        service.start_poll(session, poll, utcnow())


def test_a_poll_without_questions_or_without_anyone_to_answer_is_refused(session: Session, ctx: Context) -> None:
    user = poll_staff(session)
    with pytest.raises(service.PollRefused, match="keyword or people to invite"):
        make_poll(session, ctx, user, [QUIZ])
    with pytest.raises(service.PollRefused, match="Add a question"):
        make_poll(session, ctx, user, [], keyword="КВИЗ")
