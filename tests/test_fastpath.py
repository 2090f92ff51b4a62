"""The webhook's fast path (hotline/fastpath.py, #20) answers and stores exactly what the engine would: the same
messages from two phones with the same history, one through the fast path (the engine when it stands aside), one
through the engine alone, give the same replies, message rows, contact and dialogue, and for a complaint the same
complaint, audit events, daily counts and append window. And it does answer the usual SMS, or it would buy nothing."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from hotline.complaints import service
from hotline.complaints.reference import is_valid_reference
from hotline.context import Context
from hotline.db import write_lock_of
from hotline.dialogue import private
from hotline.dialogue.inbound import Handled, Inbound
from hotline.engine import handle
from hotline.fastpath import FastPath
from hotline.models import (
    Complaint,
    ComplaintDraft,
    ComplaintEvent,
    Contact,
    Conversation,
    InboundMessage,
    RateEvent,
)
from tests.factories import OUR_NUMBER, new_sid
from tests.polls.builders import QUIZ, make_poll, poll_staff

FAST, ENGINE = "+996555700001", "+996555700002"
# A fixed day (no test depends on today): a Tuesday morning in Bishkek.
START = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)

# (body, whether the fast path is expected to answer it), in order: each message's answer depends on what came
# before (a dialogue started, a language switched).
SCRIPT: list[tuple[str, bool] | tuple[str, bool, int]] = [  # (body, fast?[, minutes after the one before])
    ("HELP", True),
    ("ПОМОЩЬ", True),  # switches the phone to Russian
    ("ЖӨЛӨКПУЛ 1", True),  # Kyrgyz, a programme by number
    ("НАФАҚА 3", True),
    ("ПОСОБИЕ 99", True),  # no such programme: the list again
    ("hello", True),  # the menu
    ("салам", True),
    ("балага сүйүнчү", True),  # a programme by what families call it: its choice dialogue
    ("2", False),  # answers it: the engine's
    ("ПОСОБИЕ", True),  # starts the choice dialogue
    ("BENEFITS 2", True),  # a keyword that ends the dialogue
    ("ПОСОБИЕ", True),
    ("CHECK", True),  # ends the choice, starts CHECK's
    ("3", False),  # CHECK's answer: the engine's
    ("ТИЛ", True),  # leaves CHECK's dialogue, starts the language list
    ("hello", True),  # the list's answer (not a language): the list again
    ("HELP", True),  # ends the language list
    ("ПОСОБИЕ", True),
    ("2 programme please", False),  # a number first answers the choice
    ("CHECK", True),
    ("ПОМОЩЬ", True, 45),  # after CHECK's dialogue expired: the keyword is answered, the dialogue deleted
    ("CHECK", True),
    ("hello", False, 45),  # after it expired, no keyword: the engine's notice
    ("ТИЛ", True),
    ("1", True),  # the list's answer: Kyrgyz
    ("LANG", True),
    ("русский", True),
    ("JOIN", False),  # enrolment: the engine's
    ("HELP", True),  # a keyword alone ends its dialogue
    ("LANG 2", True),
    ("ЖАРДАМ балам талма кармап жатат", False),  # a danger sign: the engine's
    ("ЖАЛОБА пособие не платят", False),  # a complaint: the engine's
    ("СТАТУС", False),
    ("STOP", False),
    ("HELP", False),  # after STOP: silent, the engine's
    ("START", False),
    ("KVIZ", False),  # a poll's word
    ("HELP", False),  # ends the poll's dialogue: the engine's
    ("HELP", True),
    ("HELP", True),
    ("HELP", False),  # the fourth alike in a row: a reply loop, paused by the engine
]


def _send(
    session: Session, ctx: Context, fast: Loop | None, sender: str, body: str, at: datetime, channel: str = "twilio"
) -> Handled:
    sms = Inbound(channel, new_sid(), sender, OUR_NUMBER, body, at)
    handled = fast.answer(sms) if fast is not None else None
    return handled if handled is not None else handle(session, ctx, sms)


def _state(session: Session, ctx: Context, sender: str) -> dict[str, Any]:
    contact = session.execute(
        sa.select(Contact).where(col(Contact.phone_hash) == ctx.vault.lookup_hash(sender))
    ).scalar_one()
    messages = session.execute(
        sa.select(
            col(col(InboundMessage.body)),
            col(col(InboundMessage.language)),
            col(col(InboundMessage.keyword)),
            col(col(InboundMessage.replies)),
            col(col(InboundMessage.received_at)),
            col(InboundMessage.complaint_id).is_(None),
        )
        .where(col(InboundMessage.contact_id) == contact.id)
        .order_by(col(InboundMessage.id))
    ).all()
    dialogue = session.execute(
        sa.select(
            col(col(Conversation.flow)),
            col(col(Conversation.step)),
            col(col(Conversation.data)),
            col(Conversation.expires_at),
        ).where(col(Conversation.contact_id) == contact.id)
    ).first()
    return {
        "contact": (contact.language, contact.last_channel, contact.updated_at, contact.opted_out_at),
        "messages": [tuple(row) for row in messages],
        "dialogue": tuple(dialogue) if dialogue else None,
        "receiver": [
            ctx.vault.decrypt(r)
            for r in session.execute(
                sa.select(col(InboundMessage.receiver_encrypted)).where(col(InboundMessage.contact_id) == contact.id)
            ).scalars()
        ],
    }


class Loop:
    """The fast path as the server runs it: awaited in one event loop (its PostgreSQL connections belong to it)."""

    def __init__(self, path: FastPath) -> None:
        self.path, self.loop = path, asyncio.new_event_loop()
        self.answered = 0

    def answer(self, sms: Inbound) -> Handled | None:
        handled = self.loop.run_until_complete(self.path.answer(sms))
        self.answered = self.path.answered
        return handled

    def close(self) -> None:
        self.loop.run_until_complete(self.path.aclose())
        self.loop.close()


@pytest.fixture
def fast(ctx: Context, engine: Engine) -> Iterator[Loop]:
    path = Loop(FastPath(ctx, engine))
    yield path
    path.close()


def test_the_fast_path_answers_and_stores_what_the_engine_would(
    engine: Engine, ctx: Context, session: Session, fast: Loop
) -> None:
    make_poll(session, ctx, poll_staff(session), [QUIZ], keyword="KVIZ", now=START)
    for sender in (FAST, ENGINE):  # both phones known (the fast path never makes a contact), last heard on Kannel
        _send(session, ctx, None, sender, "HELP", START, channel="kannel")
    at = START + timedelta(hours=2)
    answered_fast = []
    for number, (body, _, *gap) in enumerate(SCRIPT):
        at += timedelta(minutes=gap[0] if gap else 1)
        before = session.execute(sa.select(sa.func.count()).select_from(InboundMessage)).scalar_one()
        mine = _send(session, ctx, fast, FAST, body, at)
        session.expire_all()
        theirs = _send(session, ctx, None, ENGINE, body, at)
        session.expire_all()
        assert (mine.replies, mine.language, mine.keyword) == (theirs.replies, theirs.language, theirs.keyword), body
        assert _state(session, ctx, FAST) == _state(session, ctx, ENGINE), f"after {number}: {body}"
        after = session.execute(sa.select(sa.func.count()).select_from(InboundMessage)).scalar_one()
        assert after - before == 2, body  # each message stored once on each path
        answered_fast.append(fast.answered)
    assert [step[0] for step in SCRIPT if step[1]] == [
        step[0] for step, was in zip(SCRIPT, _deltas(answered_fast), strict=True) if was
    ]


def _deltas(counts: list[int]) -> list[bool]:
    return [after > before for before, after in zip([0, *counts[:-1]], counts, strict=True)]


def test_a_repeated_message_id_is_answered_once_with_the_first_answer(
    ctx: Context, session: Session, fast: Loop
) -> None:
    _send(session, ctx, None, FAST, "HELP", START)
    sms = Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "BENEFITS 2", START + timedelta(minutes=1))
    first = fast.answer(sms)
    assert first is not None and first.replies
    again = fast.answer(sms) or handle(session, ctx, sms)  # the fast path stands aside; the engine repeats
    assert again.replies == first.replies
    assert session.execute(sa.select(sa.func.count()).select_from(InboundMessage)).scalar_one() == 2


def test_a_new_phone_goes_to_the_engine_and_nothing_is_written(ctx: Context, session: Session, fast: Loop) -> None:
    assert fast.answer(Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "HELP", START)) is None
    assert session.execute(sa.select(sa.func.count()).select_from(Contact)).scalar_one() == 0
    assert session.execute(sa.select(sa.func.count()).select_from(InboundMessage)).scalar_one() == 0


@pytest.mark.parametrize("url", ["postgresql+psycopg://nobody@127.0.0.1:1/none", "sqlite:////nonexistent/dir/x.db"])
def test_a_database_that_fails_sends_the_message_to_the_engine(ctx: Context, url: str) -> None:
    path = FastPath(ctx, sa.create_engine(url))
    path.pool_timeout = 0.5
    loop = Loop(path)
    try:
        assert loop.answer(Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "HELP", START)) is None
        # then it stands aside for a moment without trying again (a database that hangs would hold requests)
        assert loop.answer(Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "HELP", START)) is None
        assert path.failures == 1
    finally:
        loop.close()


# Named complaints (and what is not one the fast path files) from two phones whose municipality is remembered, with
# the day's limit at five: (body, whether the fast path answers it).
COMPLAINTS: list[tuple[str, bool]] = [
    ("ЖАЛОБА с нас взяли 1000 сом за справку", True),  # a bribe: routed above the municipality, two events
    ("и справку так и не дали", False),  # more text within the append window: the engine appends it
    ("СТАТУС", False),  # the latest complaint's status; leaves the window
    ("HELP", True),  # the phone switches to English
    ("COMPLAINT benefit not paid for three months", True),  # ordinary, in English
    ("HELP", True),  # a keyword alone leaves the append window
    ("ЖАЛОБА пособие не платят, Лейлек районундагы Катран айылында", False),  # another village: filed there
    ("ЖАЛОБА пособие не платят", True),  # within that one's window: a new one, at Katran now remembered (4th)
    ("HELP", True),
    ("ЖАЛОБА", False),  # no text: asked for it
    ("HELP", False),  # leaves the question (a draft waits): the engine's
    ("COMPLAINT ANON the akim took money", False),  # anonymous: asked where, nothing kept beside the phone
    ("1", False),  # the rayon: filed (the fifth of the day)
    ("ЖАЛОБА детские не платят", False),  # over the day's limit
    ("СТАТУС", False),
]
LIMIT = 5


def _complaint_state(session: Session, ctx: Context, sender: str) -> dict[str, Any]:
    """Everything a complaint leaves about a phone, with its references and ids as their order (each phone's are its
    own): the rows of _state, its complaints (every column), their events, its daily counts."""
    contact = session.execute(
        sa.select(Contact).where(col(Contact.phone_hash) == ctx.vault.lookup_hash(sender))
    ).scalar_one()
    complaints = (
        session.execute(sa.select(Complaint).where(col(Complaint.contact_id) == contact.id).order_by(col(Complaint.id)))
        .scalars()
        .all()
    )
    order = {complaint.id: n for n, complaint in enumerate(complaints)}
    references = {complaint.reference: f"<reference {n}>" for n, complaint in enumerate(complaints)}

    def hide(value: Any) -> Any:
        if isinstance(value, str):
            return _swap(value, references)
        if isinstance(value, list | tuple):
            return type(value)(hide(item) for item in value)
        return value

    state = _state(session, ctx, sender)
    messages = session.execute(
        sa.select(col(InboundMessage.complaint_id))
        .where(col(InboundMessage.contact_id) == contact.id)
        .order_by(col(InboundMessage.id))
    ).scalars()
    state["messages"] = [(*hide(row), order.get(of)) for row, of in zip(state["messages"], messages, strict=True)]
    dialogue = session.execute(
        sa.select(sa.cast(col(Conversation.data), sa.Text)).where(col(Conversation.contact_id) == contact.id)
    ).scalar()
    # The dialogue's data as stored, its complaint's id as the complaint's order.
    if state["dialogue"] is not None:
        flow, step, _, expires = state["dialogue"]
        state["dialogue"] = (
            flow,
            step,
            re.sub(r"\d+", lambda n: f"<{order[int(n.group())]}>", dialogue or ""),
            expires,
        )
    state["complaints"] = [_columns(session, complaint.id) for complaint in complaints]
    state["events"] = [
        list(
            session.execute(
                sa.select(
                    col(ComplaintEvent.kind),
                    col(ComplaintEvent.actor),
                    col(ComplaintEvent.actor_id),
                    col(ComplaintEvent.at),
                    sa.cast(col(ComplaintEvent.details), sa.Text),  # the JSON as stored, byte for byte
                )
                .where(col(ComplaintEvent.complaint_id) == complaint.id)
                .order_by(col(ComplaintEvent.id))
            ).all()
        )
        for complaint in complaints
    ]
    day = ctx.local_day(START)
    state["counted"] = (
        service.count_today(session, "complaint", service.complaint_rate_key(ctx, contact), day),
        private.count(session, service.anonymous_rate_key(ctx, contact, day), day),
    )
    state["draft"] = session.execute(
        sa.select(col(ComplaintDraft.text)).where(col(ComplaintDraft.contact_id) == contact.id)
    ).scalar()
    state["remembered"] = contact.municipality_code
    state["references"] = [complaint.reference for complaint in complaints]
    return state


def _swap(text: str, references: dict[str, str]) -> str:
    return re.sub(r"\d{8}", lambda digits: references.get(digits.group(), digits.group()), text)


def _columns(session: Session, complaint_id: int | None) -> dict[str, Any]:
    """A complaint's row as stored (not as the model reads it), but for its id, reference, PIN and phone."""
    row = session.execute(sa.select(Complaint.__table__).where(Complaint.__table__.c.id == complaint_id)).one()  # type: ignore[attr-defined]
    return {
        key: value for key, value in row._mapping.items() if key not in ("id", "reference", "pin_hash", "contact_id")
    }


