"""The webhook's hot path (#20): the SMS most families send (a keyword with no dialogue in progress: HELP, BENEFITS
and a programme, CHECK, LANG, or a text that gets the menu; and a named complaint, COMPLAINT <text>, from a phone
whose municipality is remembered) answered with one read and one write, on the event loop, without ORM objects.
Everything else, and anything the one read shows to be unusual (a new phone, a dialogue or a complaint's draft, an
opt-out, a repeat of the transport's id, a poll, a danger sign, the day's complaints used up), returns None and goes
to hotline.engine.handle, which decides the same way (respond()); tests/test_fastpath.py runs both on the same
messages and compares what families read and what is stored.

Why the statements go to the driver's own connection (Driver), not through SQLAlchemy: its per-statement work cost
more than the statement; the column types' conversions (UTCDateTime, JSON, Date) are still SQLAlchemy's own, taken
from the tables, so the rows are those the ORM writes on both databases (docs/BENCHMARKS.md). What a complaint's row
holds is computed by the engine's own code (service.complaint_values, flows.ack_context), never written twice.

Why on the event loop: each of the two statements takes a fraction of a millisecond on a local database, less than
the hand-off to a worker thread and back (docs/BENCHMARKS.md, issue #20). When the database fails, the fast path
stands aside for a moment and the thread-pool path answers as before (503 with Retry-After), so a database that does
not answer holds the loop once, not on every request."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

import anyio
import anyio.to_thread
import sqlalchemy as sa
from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError

from hotline.benefits.service import ProgrammeVersion
from hotline.complaints import closing, service
from hotline.complaints import flows as complaint_flows
from hotline.context import Context
from hotline.db import write_lock_of
from hotline.dialogue import language, loops
from hotline.dialogue.inbound import Handled, Inbound
from hotline.dialogue.private import coarse_time, turn_key
from hotline.dialogue.state import parse_number
from hotline.engine import (
    answers_question,
    choose_language_of,
    clean_body,
    leaves_complaint,
    may_name_danger,
    meant_rest,
)
from hotline.keywords import Match, split_first_word
from hotline.models import Complaint, UTCDateTime
from hotline.phones import InvalidPhone, log_phone, normalise_phone
from hotline.places import get_gazetteer
from hotline.polls import flows as poll_flows
from hotline.polls.service import keyword_key
from hotline.reminders.dates import has_symptom

log = logging.getLogger(__name__)

# What this path answers; any other keyword (STOP, JOIN, ANON, STATUS, ...) reads or writes more than two statements
# can hold and goes to the engine. COMPLAINT is answered here only when it files at once (_complaint).
KEYWORDS = ("HELP", "BENEFITS", "CHECK", "LANG")
COMPLAINT = "COMPLAINT"
# Dialogues whose messages the engine always takes: a complaint's text (a keyword's word may be part of it), a poll
# (a quiz answer may name a danger sign), a decision's rating.
_ENGINE_DIALOGUES = (complaint_flows.FLOW, poll_flows.FLOW, closing.FLOW)
# PostgreSQL connections of the fast path per web process, beside the engine's pool (hotline.db.POOL_SIZE): a
# statement holds one for a fraction of a millisecond, so a few serve 16 concurrent requests (docs/DEPLOY.md).
ASYNC_POOL_SIZE = 8
# After a database error the engine's path (in a worker thread, with its 503) answers for this long.
STAND_ASIDE_SECONDS = 2.0

_READ = """
SELECT c.id, c.language, c.last_channel,
  c.opted_out_at IS NOT NULL OR c.twilio_blocked_at IS NOT NULL AS silenced,
  v.flow AS in_dialogue,
  EXISTS (SELECT 1 FROM inboundmessage m WHERE m.channel = :channel AND m.message_sid = :sid) AS seen,
  EXISTS (SELECT 1 FROM private_turn t WHERE t.key = :turn_key) AS seen_private,
  EXISTS (SELECT 1 FROM poll p WHERE p.keyword_key = :poll_key AND p.status <> 'draft') AS poll_word,
  EXISTS (
    SELECT 1 FROM pollinvitation i JOIN poll q ON q.id = i.poll_id
    WHERE i.contact_id = c.id AND i.done_at IS NULL AND q.status <> 'draft'
  ) AS invited,
  (SELECT {aggregate} FROM (
     SELECT r.received_at, r.id, r.body FROM inboundmessage r
     WHERE r.contact_id = c.id AND r.received_at >= :since AND r.received_at <= :now
     ORDER BY r.received_at DESC, r.id DESC LIMIT :scan
  ) w) AS recent,
  c.municipality_code,
  EXISTS (SELECT 1 FROM complaintdraft d WHERE d.contact_id = c.id) AS drafting,
  (SELECT count(*) FROM rateevent e WHERE e.kind = 'complaint' AND e.key = :rate_key AND e.day = :day)
  + COALESCE((SELECT p.count FROM private_counter p WHERE p.key = :anonymous_key AND p.day = :day), 0) AS filed_today,
  v.step, v.expires_at
