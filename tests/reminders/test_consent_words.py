"""JOIN's consent answer as families type it: yes in four languages, in either script or both, enrols the family;
a no, a question or anything unclear is never taken for consent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.models import Enrolment, Household
from tests.factories import converse, render

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
JOIN = {"ky": "КАТТАЛУУ", "ru": "ПОДПИСКА", "uz": "АЪЗО", "en": "JOIN"}

AGREES = [
    ("ky", "ооба"),
    ("ky", "ooba"),
    ("ky", "ооба, рахмат"),  # politeness beside an answer changes nothing
    ("en", "yes please"),
    ("ky", "Ooba!"),
    ("ky", "макул"),
    ("ky", "makul"),
    ("ky", "ооба макул"),
    ("ru", "да"),
    ("ru", "da"),
    ("ru", "Да."),
    ("ru", "дa"),  # д Cyrillic, a Latin
    ("ru", "ок"),  # Cyrillic letters
    ("ru", "согласна"),
    ("ru", "soglasna"),
    ("ru", "да, согласна"),
    ("uz", "ha"),
    ("uz", "xa"),
    ("uz", "ха"),
    ("uz", "майли"),
    ("uz", "mayli"),
    ("uz", "рози"),
    ("en", "yes"),
    ("en", "ok"),
    ("en", "OK"),
    ("en", "1"),
]
REFUSES_OR_UNCLEAR = [
    ("ky", "жок"),
    ("ky", "jok"),
    ("ru", "нет"),
    ("ru", "спасибо"),  # politeness alone is no answer
    ("ru", "нет, спасибо"),
    ("ru", "не согласна"),
    ("ru", "да?"),
    ("ru", "да нет"),
    ("ru", "и"),
    ("uz", "yo'q"),
    ("uz", "йўқ"),
    ("en", "no"),
    ("en", "?"),
    ("en", "ok no"),
]


def _answer_consent(session: Session, ctx: Context, language: str, answer: str) -> str:
    """JOIN for a child from a phone writing `language`, its birth date, then `answer` to the consent question."""
    phone = "+996555100200"
    contact = get_or_create_contact(session, ctx, phone, NOW)
    contact.language = language
    session.add(contact)
    session.commit()
    converse(session, ctx, f"{JOIN[language]} 2", phone, NOW)
    asked = converse(session, ctx, "12.03.2026", phone, NOW)
    assert render(ctx, "reminders/join_consent", language) in asked
    replies = converse(session, ctx, answer, phone, NOW)
    session.commit()
    return " / ".join(replies)


@pytest.mark.parametrize(("language", "answer"), AGREES)
def test_a_yes_in_any_language_and_script_enrols(session: Session, ctx: Context, language: str, answer: str) -> None:
    reply = _answer_consent(session, ctx, language, answer)
    assert render(ctx, "reminders/join_declined", language) not in reply
    assert len(session.exec(select(Enrolment)).all()) == 1


@pytest.mark.parametrize(("language", "answer"), REFUSES_OR_UNCLEAR)
def test_a_no_or_an_unclear_answer_is_never_consent(session: Session, ctx: Context, language: str, answer: str) -> None:
    reply = _answer_consent(session, ctx, language, answer)
    assert render(ctx, "reminders/join_declined", language) in reply
    assert session.exec(select(Enrolment)).all() == [] and session.exec(select(Household)).all() == []
