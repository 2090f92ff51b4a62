"""One planning run's data and writes: the households' units of decision, loaded and inserted in bulk."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from hotline.content import Rendered
from hotline.context import Context
from hotline.messaging.outbox import enqueue, in_quiet_hours, outbound_row, quiet_hours_end
from hotline.messaging.routing import reply_number
from hotline.models import (
    Contact,
    Enrolment,
    EnrolmentStatus,
    Household,
    OutboundMessage,
    Purpose,
    ReminderPlanned,
)
from hotline.reminders.schedule import Scheduled
from hotline.reminders.service import example_birth_date

REMINDER_VALID = timedelta(days=2)


@dataclass
class PlanReport:
    """What one planning run did."""

    households: int = 0
    sent: int = 0
    combined: int = 0
    skipped: int = 0
    codes: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.sent or self.skipped)


def send_time(ctx: Context, household: Household, day: date, now: datetime) -> datetime:
    """The household's preferred hour on the day (never before now), moved out of quiet hours."""
    return _send_at(ctx, household.send_hour, day, now)


def _send_at(ctx: Context, hour: int, day: date, now: datetime) -> datetime:
    moment = max(datetime.combine(day, time(hour), ctx.tz), now)
    settings = ctx.settings
    if in_quiet_hours(moment, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end):
        moment = quiet_hours_end(moment, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end)
    return moment


# How the run scales (issue #6, bench/reminders.py): nothing is loaded as ORM objects and nothing is done per row
# in the database. Every decision of the run is a unit: the rows that land together or not at all, exactly the
# savepoints of the one-at-a-time planner this replaces (an older newborn message skipped; one message outside the
# weekly limit with its SMS; a household's week: its ReminderPlanned rows with the week's SMS; a pregnancy past its
# due date: the question, its row and the pause). Units are built a chunk of households at a time from data loaded
# in bulk, and a chunk is written in one savepoint with one multi-row INSERT per table. If that savepoint fails on
# a unique or foreign key (a second planner decided some of the same messages first), the chunk's units are written
# again one savepoint each, as before: a unit that conflicts is dropped whole and the others land, so the result is
# the same as unit by unit. Nothing is committed here: the caller's transaction holds the whole run, so a crash
# leaves no message without its ReminderPlanned rows, or rows without their message.
CHUNK = 1000  # households (or past-due enrolments) per chunk; also the longest IN list


@dataclass(frozen=True, slots=True)
class Candidate:
    household_id: int
    enrolment_id: int
    birth_date: date | None
    message: Scheduled
    order: int  # the message's place in the schedule


@dataclass(frozen=True, slots=True)
class Home:
    """A household's preferred hour and what the outbox needs of its contact."""

    send_hour: int
    contact_id: int
    language: str
    opted_out_at: datetime | None
    phone_encrypted: str
    last_channel: str | None


@dataclass(frozen=True, slots=True)
class Send:
    key: str
    text: Rendered
    not_before: datetime
    exists: bool  # the key is in the outbox already: enqueue would return that message, nothing is added


@dataclass(slots=True)
class Unit:
    home: Home | None
    planned: list[dict[str, Any]]
    send: Send | None = None
    pause: int | None = None  # an enrolment paused with it
    # What the report gains if the unit lands.
    sent: int = 0
    combined: int = 0
    skipped: int = 0
    codes: tuple[tuple[str, int], ...] = ()