FROM contact c LEFT JOIN conversation v ON v.contact_id = c.id WHERE c.phone_hash = :hash
"""
# The day's complaints are counted as service.filed_today counts them (named and anonymous alike); the keys are given
# only for a complaint (NULL matches nothing otherwise).
# The window's messages as [[received_at, id, body], ...], sorted in Python: SQLite before 3.44 has no ORDER BY
# inside an aggregate.
_AGGREGATES = {
    "postgresql": "json_agg(json_build_array(w.received_at, w.id, w.body))::text",
    "sqlite": "json_group_array(json_array(w.received_at, w.id, w.body))",
}

_MESSAGE = """INSERT INTO inboundmessage
  (channel, message_sid, contact_id, receiver_encrypted, body, received_at, language, keyword, replies)
VALUES (:channel, :sid, :contact_id, :receiver, :body, :received_at, :language, :keyword, :replies)
ON CONFLICT (channel, message_sid) DO NOTHING RETURNING id"""
# The time moves only with the language (coarse, or exact for LANG, as the engine does); a new channel moves nothing.
_CONTACT = (
    "UPDATE contact SET language = :new_language, updated_at = COALESCE(:updated_at, updated_at), "
    "last_channel = :channel"
)
_CONVERSATION = """INSERT INTO conversation (contact_id, flow, step, data, expires_at, updated_at)
{source}
ON CONFLICT (contact_id) DO UPDATE SET flow = excluded.flow, step = excluded.step, data = excluded.data,
  expires_at = excluded.expires_at, updated_at = excluded.updated_at"""
# PostgreSQL: one statement; the contact and the dialogue change only when the message was new (a concurrent repeat
# of the transport's id inserts nothing and changes nothing).
_WRITE_POSTGRES = f"""WITH m AS ({_MESSAGE}),
c AS ({_CONTACT} WHERE id = :contact_id AND :touch_contact AND EXISTS (SELECT 1 FROM m)),
d AS (DELETE FROM conversation WHERE contact_id = :contact_id AND :end_dialogue AND EXISTS (SELECT 1 FROM m)),
v AS ({
    _CONVERSATION.format(
        source="SELECT :contact_id, :flow, :step, :data, :expires_at, :received_at "
        "WHERE :start_dialogue AND EXISTS (SELECT 1 FROM m)"
    )
})
SELECT id FROM m"""
# SQLite: up to three statements in one transaction (it has no data-modifying CTE), under the write lock.
_WRITE_SQLITE = (
    _MESSAGE,
    f"{_CONTACT} WHERE id = :contact_id",
    _CONVERSATION.format(source="VALUES (:contact_id, :flow, :step, :data, :expires_at, :received_at)"),
    "DELETE FROM conversation WHERE contact_id = :contact_id",
)

# A named complaint filed at once (service.file_complaint, flows._file), PostgreSQL: one statement. The SMS is inserted
# first, with the complaint's id taken from its sequence, and everything else hangs on it (FROM m, FROM f): a repeat of
# the transport's id (committed, or in flight: the insert waits for it) inserts no message and so files nothing. A
# reference already taken leaves k empty (nothing written; another is drawn); one taken meanwhile by a concurrent
# insert fails the statement on its unique index (nothing written; another is drawn). The message's foreign key to the
# complaint is checked at the end of the statement, when both rows are there.
_COMPLAINT_POSTGRES = """WITH k AS (
  SELECT nextval(pg_get_serial_sequence('complaint', 'id')) AS id
  WHERE NOT EXISTS (SELECT 1 FROM complaint WHERE reference = :c_reference)
),
m AS (
  INSERT INTO inboundmessage
    (channel, message_sid, contact_id, receiver_encrypted, body, received_at, language, keyword, replies, complaint_id)
  SELECT :channel, :sid, :contact_id, :receiver, :body, :received_at, :language, :keyword, :replies, k.id FROM k
  ON CONFLICT (channel, message_sid) DO NOTHING RETURNING complaint_id
),
f AS (INSERT INTO complaint (id, {columns}) SELECT m.complaint_id, {values} FROM m RETURNING id),
e AS (
  INSERT INTO complaintevent (complaint_id, at, actor, actor_id, kind, details)
  SELECT f.id, :at, x.actor, CAST(NULL AS integer), x.kind, x.details
  FROM f, (VALUES (1, :e1_actor, :e1_kind, :e1_details), (2, :e2_actor, :e2_kind, :e2_details))
    AS x(n, actor, kind, details)
  WHERE x.n <= :events ORDER BY x.n
),
r AS (INSERT INTO rateevent (kind, key, day) SELECT 'complaint', :rate_key, :day FROM f),
v AS ({conversation}),
c AS ({contact} WHERE id = :contact_id AND :touch_contact AND EXISTS (SELECT 1 FROM f))
SELECT (SELECT id FROM f), EXISTS (SELECT 1 FROM k)"""
# The append window's data as the ORM's JSON type writes {"complaint_id": id} (json.dumps).
_WINDOW_POSTGRES = (
    "SELECT :contact_id, 'complaint', 'append', CAST('{\"complaint_id\": ' || f.id || '}' AS json), :expires_at, "
    ":received_at FROM f"
)
# SQLite: the same rows in one transaction (no data-modifying CTE), under the write lock; the complaint first (its
# foreign key is checked at once), undone when the message turns out to be a repeat.
_COMPLAINT_SQLITE = (
    "INSERT INTO complaint ({columns}) VALUES ({values}) ON CONFLICT (reference) DO NOTHING RETURNING id"
)
_MESSAGE_OF_COMPLAINT = """INSERT INTO inboundmessage
  (channel, message_sid, contact_id, receiver_encrypted, body, received_at, language, keyword, replies, complaint_id)