def test_a_named_complaint_is_filed_by_the_fast_path_as_the_engine_files_it(
    engine: Engine, ctx: Context, session: Session
) -> None:
    ctx = replace(ctx, settings=ctx.settings.model_copy(update={"max_complaints_per_day": LIMIT}))
    fast = Loop(FastPath(ctx, engine))
    try:
        for sender in (FAST, ENGINE):  # both known, in Russian, their village remembered (they complained before)
            _send(session, ctx, None, sender, "ПОМОЩЬ", START, channel="kannel")
        session.execute(sa.update(Contact).values(municipality_code="dara"))
        session.commit()
        at = START + timedelta(hours=2)
        answered_fast = []
        for number, (body, _) in enumerate(COMPLAINTS):
            at += timedelta(minutes=1)
            mine = _send(session, ctx, fast, FAST, body, at)
            session.expire_all()
            theirs = _send(session, ctx, None, ENGINE, body, at)
            session.expire_all()
            assert (mine.language, mine.keyword, mine.private) == (theirs.language, theirs.keyword, theirs.private)
            mine_state, theirs_state = _complaint_state(session, ctx, FAST), _complaint_state(session, ctx, ENGINE)
            hidden = dict(zip(mine_state["references"], theirs_state["references"], strict=True))
            if mine.private:  # an anonymous complaint's reference and PIN, linked to no phone: compared at the end
                mine, theirs = (
                    replace(h, replies=[re.sub(r"\d{4,}", "#", r) for r in h.replies]) for h in (mine, theirs)
                )
            assert [_swap(reply, hidden) for reply in mine.replies] == theirs.replies, body
            for state in (mine_state, theirs_state):
                references = state.pop("references")
                assert all(re.fullmatch(r"\d{8}", r) and is_valid_reference(r) for r in references)
            assert not set(hidden) & set(hidden.values())  # every phone's references its own
            assert mine_state == theirs_state, f"after {number}: {body}"
            answered_fast.append(fast.answered)
        assert [body for body, expected in COMPLAINTS if expected] == [
            body for (body, _), was in zip(COMPLAINTS, _deltas(answered_fast), strict=True) if was
        ]
        # What the script filed, so the comparison above compared something: four named complaints each (one a
        # bribe sent up, one at the village the text named) and an anonymous one, which is linked to no phone.
        state = _complaint_state(session, ctx, FAST)
        assert [(c["category"], c["jurisdiction"], c["municipality_code"]) for c in state["complaints"]] == [
            ("bribe", "district", "dara"),
            ("not_paid", "municipality", "dara"),
            ("not_paid", "municipality", "katran"),
            ("not_paid", "municipality", "katran"),
        ]
        assert [[event[0] for event in events] for events in state["events"]][:2] == [
            ["created", "routed", "message_appended"],
            ["created"],
        ]
        assert state["counted"] == (4, 1) and state["complaints"][1]["language"] == "en"
        anonymous = session.execute(sa.select(Complaint).where(col(Complaint.anonymous))).scalars().all()
        assert len(anonymous) == 2
        assert _columns(session, anonymous[0].id) == _columns(session, anonymous[1].id)
    finally:
        fast.close()