class Run:
    """One planning run: the day, its constants, the rendered texts (each rendered once) and the report."""

    def __init__(self, session: Session, ctx: Context, day: date, now: datetime) -> None:
        self.session, self.ctx, self.day, self.now = session, ctx, day, now
        self.report = PlanReport()
        self.expires_at = datetime.combine(day, time(), ctx.tz) + REMINDER_VALID
        iso = day.isocalendar()
        self.week = f"{iso.year}-W{iso.week:02d}"
        self._texts: dict[tuple[str, str, int | None], Rendered] = {}
        self._send_at: dict[int, datetime] = {}

    def render(self, template: str, language: str, months: int | None = None) -> Rendered:
        key = (template, language, months)
        rendered = self._texts.get(key)
        if rendered is None:
            texts = self.ctx.texts
            # A text that asks for an answer names the number to write to when the sender is one-way.
            reply_to = reply_number(self.ctx.settings)
            example = example_birth_date(self.day)  # a text that shows a birth date shows a past one
            rendered = (
                texts.render(template, language, reply_to=reply_to, example=example)
                if months is None
                else texts.render(template, language, months=months, reply_to=reply_to, example=example)
            )
            self._texts[key] = rendered
        return rendered

    def send(self, home: Home, key: str, text: Rendered, existing: set[str]) -> Send:
        moment = self._send_at.get(home.send_hour)
        if moment is None:
            moment = self._send_at[home.send_hour] = _send_at(self.ctx, home.send_hour, self.day, self.now)
        return Send(key, text, moment, key in existing)

    def homes(self, ids: list[int]) -> dict[int, Home]:
        rows = self.session.execute(
            sa.select(
                col(Household.id),
                col(Household.send_hour),
                col(Contact.id),
                col(Contact.language),
                col(Contact.opted_out_at),
                col(Contact.phone_encrypted),
                col(Contact.last_channel),
            )
            .join(Contact, col(Contact.id) == col(Household.contact_id))
            .where(col(Household.id).in_(ids))
        )
        return {row[0]: Home(*row[1:]) for row in rows}

    def existing(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), CHUNK):
            found.update(
                self.session.exec(
                    select(OutboundMessage.idempotency_key).where(
                        col(OutboundMessage.idempotency_key).in_(keys[start : start + CHUNK])
                    )
                )
            )
        return found

    def write(self, units: list[Unit]) -> None:
        """Write a chunk's units in one savepoint; after a conflict, one savepoint per unit."""
        if not units:
            return
        session = self.session
        try:
            with session.begin_nested():
                insert_rows(session, ReminderPlanned, [row for unit in units for row in unit.planned])
                paused = [unit.pause for unit in units if unit.pause is not None]
                if paused:
                    session.execute(
                        sa.update(Enrolment)
                        .where(col(Enrolment.id).in_(paused))
                        .values(status=EnrolmentStatus.PAUSED, updated_at=self.now)
                    )
                messages = [self._outbound(unit) for unit in units if unit.send and not unit.send.exists]
                if messages:
                    insert_rows(session, OutboundMessage, messages)
        except IntegrityError:
            for unit in units:
                self.write_one(unit)
            return
        for unit in units:
            self.credit(unit)

    def write_one(self, unit: Unit) -> None:
        """One unit in its own savepoint, through enqueue: what the planner did for every unit before."""
        session = self.session
        contact = session.get(Contact, unit.home.contact_id) if unit.send and unit.home else None
        if unit.send is not None and contact is None:
            return
        try:
            with session.begin_nested():
                # The unique (enrolment, code) stops a second planner here, before anything is enqueued.
                session.execute(sa.insert(ReminderPlanned), unit.planned)
                if unit.pause is not None:
                    session.execute(
                        sa.update(Enrolment)
                        .where(col(Enrolment.id) == unit.pause)
                        .values(status=EnrolmentStatus.PAUSED, updated_at=self.now)
                    )
                if unit.send is not None and contact is not None:
                    enqueue(
                        session,
                        self.ctx,
                        contact=contact,
                        text=unit.send.text.text,
                        purpose=Purpose.REMINDER,
                        key=unit.send.key,
                        not_before=unit.send.not_before,
                        expires_at=self.expires_at,
                        now=self.now,
                    )
        except IntegrityError:
            return  # already decided by another planner
        self.credit(unit)

    def credit(self, unit: Unit) -> None:
        report = self.report
        report.sent += unit.sent
        report.combined += unit.combined
        report.skipped += unit.skipped
        for code, n in unit.codes:
            report.codes[code] = report.codes.get(code, 0) + n

    def _outbound(self, unit: Unit) -> dict[str, Any]:
        # The row enqueue() would add for this unit, without its query (the chunk checked the keys already).
        send, home = unit.send, unit.home
        assert send is not None and home is not None
        return outbound_row(
            self.ctx,
            contact_id=home.contact_id,
            recipient_encrypted=home.phone_encrypted,
            opted_out=home.opted_out_at is not None,
            language=home.language,
            text=send.text.text,
            purpose=Purpose.REMINDER,
            key=send.key,
            not_before=send.not_before,
            expires_at=self.expires_at,
            now=self.now,
            count=send.text.count,
            last_channel=home.last_channel,
        )


def insert_rows(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys): on PostgreSQL as one INSERT ... SELECT FROM unnest(<an array per
    column>), which costs what the server needs and no more; elsewhere as an executemany. (psycopg's executemany
    sends one statement per row, about ten times slower here: 10 s for a day at a million enrolments.)"""
    if not rows:
        return
    bind = session.connection()
    if bind.dialect.name != "postgresql":
        session.execute(sa.insert(model), rows)
        return
    table = SQLModel.metadata.tables[str(model.__tablename__)]
    names = list(rows[0])
    arrays = ", ".join(f"CAST(:{name} AS {table.c[name].type.compile(dialect=bind.dialect)}[])" for name in names)
    session.execute(
        sa.text(f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})"),
        {name: [row[name] for row in rows] for name in names},
    )