VALUES (:channel, :sid, :contact_id, :receiver, :body, :received_at, :language, :keyword, :replies, :complaint_id)
ON CONFLICT (channel, message_sid) DO NOTHING RETURNING id"""
_EVENT_SQLITE = (
    "INSERT INTO complaintevent (complaint_id, at, actor, actor_id, kind, details) "
    "VALUES (:complaint_id, :at, :actor, NULL, :kind, :details)"
)
_NAMED = re.compile(r"(?<!:):(\w+)")
# What an acknowledgement is rendered with in place of a complaint's reference (FastPath.render_ack): 8 digits.
_STAND_INS = ("00000000", "11111111")
# The complaint's columns, but its id (the sequence's, or SQLite's rowid).
_COMPLAINT_COLUMNS = tuple(column.name for column in Complaint.__table__.columns if column.name != "id")  # type: ignore[attr-defined]


class Driver:
    """The statements in the driver's own form, and the column types' conversions as SQLAlchemy does them (so the
    rows are those the ORM writes): executed on the DBAPI connection, without SQLAlchemy's per-statement work."""

    def __init__(self, dialect: Dialect) -> None:
        self.postgres = dialect.name == "postgresql"
        identity: Callable[[Any], Any] = lambda value: value  # noqa: E731
        self.time = UTCDateTime().dialect_impl(dialect).bind_processor(dialect) or identity
        self.json = sa.JSON().dialect_impl(dialect).bind_processor(dialect) or identity
        self.day = sa.Date().dialect_impl(dialect).bind_processor(dialect) or identity
        # A dialogue's expiry as read (SQLite returns text; UTCDateTime makes it an aware datetime on both).
        self.read_time = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None) or identity
        aggregate = _AGGREGATES["postgresql" if self.postgres else "sqlite"]
        self.read = self.sql(_READ.format(aggregate=aggregate))
        self.write = (self.sql(_WRITE_POSTGRES),) if self.postgres else tuple(map(self.sql, _WRITE_SQLITE))
        # Each complaint column's conversion, as the ORM's insert does it.
        self.complaint_types = {
            name: Complaint.__table__.columns[name].type.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[attr-defined]
            or identity
            for name in _COMPLAINT_COLUMNS
        }
        columns = ", ".join(_COMPLAINT_COLUMNS)
        values = ", ".join(f":c_{name}" for name in _COMPLAINT_COLUMNS)
        if self.postgres:
            conversation = _CONVERSATION.format(source=_WINDOW_POSTGRES)
            statement = _COMPLAINT_POSTGRES.format(
                columns=columns, values=values, conversation=conversation, contact=_CONTACT
            )
            self.complaint: tuple[str, ...] = (self.sql(statement),)
        else:
            self.complaint = tuple(
                map(
                    self.sql,
                    (
                        _COMPLAINT_SQLITE.format(columns=columns, values=values),
                        _MESSAGE_OF_COMPLAINT,
                        _EVENT_SQLITE,
                        "INSERT INTO rateevent (kind, key, day) VALUES ('complaint', :rate_key, :day)",
                        _CONVERSATION.format(
                            source="VALUES (:contact_id, :flow, :step, :data, :expires_at, :received_at)"
                        ),
                        f"{_CONTACT} WHERE id = :contact_id",
                    ),
                )
            )

    def complaint_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A complaint's columns (service.NewComplaint.row) as parameters c_<column>, converted as the ORM does."""
        types = self.complaint_types
        return {f"c_{name}": types[name](_plain(row[name])) for name in _COMPLAINT_COLUMNS}

    def sql(self, text: str) -> str:
        """sqlite3 takes :name itself; psycopg wants %(name)s."""
        return _NAMED.sub(r"%(\1)s", text) if self.postgres else text