def _known_complainant(session: Session, ctx: Context) -> None:
    _send(session, ctx, None, FAST, "ПОМОЩЬ", START)
    session.execute(sa.update(Contact).values(municipality_code="dara"))
    session.commit()


def _count(session: Session, table: Any) -> int:
    session.expire_all()
    return int(session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_repeated_complaint_sms_files_one_complaint(ctx: Context, session: Session, fast: Loop) -> None:
    _known_complainant(session, ctx)
    sms = Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "ЖАЛОБА пособие не платят", START + timedelta(minutes=1))
    first = fast.answer(sms)
    assert first is not None and first.keyword == "COMPLAINT"
    assert fast.answer(sms) is None  # the fast path sees the repeat; the engine answers it as before
    assert handle(session, ctx, sms).replies == first.replies
    assert (_count(session, Complaint), _count(session, InboundMessage), _count(session, RateEvent)) == (1, 2, 1)


def test_a_taken_reference_is_drawn_again_and_the_reply_names_the_one_filed(
    ctx: Context, session: Session, fast: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    _known_complainant(session, ctx)
    first = fast.answer(Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "ЖАЛОБА пособие не платят", START))
    assert first is not None
    taken = session.execute(sa.select(col(Complaint.reference))).scalar_one()
    _send(session, ctx, None, FAST, "HELP", START + timedelta(minutes=1))  # closes the append window
    draws = iter([taken, taken, "00000000" if taken != "00000000" else "10000009"])
    monkeypatch.setattr(service, "new_reference", lambda: next(draws))
    second = fast.answer(
        Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "ЖАЛОБА детские не платят", START + timedelta(minutes=2))
    )
    assert second is not None
    session.expire_all()
    references = session.execute(sa.select(col(Complaint.reference)).order_by(col(Complaint.id))).scalars().all()
    assert len(references) == 2 and references[0] == taken and references[1] != taken
    assert references[1] in second.replies[0] and taken not in second.replies[0]


