"""Statements per SMS (#20): a named complaint from a phone whose municipality is remembered, what it costs the
database, and what the statements it no longer sends used to guarantee (a taken reference drawn again, one
complaint per recording, nothing left of a draft)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hotline.complaints import service
from hotline.context import Context
from hotline.models import Complaint, ComplaintDraft, Contact, Conversation, InboundMessage, RateEvent, utcnow
from hotline.places import get_gazetteer
from tests.factories import converse, render

# What one named complaint SMS from a known phone may cost, counted as statements sent to the driver (BEGIN and COMMIT
# are not statements the driver is given; an executemany counts once). Operators size the database by it ("statements
# per SMS", #20): more means a change made every complaint dearer. PostgreSQL sends one more: the phone's advisory
# lock (db.serialize), which SQLite's single writer does not need.
STATEMENTS_PER_COMPLAINT_SMS = 11


@contextmanager
def statements_on(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any, _many: bool) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def known_phone(session: Session, ctx: Context, code: str = "dara") -> Contact:
    """A phone that has written before, in Russian, and whose municipality is remembered (it complained before)."""
    converse(session, ctx, "HELP")
    contact = session.exec(select(Contact)).one()
    contact.municipality_code, contact.language = code, "ru"
    session.add(contact)
    session.commit()
    return contact


def test_a_complaint_sms_from_a_known_phone_costs_at_most_its_statement_budget(
    session: Session, ctx: Context, engine: Engine
) -> None:
    known_phone(session, ctx)
    session.close()  # nothing in the identity map: the count is that of a request's fresh session
    with statements_on(engine) as sent:
        [reply] = converse(session, ctx, "ЖАЛОБА пособие не платят уже 3 месяцев")
    budget = STATEMENTS_PER_COMPLAINT_SMS + (engine.dialect.name == "postgresql")
    assert len(sent) <= budget, "\n".join(sent)
    # Every row the statements it no longer sends used to write or read is as it was.
    session.expire_all()
    complaint = session.exec(select(Complaint)).one()
    assert reply.startswith(f"Жалоба {complaint.reference} принята")
    assert (complaint.municipality_code, complaint.category, complaint.text) == (
        "dara",
        "not_paid",
        "пособие не платят уже 3 месяцев",
    )
    message = session.exec(select(InboundMessage).where(InboundMessage.keyword == "COMPLAINT")).one()
    assert (message.complaint_id, message.replies, message.language) == (complaint.id, [reply], "ru")
    assert session.exec(select(ComplaintDraft)).first() is None
    window = session.exec(select(Conversation)).one()
    assert (window.flow, window.step, window.data) == ("complaint", "append", {"complaint_id": complaint.id})
    assert [e.kind for e in service.events_of(session, complaint)] == ["created"]
    assert len(session.exec(select(RateEvent).where(RateEvent.kind == "complaint")).all()) == 1


def test_the_daily_limit_counts_named_and_anonymous_complaints_alike(session: Session, ctx: Context) -> None:
    """The limit's two counters (named, and the anonymous day's private one) are read in the statement that reads
    the draft: both still count."""
    known_phone(session, ctx)
    for n in range(ctx.settings.max_complaints_per_day):
        kind = "ЖАЛОБА АНОНИМ" if n % 2 else "ЖАЛОБА"
        assert converse(session, ctx, f"{kind} пособие не платят в Даре {n}")[0].startswith("Жалоба ")
    limit = render(ctx, "complaints/limit", "ru")
    assert converse(session, ctx, "ЖАЛОБА пособие не платят") == [limit]
    assert converse(session, ctx, "ЖАЛОБА АНОНИМ пособие не платят") == [limit]
    session.expire_all()
    assert len(session.exec(select(Complaint)).all()) == ctx.settings.max_complaints_per_day
    assert any(c.anonymous for c in session.exec(select(Complaint)))


def test_a_reference_already_taken_is_drawn_again_and_the_sms_still_answered(
    session: Session, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    known_phone(session, ctx)
    [first] = converse(session, ctx, "ЖАЛОБА пособие не платят")
    taken = session.exec(select(Complaint)).one().reference
    draws = iter([taken, "00000000" if taken != "00000000" else "10000009"])
    monkeypatch.setattr(service, "new_reference", lambda: next(draws))  # the random draw, made to collide once
    [second] = converse(session, ctx, "ЖАЛОБА и детские не платят")
    session.expire_all()
    references = [c.reference for c in session.exec(select(Complaint).order_by(col(Complaint.id)))]
    assert references[0] == taken and len(references) == 2 and references[1] != taken
    assert second.startswith(f"Жалоба {references[1]} принята") and first != second


def test_a_recording_is_filed_once_and_the_transaction_goes_on(session: Session, ctx: Context) -> None:
    """Twilio's action and callback race: the second sees DuplicateRecording, and may still read and commit."""
    recording = service.Recording("RE" + "1" * 32, "https://api.twilio.com/recording", 40)
    place, now = get_gazetteer().places["dara"], utcnow()
    filed = service.file_complaint(
        session, ctx, contact=None, text="", anonymous=True, place=place, now=now, recording=recording
    )
    with pytest.raises(service.DuplicateRecording):
        service.file_complaint(
            session, ctx, contact=None, text="", anonymous=True, place=place, now=now, recording=recording
        )
    assert service.by_recording(session, recording.sid) is filed.complaint
    session.commit()
    assert len(session.exec(select(Complaint)).all()) == 1