@dataclass(frozen=True, slots=True)
class Phone:
    """What the one read tells about the phone that wrote."""

    contact_id: int
    language: str
    last_channel: str | None
    municipality_code: str | None = None  # remembered (a complaint files there at once)
    drafting: bool = False  # a complaint's draft waits for an answer
    filed_today: int = 0  # complaints filed today, named and anonymous (the daily limit's count)


@dataclass(slots=True)
class Plan:
    """The answer and what it changes: the texts, the phone's language, a dialogue to start."""

    language: str
    keyword: str | None
    texts: list[tuple[str, tuple[tuple[str, Any], ...]]] = field(default_factory=list)
    contact_language: str | None = None
    contact_updated: datetime | None = None
    dialogue: tuple[str, str] | None = None
    ended: bool = False  # the keyword ends the dialogue in progress (a new one replaces it, or it is deleted)


def _phone_of(sender: str) -> str | None:
    # normalise_phone keeps each number's E.164 form (hotline/phones.py); a sender that is none is the engine's.
    try:
        return normalise_phone(sender)
    except InvalidPhone:
        return None


class FastPath:
    """The one-read, one-write answer of the usual SMS (see the module's docstring); `answer` returns None for the
    engine's path."""

    def __init__(self, ctx: Context, engine: Engine) -> None:
        self.ctx, self.engine = ctx, engine
        self.driver = Driver(engine.dialect)
        # The driver's own errors (the statements run on its connection) and SQLAlchemy's (connecting).
        self.errors: tuple[type[Exception], ...] = (DBAPIError, engine.dialect.loaded_dbapi.Error, PoolTimeout)
        self._connection: Connection | None = None
        self._async_pool: AsyncConnectionPool | None = None
        self._pool_opened = False
        self.pool_timeout = 3.0  # waiting for a PostgreSQL connection longer than this: the engine's path answers
        self._stand_aside_until = 0.0
        self._texts: dict[tuple[Any, ...], str] = {}
        self._acks: dict[tuple[Any, ...], list[str]] = {}
        self.answered = 0  # SMS answered here (the rest went to the engine), and database errors met
        self.failures = 0

    # -- the decision, in memory -------------------------------------------------------------------------------------

    def ends_dialogue(self, flow: str, step: str, expires_at: datetime, body: str, match: Match, now: datetime) -> bool:
        """respond()'s rule for a keyword sent while a dialogue waits: True when the keyword ends it (and is answered
        here); False for a message the dialogue takes, an expired dialogue's notice, and the dialogues whose own
        rules the engine keeps (a complaint's text, a poll's answer, a decision's rating)."""
        if match.keyword is None:
            return False
        if flow == complaint_flows.FLOW and step == complaint_flows.APPEND:
            # The window after a filed complaint: a keyword alone (or COMPLAINT, STOP, ...) leaves it; with more words
            # it is more of the complaint's text, which the engine appends.
            return expires_at <= now or leaves_complaint(self.ctx, match)
        if flow in _ENGINE_DIALOGUES:
            return False
        return expires_at <= now or not answers_question(self.ctx, flow, step, body, match)

    def answers_language_list(self, flow: str, expires_at: datetime, body: str, match: Match, now: datetime) -> bool:
        """respond()'s rule: a message the language list's dialogue takes (it is live, and the message has no keyword
        or names a language)."""
        if flow != language.FLOW or expires_at <= now:
            return False
        return match.keyword is None or answers_question(self.ctx, flow, "choose", body, match)

    def plan_language(self, phone: Phone, body: str, now: datetime) -> Plan:
        """language.continue_lang: the language named is set, or the list is sent again and waits once more."""
        chosen = self.ctx.matcher.language(body)
        if chosen is None:
            return Plan(phone.language, None, [("lang/list", ())], dialogue=(language.FLOW, "choose"))
        return Plan(chosen, None, [("lang/set", ())], contact_language=chosen, contact_updated=now)

    def plan(self, phone: Phone, match: Match, body: str, day: date, now: datetime) -> Plan | None:
        """respond()'s answer for a phone with nothing in progress, or None where it would do more than answer."""
        ctx = self.ctx
        if match.keyword is None and ctx.catalogue.named_in(body) is not None:
            match = replace(match, keyword="BENEFITS", rest=body)
        if match.keyword is None:
            return Plan(phone.language, None, [("menu", ())])
        if match.keyword not in KEYWORDS:
            return None
        language = choose_language_of(phone.language, match)
        plan = Plan(language, match.keyword)
        if language != phone.language:
            plan.contact_language, plan.contact_updated = language, coarse_time(ctx, now)
        rest = meant_rest(ctx, match)
        if match.keyword == "HELP":
            plan.texts.append(("help", (("free", ctx.settings.free_to_text),)))
        elif match.keyword == "CHECK":
            plan.dialogue = ("check", "members")
            plan.texts.append(("check/members", (("again", False),)))
        elif match.keyword == "LANG":
            chosen = ctx.matcher.language(rest) if rest else None
            if chosen is None:
                plan.dialogue = ("lang", "choose")
                plan.texts.append(("lang/list", ()))
            else:
                plan.language = plan.contact_language = chosen
                plan.contact_updated = now
                plan.texts.append(("lang/set", ()))
        else:
            number = parse_number(rest)
            number = number if number is not None else ctx.catalogue.named_in(rest)
            if number is None:
                plan.dialogue = ("benefits", "choose")
                plan.texts.append(("benefits/list", ()))
            elif ctx.catalogue.by_number(number, day) is None:
                plan.texts.append(("benefits/unknown", ()))
            else:
                plan.texts.append(("benefits/programme", (("number", number),)))
        return plan

    def complaint_text(self, match: Match) -> str | None:
        """A named complaint's text (COMPLAINT <text>), or None for what start_complaint does otherwise: ask for the
        text (none with words), or an anonymous complaint (COMPLAINT ANON <text>), the engine's."""
        rest = meant_rest(self.ctx, match)
        if not complaint_flows.has_words(rest) or self.ctx.matcher.match(rest).keyword == "ANON":
            return None
        return rest.strip()

    def plan_complaint(
        self, phone: Phone, match: Match, text: str, now: datetime
    ) -> tuple[Plan, service.NewComplaint] | None:
        """start_complaint()'s complaint when it is filed at once (flows._file): nothing in progress, under the day's
        limit, at the remembered place, which the places the text names (if any) fit. None otherwise."""
        ctx = self.ctx
        if phone.drafting or phone.filed_today >= ctx.settings.max_complaints_per_day:
            return None  # a draft to add to, or the limit to say: the engine's
        gazetteer = get_gazetteer()
        place = service.place_of_code(phone.municipality_code, gazetteer)
        if place is None:
            return None  # the place is asked for: the engine's
        named = gazetteer.find_in_text(text)
        if named and not complaint_flows.fits(place, named):
            return None  # another place named: asked or filed there, the engine's
        language = choose_language_of(phone.language, match)
        plan = Plan(language, COMPLAINT)
        if language != phone.language:
            plan.contact_language, plan.contact_updated = language, coarse_time(ctx, now)
        complaint = service.complaint_values(
            ctx,
            contact_id=phone.contact_id,
            contact_language=language,
            text=text,
            anonymous=False,
            place=place,
            now=now,
        )
        return plan, complaint

    def _generation(self) -> int:
        catalogue: Any = self.ctx.catalogue
        overlay = getattr(catalogue, "overlay", None)
        return overlay.snapshot().generation if overlay is not None else 0

    def render(self, name: str, language: str, context: tuple[tuple[str, Any], ...], day: date) -> str:
        """A text as ctx.texts renders it, kept per content generation and day (staff edits and the day's rules
        change it; nothing else in these texts does)."""
        key = (self._generation(), day, name, language, context)
        text = self._texts.get(key)
        if text is None:
            if len(self._texts) > 4096:
                self._texts.clear()
            values = dict(context)
            if name in ("benefits/list", "benefits/unknown"):
                values["programmes"] = self.ctx.catalogue.listing(day)
            if name == "benefits/programme":
                version: ProgrammeVersion | None = self.ctx.catalogue.by_number(values.pop("number"), day)
                assert version is not None  # plan() checked it is in force on this day
                name, values["p"] = version.template, version
            text = self.ctx.texts.render(name, language, **values).text
            self._texts[key] = text
        return text

    def render_ack(self, language: str, context: dict[str, Any]) -> str:
        """complaints/ack as ctx.texts renders it (flows.ack_context): the text around the reference is kept per
        content generation and the rest of the context, as only the reference changes from one complaint to the
        next (rendering and counting its segments cost more than the rest of the answer)."""
        name, reference = "complaints/ack", str(context["reference"])
        others = tuple((key, value) for key, value in context.items() if key != "reference")
        key = (self._generation(), name, language, others)
        parts = self._acks.get(key)
        if parts is None:
            if len(self._acks) > 4096:
                self._acks.clear()
            # Two renderings with stand-ins of the reference's length and alphabet (so the same segments and budget):
            # the text is kept as the parts around it only when the second is the first with the other stand-in.
            first, second = (
                self.ctx.texts.render(name, language, **{**context, "reference": r}).text for r in _STAND_INS
            )
            parts = first.split(_STAND_INS[0])
            parts = parts if len(parts) > 1 and _STAND_INS[1].join(parts) == second else []
            self._acks[key] = parts
        if not parts:  # the template does more with the reference than show it: rendered each time
            return self.ctx.texts.render(name, language, **context).text
        return reference.join(parts)

    # -- the two statements ------------------------------------------------------------------------------------------

    async def answer(self, inbound: Inbound) -> Handled | None:
        """The answer of a usual SMS, stored; None for the engine's path (nothing was written then)."""
        if inbound.carrier_action is not None or time.monotonic() < self._stand_aside_until:
            return None
        body = clean_body(inbound.body)
        match = self.ctx.matcher.match(body)
        text = None
        if match.keyword == COMPLAINT:
            text = self.complaint_text(match)
            if text is None:
                return None
        elif match.keyword is not None and match.keyword not in KEYWORDS:
            return None
        elif may_name_danger(match) and has_symptom(body):
            return None  # (a complaint's text is never taken for a danger sign)
        phone = _phone_of(inbound.sender)
        if phone is None:
            return None
        try:
            if self.driver.postgres:
                async with (await self._pool()).connection(timeout=self.pool_timeout) as conn:
                    return await self._answer(_Async(conn), inbound, body, match, phone, text)
            lock = write_lock_of(self.engine)
            held = lock.acquire(blocking=False)
            try:
                if not held:
                    # SQLite's one writer is busy (an engine's turn in a worker thread): wait for it in a thread,
                    # never on the loop; shielded, so a request cancelled meanwhile still releases what it got.
                    # Handing the SMS to the engine instead made every wait a slow turn holding the lock.
                    with anyio.CancelScope(shield=True):
                        held = await anyio.to_thread.run_sync(lock.acquire)
                return await self._answer(_Sync(self._db()), inbound, body, match, phone, text)
            finally:
                if held:
                    lock.release()
        except self.errors as exc:
            self.failures += 1
            self._drop_connection(broken=True)
            self._stand_aside_until = time.monotonic() + STAND_ASIDE_SECONDS
            error = exc.orig if isinstance(exc, DBAPIError) else exc
            log.warning("fast path stands aside for %.0f s: %s", STAND_ASIDE_SECONDS, type(error).__name__)
            return None

    async def _answer(
        self, db: _Sync | _Async, inbound: Inbound, body: str, match: Match, phone_number: str, text: str | None
    ) -> Handled | None:
        ctx, now, driver = self.ctx, inbound.received_at, self.driver
        poll_word, _ = split_first_word(body) if match.keyword is None else ("", "")
        since = now - timedelta(minutes=ctx.settings.loop_window_minutes)
        phone_hash, day = ctx.vault.lookup_hash(phone_number), ctx.local_day(now)
        params = {
            "hash": phone_hash,
            "channel": inbound.channel,
            "sid": inbound.message_id,
            "turn_key": turn_key(ctx, inbound.channel, inbound.message_id),
            "poll_key": keyword_key(poll_word) if any(ch.isalpha() for ch in poll_word) else None,
            "since": driver.time(since),
            "now": driver.time(now),
            "scan": loops.SCAN,
            # The day's complaints (a complaint's SMS only: the keys cost two HMACs)
            "rate_key": service.complaint_rate_key_of(ctx, phone_hash) if text is not None else None,
            "anonymous_key": service.anonymous_rate_key_of(ctx, phone_hash, day) if text is not None else None,
            "day": driver.day(day),
        }
        row = await db.fetchone(driver.read, params)
        if row is None:
            return None  # a new phone: its contact is made (once, encrypted) by the engine
        contact_id, language, last_channel, silenced, flow, seen, seen_private, polled, invited, raw = row[:10]
        if silenced or seen or seen_private or polled or (invited and match.keyword is None):
            return None
        expires: datetime | None = driver.read_time(row[14])
        answering = False  # an answer to the language list (the one dialogue whose answers are answered here)
        if (
            flow is not None
            and expires is not None
            and not self.ends_dialogue(flow, row[13], expires, body, match, now)
        ):
            answering = text is None and self.answers_language_list(flow, expires, body, match, now)
            if not answering:
                return None
        elif flow is not None and expires is None:
            return None
        recent = [entry[2] for entry in sorted(json.loads(raw))] if raw else []
        if loops.loop_in([*recent, body], ctx.settings.loop_limit):
            return None  # the engine logs, counts and pauses a reply loop
        municipality_code, drafting, filed_today = row[10:13]
        phone = Phone(contact_id, language, last_channel, municipality_code, drafting, int(filed_today))
        if text is not None:
            if flow is not None and not (flow == complaint_flows.FLOW and row[13] == complaint_flows.APPEND):
                return None  # a complaint while a dialogue waits: the engine keeps or ends it as respond() does
            intake = self.plan_complaint(phone, match, text, now)
            if intake is None:
                return None
            plan, complaint = intake
            replies = await self._file(db, inbound, body, now, phone, plan, complaint, params["rate_key"])
            if replies is None:
                return None  # a repeat of this message was stored first, or no reference was free: the engine's
        else:
            planned = self.plan_language(phone, body, now) if answering else self.plan(phone, match, body, day, now)
            if planned is None:
                return None
            plan = planned
            plan.ended = flow is not None
            replies = [self.render(name, plan.language, context, day) for name, context in plan.texts]
            if not await self._write(db, inbound, body, now, contact_id, language, last_channel, plan, replies):
                return None  # a concurrent repeat of this message was stored first: the engine returns its answer
        self.answered += 1
        log.info(
            "inbound %s %s from %s keyword=%s replies=%d",
            inbound.channel,
            inbound.message_id,
            log_phone(phone_number),
            plan.keyword,
            len(replies),
        )
        return Handled(replies, plan.language, plan.keyword, contact_id)

    async def _write(
        self,
        db: _Sync | _Async,
        inbound: Inbound,
        body: str,
        now: datetime,
        contact_id: int,
        language: str,
        last_channel: str | None,
        plan: Plan,
        replies: list[str],
    ) -> bool:
        driver = self.driver
        touch = plan.contact_language is not None or last_channel != inbound.channel
        values: dict[str, Any] = {
            "channel": inbound.channel,
            "sid": inbound.message_id,
            "contact_id": contact_id,
            "receiver": _receiver(self.ctx, inbound.receiver),
            "body": body,
            "received_at": driver.time(now),
            "language": plan.language,
            "keyword": plan.keyword,
            "replies": driver.json(replies),
            "touch_contact": touch,
            "new_language": plan.contact_language or language,
            "updated_at": driver.time(plan.contact_updated) if plan.contact_updated else None,
            "start_dialogue": plan.dialogue is not None,
            "end_dialogue": plan.ended and plan.dialogue is None,
            "flow": plan.dialogue[0] if plan.dialogue else "",
            "step": plan.dialogue[1] if plan.dialogue else "",
            "data": driver.json({}),
            "expires_at": driver.time(now + timedelta(minutes=self.ctx.settings.conversation_timeout_minutes)),
        }
        if driver.postgres:  # autocommit: the one statement is its own transaction
            return await db.fetchone(driver.write[0], values) is not None
        message, contact, dialogue, ended = driver.write
        try:
            if await db.fetchone(message, values) is None:
                await db.rollback()
                return False
            if touch:
                await db.fetchone(contact, values)
            if plan.dialogue is not None:
                await db.fetchone(dialogue, values)
            elif plan.ended:
                await db.fetchone(ended, values)
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
        return True

    async def _file(
        self,
        db: _Sync | _Async,
        inbound: Inbound,
        body: str,
        now: datetime,
        phone: Phone,
        plan: Plan,
        complaint: service.NewComplaint,
        rate_key: str,
    ) -> list[str] | None:
        """File the complaint (Driver.complaint) and store the SMS with its acknowledgement, rendered with the reference
        that was free; None when the SMS was a repeat (nothing written) or no reference was free in ten draws."""
        ctx, driver, columns = self.ctx, self.driver, complaint.columns
        touch = plan.contact_language is not None or phone.last_channel != inbound.channel
        events = complaint.events()
        values: dict[str, Any] = {
            "channel": inbound.channel,
            "sid": inbound.message_id,
            "contact_id": phone.contact_id,
            "receiver": _receiver(ctx, inbound.receiver),
            "body": body,
            "received_at": driver.time(now),
            "language": plan.language,
            "keyword": COMPLAINT,
            "touch_contact": touch,
            "new_language": plan.contact_language or phone.language,
            "updated_at": driver.time(plan.contact_updated) if plan.contact_updated else None,
            "flow": complaint_flows.FLOW,
            "step": "append",
            "expires_at": driver.time(now + timedelta(minutes=ctx.settings.conversation_timeout_minutes)),
            "at": driver.time(complaint.at),
            "rate_key": rate_key,
            "day": driver.day(complaint.day),
            "events": len(events),
        }
        # The events as parameters e1_..., e2_... (e2 repeats e1, and is not inserted, when it was not routed up).
        for n, (kind, actor, details) in enumerate([*events, *events][:2], start=1):
            values |= {f"e{n}_kind": kind, f"e{n}_actor": actor.value, f"e{n}_details": driver.json(details)}
        for _ in range(10):
            reference = service.new_reference()  # the module's: a test may make it collide
            ack = complaint_flows.ack_context(
                ctx,
                reference=reference,
                pin=None,
                anonymous=False,
                first_answer_due=columns["first_answer_due"],
                municipality_code=columns["municipality_code"],
                district_code=columns["district_code"],
            )
            reply = self.render_ack(plan.language, ack)
            values |= driver.complaint_row(complaint.row(ctx, reference))
            values["replies"] = driver.json([reply])
            filed = await (
                self._file_postgres(db, values) if driver.postgres else self._file_sqlite(db, values, events)
            )
            if filed is None:
                return None
            if filed:
                return [reply]
        log.warning("fast path: no free complaint reference in 10 draws")
        return None

    async def _file_postgres(self, db: _Sync | _Async, values: dict[str, Any]) -> bool | None:
        """True when filed, False when the reference was taken, None when the SMS was a repeat."""
        try:
            complaint_id, free = await db.fetchone(self.driver.complaint[0], values)
        except UniqueViolation:
            return False  # the reference, taken meanwhile by a concurrent insert: nothing was written
        if complaint_id is not None:
            return True
        return False if not free else None

    async def _file_sqlite(
        self, db: _Sync | _Async, values: dict[str, Any], events: list[tuple[str, Any, dict[str, Any]]]
    ) -> bool | None:
        complaint, message, event, rate, window, contact = self.driver.complaint
        driver = self.driver
        try:
            row = await db.fetchone(complaint, values)
            if row is None:
                await db.rollback()
                return False
            values["complaint_id"] = complaint_id = row[0]
            if await db.fetchone(message, values) is None:
                await db.rollback()
                return None
            for kind, actor, details in events:
                await db.fetchone(
                    event,
                    {
                        "complaint_id": complaint_id,
                        "at": values["at"],
                        "actor": actor.value,
                        "kind": kind,
                        "details": driver.json(details),
                    },
                )
            await db.fetchone(rate, values)
            values["data"] = driver.json({"complaint_id": complaint_id})
            await db.fetchone(window, values)
            if values["touch_contact"]:
                await db.fetchone(contact, values)
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
        return True

    # -- the connection ----------------------------------------------------------------------------------------------

    def _db(self) -> Any:
        # SQLite: one connection for the event loop's thread, held open (no pool check-out per SMS); statements go to
        # the DBAPI connection under it, the write in one transaction. SQLite commits without waiting for the disk
        # (WAL, synchronous=NORMAL), so a statement holds the loop for microseconds.
        if self._connection is None or self._connection.invalidated or self._connection.closed:
            self._connection = self.engine.connect()
        return self._connection.connection.driver_connection

    async def _pool(self) -> AsyncConnectionPool:
        # PostgreSQL waits for the disk at each commit (milliseconds): on the loop, a synchronous commit would hold
        # every other request. Asynchronous connections in autocommit let the loop serve others meanwhile; a few
        # suffice (two cores), opened on first use in the loop that serves requests.
        if self._async_pool is None:
            url = self.engine.url.set(drivername="postgresql")
            self._async_pool = AsyncConnectionPool(
                url.render_as_string(hide_password=False),
                min_size=1,
                max_size=ASYNC_POOL_SIZE,
                kwargs={"autocommit": True, "connect_timeout": 5},
                timeout=self.pool_timeout,
                open=False,
            )
        if not self._pool_opened:
            self._pool_opened = True
            await self._async_pool.open(wait=False)
        return self._async_pool

    def _drop_connection(self, *, broken: bool = False) -> None:
        if self._connection is not None:
            try:
                if broken:
                    self._connection.invalidate()  # never back to the pool: the next SMS connects anew
                self._connection.close()
            except self.errors:
                pass
        self._connection = None

    async def aclose(self) -> None:
        """Close the connections (at shutdown, in the loop that used them)."""
        self.close()
        if self._async_pool is not None:
            await self._async_pool.close()
            self._async_pool, self._pool_opened = None, False

    def close(self) -> None:
        """Give the held connection back (at shutdown)."""
        self._drop_connection()