def test_a_complaint_sms_the_engine_is_answering_is_filed_once(
    ctx: Context, session: Session, engine: Engine, fast: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: the engine has filed the complaint (uncommitted) when the fast path gets the same SMS: the fast path
    files, the engine's commit meets the message and it answers as a repeat. (SQLite has one writer: the fast path
    waits for the engine's turn to end, below, so it never runs inside it.)"""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: the fast path waits for the engine's turn, never runs inside it")
    _known_complainant(session, ctx)
    sms = Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "ЖАЛОБА пособие не платят", START + timedelta(minutes=1))
    original, answered = service.file_complaint, list[Handled | None]()

    def file_then_race(*args: Any, **kwargs: Any) -> service.Filed:
        filed = original(*args, **kwargs)
        if not answered:  # the engine's first try only
            answered.append(fast.answer(sms))
        return filed

    monkeypatch.setattr(service, "file_complaint", file_then_race)
    theirs = handle(session, ctx, sms)
    [mine] = answered
    assert mine is not None and mine.replies == theirs.replies
    assert (_count(session, Complaint), _count(session, InboundMessage), _count(session, RateEvent)) == (1, 2, 1)
    assert _count(session, ComplaintEvent) == 1 and _count(session, Conversation) == 1


def test_a_complaint_sms_whose_repeat_is_being_stored_files_nothing(
    ctx: Context, session: Session, engine: Engine, fast: Loop
) -> None:
    """PostgreSQL: another request has inserted the same SMS and not yet committed; the fast path's insert waits for
    it and then files nothing (the complaint is inserted only with a new message)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: the fast path never runs beside another")
    _known_complainant(session, ctx)
    sms = Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "ЖАЛОБА пособие не платят", START + timedelta(minutes=1))
    with Session(engine) as other:
        other.add(
            InboundMessage(
                channel=sms.channel,
                message_sid=sms.message_id,
                receiver_encrypted=ctx.vault.encrypt(OUR_NUMBER),
                body=sms.body,
                received_at=sms.received_at,
                language="ru",
                replies=["first"],
            )
        )
        other.flush()
        result: list[Handled | None] = []
        racing = threading.Thread(target=lambda: result.append(fast.answer(sms)))
        racing.start()
        _until_waiting(engine, racing)
        other.commit()
        racing.join()
    assert result == [None]
    assert (_count(session, Complaint), _count(session, InboundMessage), _count(session, RateEvent)) == (0, 2, 0)
    assert handle(session, ctx, sms).replies == ["first"]


def _until_waiting(engine: Engine, racing: threading.Thread) -> None:
    """Return once a statement on this database waits for a lock (the racing one), or the racer is done."""
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    with engine.connect() as watch:
        while not watch.execute(waiting).scalar_one() and racing.is_alive():
            watch.rollback()  # a new snapshot of pg_stat_activity each time


def test_a_reference_a_concurrent_insert_takes_is_drawn_again(
    ctx: Context, session: Session, engine: Engine, fast: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: another request is filing a complaint with the reference the fast path drew (not yet committed):
    the fast path's insert waits, fails on the unique reference with nothing written, and files under another."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: the fast path never runs beside another")
    _known_complainant(session, ctx)
    draws = iter(["00000000", "00000000", "10000009"])
    monkeypatch.setattr(service, "new_reference", lambda: next(draws))
    sms = Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "ЖАЛОБА пособие не платят", START + timedelta(minutes=1))
    with Session(engine) as other:
        service.file_complaint(other, ctx, contact=None, text="x", anonymous=True, place=None, now=sms.received_at)
        result: list[Handled | None] = []
        racing = threading.Thread(target=lambda: result.append(fast.answer(sms)))
        racing.start()
        _until_waiting(engine, racing)
        other.commit()
        racing.join()
    [handled] = result
    assert handled is not None and "10000009" in handled.replies[0]
    session.expire_all()
    mine = session.execute(sa.select(Complaint).where(col(Complaint.contact_id).is_not(None))).scalar_one()
    assert mine.reference == "10000009" and fast.path.failures == 0
    # The other's (anonymous, place unknown: created and routed) and the fast path's (created) events.
    assert (_count(session, Complaint), _count(session, InboundMessage), _count(session, ComplaintEvent)) == (2, 2, 3)


def test_on_sqlite_an_sms_waits_for_the_one_writer_and_is_answered_on_the_fast_path(
    ctx: Context, session: Session, engine: Engine, fast: Loop
) -> None:
    """An SMS that arrives while an engine's turn holds SQLite's one writer waits for it (in a worker thread, not on
    the event loop) and is then answered here; handing it to the engine made every wait a slow turn of its own."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL takes concurrent writers: there is no write lock")
    _send(session, ctx, None, FAST, "HELP", START)
    lock = write_lock_of(engine)
    lock.acquire()
    releaser = threading.Timer(0.2, lock.release)
    releaser.start()
    handled = fast.answer(Inbound("twilio", new_sid(), FAST, OUR_NUMBER, "BENEFITS 2", START + timedelta(minutes=1)))
    releaser.join()
    assert handled is not None and handled.replies and fast.answered == 1
    assert lock.acquire(blocking=False)  # and it let go of the lock
    lock.release()