class _Sync:
    """A DBAPI connection (sqlite3) behind the same awaitable calls as _Async: nothing in it waits."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def fetchone(self, sql: str, params: dict[str, Any]) -> Any:
        # Closed at once: a statement left stepping would keep SQLite's read snapshot open on this long-lived
        # connection (CPython resets it when the cursor is freed, but that is an implementation detail).
        cursor = self.connection.execute(sql, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    async def commit(self) -> None:
        self.connection.commit()

    async def rollback(self) -> None:
        self.connection.rollback()


class _Async:
    """A psycopg AsyncConnection in autocommit: every statement is its own transaction."""

    def __init__(self, connection: AsyncConnection[Any]) -> None:
        self.connection = connection

    async def fetchone(self, sql: str, params: dict[str, Any]) -> Any:
        cursor = await self.connection.execute(sql, params)
        return await cursor.fetchone()

    async def commit(self) -> None:
        return None

    async def rollback(self) -> None:
        return None


def _plain(value: Any) -> Any:
    # An enum's value, as the ORM's string columns store it.
    return value.value if isinstance(value, Enum) else value


_RECEIVERS: dict[tuple[int, str], str] = {}
_RECEIVERS_LOCK = threading.Lock()


def _receiver(ctx: Context, number: str) -> str:
    # Our own number, encrypted once per process and key: it is the same few numbers on every message, and a
    # ciphertext of a public number reveals nothing (a fresh one would cost a Fernet encryption per SMS).
    key = (id(ctx.vault), number)
    found = _RECEIVERS.get(key)
    if found is None:
        with _RECEIVERS_LOCK:
            found = _RECEIVERS.setdefault(key, ctx.vault.encrypt(number))
    return found
