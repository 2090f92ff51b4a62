"""Households, enrolments and the daily planning run that puts due reminders into the outbox."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from hotline.content import Rendered
from hotline.context import Context
from hotline.messaging.outbox import enqueue, in_quiet_hours, outbound_row, quiet_hours_end
from hotline.messaging.routing import reply_number
from hotline.models import (
    Contact,
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    Household,
    OutboundMessage,
    Purpose,
    ReminderPlanned,
)
from hotline.reminders.schedule import PREGNANCY_DAYS, Scheduled, get_schedule

GRACE_DAYS = 6  # a message missed by a planner that was down this long still goes; older ones never do
MAX_PREGNANCY_MONTH = 10
MAX_CHILD_AGE = relativedelta(years=5)
REMINDER_VALID = timedelta(days=2)
COMBINED_TEMPLATE = "reminders/combined"


class EnrolmentError(ValueError):
    """An enrolment that cannot be made as asked; `reason` names the template that explains it to the family."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def due_date_from_month(month: int, today: date) -> date:
    """Estimated due date from the month of pregnancy a woman gives (the middle of that month)."""
    if not 1 <= month <= 9:
        raise EnrolmentError("month_out_of_range")
    weeks_pregnant = round((month - 0.5) * 30.4 / 7)
    return today + timedelta(days=PREGNANCY_DAYS - 7 * weeks_pregnant)


def check_due_date(due: date, today: date) -> None:
    """A due date must lie in the next ten months (or be at most four weeks past)."""
    if due > today + relativedelta(months=MAX_PREGNANCY_MONTH):
        raise EnrolmentError("due_too_far")
    if due < today - timedelta(weeks=4):
        raise EnrolmentError("due_past")


def check_birth_date(born: date, today: date) -> None:
    """A birth date must not be in the future, and the child must be under five."""
    if born > today:
        raise EnrolmentError("birth_in_future")
    if born <= today - MAX_CHILD_AGE:
        raise EnrolmentError("child_too_old")


def household_of(
    session: Session, contact: Contact, now: datetime, channel: str, municipality: str | None = None
) -> Household:
    """The contact's household, created with consent recorded now (the caller has asked for consent)."""
    household = session.exec(select(Household).where(Household.contact_id == contact.id)).first()
    if household is None:
        household = Household(
            contact_id=contact.id or 0,
            municipality_code=municipality or contact.municipality_code,
            consent_at=now,
            consent_channel=channel,
            created_at=now,
        )
        session.add(household)
        session.flush()
    return household


def enrol(
    session: Session,
    household: Household,
    kind: EnrolmentKind,
    now: datetime,
    today: date,
    *,
    due_date: date | None = None,
    birth_date: date | None = None,
) -> Enrolment:
    """Add a pregnancy or a child to a household; the same one twice is not added again."""
    if kind == EnrolmentKind.PREGNANCY:
        if due_date is None:
            raise EnrolmentError("due_missing")
        check_due_date(due_date, today)
        same = Enrolment.due_date == due_date
    else:
        if birth_date is None:
            raise EnrolmentError("birth_missing")
        check_birth_date(birth_date, today)
        same = Enrolment.birth_date == birth_date
    existing = session.exec(
        select(Enrolment).where(Enrolment.household_id == household.id, Enrolment.kind == kind, same)
    ).first()
    if existing is not None:
        return existing
    enrolment = Enrolment(
        household_id=household.id or 0,
        kind=kind,
        due_date=due_date,
        birth_date=birth_date,
        created_at=now,
        updated_at=now,
    )
    session.add(enrolment)
    session.flush()
    return enrolment


@dataclass
class PlanReport:
    """What one planning run did."""

    households: int = 0
    sent: int = 0
    combined: int = 0
    skipped: int = 0
    codes: dict[str, int] = field(default_factory=dict)


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
class _Candidate:
    household_id: int
    enrolment_id: int
    birth_date: date | None
    message: Scheduled
    order: int  # the message's place in the schedule


@dataclass(frozen=True, slots=True)
class _Home:
    """A household's preferred hour and what the outbox needs of its contact."""

    send_hour: int
    contact_id: int
    language: str
    opted_out_at: datetime | None
    phone_encrypted: str
    last_channel: str | None


@dataclass(frozen=True, slots=True)
class _Send:
    key: str
    text: Rendered
    not_before: datetime
    exists: bool  # the key is in the outbox already: enqueue would return that message, nothing is added


@dataclass(slots=True)
class _Unit:
    home: _Home | None
    planned: list[dict[str, Any]]
    send: _Send | None = None
    pause: int | None = None  # an enrolment paused with it
    # What the report gains if the unit lands.
    sent: int = 0
    combined: int = 0
    skipped: int = 0
    codes: tuple[tuple[str, int], ...] = ()


class _Run:
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
            rendered = (
                texts.render(template, language, reply_to=reply_to)
                if months is None
                else texts.render(template, language, months=months, reply_to=reply_to)
            )
            self._texts[key] = rendered
        return rendered

    def send(self, home: _Home, key: str, text: Rendered, existing: set[str]) -> _Send:
        moment = self._send_at.get(home.send_hour)
        if moment is None:
            moment = self._send_at[home.send_hour] = _send_at(self.ctx, home.send_hour, self.day, self.now)
        return _Send(key, text, moment, key in existing)

    def homes(self, ids: list[int]) -> dict[int, _Home]:
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
        return {row[0]: _Home(*row[1:]) for row in rows}

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

    def write(self, units: list[_Unit]) -> None:
        """Write a chunk's units in one savepoint; after a conflict, one savepoint per unit."""
        if not units:
            return
        session = self.session
        try:
            with session.begin_nested():
                _insert_rows(session, ReminderPlanned, [row for unit in units for row in unit.planned])
                paused = [unit.pause for unit in units if unit.pause is not None]
                if paused:
                    session.execute(
                        sa.update(Enrolment)
                        .where(col(Enrolment.id).in_(paused))
                        .values(status=EnrolmentStatus.PAUSED, updated_at=self.now)
                    )
                messages = [self._outbound(unit) for unit in units if unit.send and not unit.send.exists]
                if messages:
                    _insert_rows(session, OutboundMessage, messages)
        except IntegrityError:
            for unit in units:
                self.write_one(unit)
            return
        for unit in units:
            self.credit(unit)

    def write_one(self, unit: _Unit) -> None:
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

    def credit(self, unit: _Unit) -> None:
        report = self.report
        report.sent += unit.sent
        report.combined += unit.combined
        report.skipped += unit.skipped
        for code, n in unit.codes:
            report.codes[code] = report.codes.get(code, 0) + n

    def _outbound(self, unit: _Unit) -> dict[str, Any]:
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


def _insert_rows(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
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


@lru_cache(maxsize=4)
def _candidates_query(schedule: tuple[Scheduled, ...]) -> sa.CompoundSelect[Any]:
    # Built once: each run only binds the anchor ranges (lo_<n>, hi_<n> for message n).
    selects = []
    for order, message in enumerate(schedule):
        anchor = col(Enrolment.due_date) if message.stage == EnrolmentKind.PREGNANCY else col(Enrolment.birth_date)
        decided = sa.exists().where(
            col(ReminderPlanned.enrolment_id) == col(Enrolment.id), col(ReminderPlanned.code) == message.code
        )
        selects.append(
            sa.select(
                col(Enrolment.id),
                col(Enrolment.household_id),
                col(Enrolment.due_date),
                col(Enrolment.birth_date),
                col(Enrolment.created_at),
                sa.literal_column(str(order), sa.Integer).label("message"),
            ).where(
                col(Enrolment.kind) == message.stage,
                col(Enrolment.status) == EnrolmentStatus.ACTIVE,
                anchor.between(sa.bindparam(f"lo_{order}", type_=sa.Date), sa.bindparam(f"hi_{order}", type_=sa.Date)),
                ~decided,
            )
        )
    return sa.union_all(*selects)


def _candidates(session: Session, day: date, schedule: tuple[Scheduled, ...], tz: ZoneInfo) -> list[_Candidate]:
    # One indexed range per message of the schedule: the active enrolments whose anchor puts it due in the window,
    # minus those that already have it decided (an anti-join on the unique (enrolment, code) index), all in one
    # UNION ALL; then the exact check per row in Python.
    first = day - timedelta(days=GRACE_DAYS)
    ranges: dict[str, date] = {}
    for order, message in enumerate(schedule):
        ranges[f"lo_{order}"], ranges[f"hi_{order}"] = message.anchors_due_between(first, day)
    found: list[_Candidate] = []
    due_on: dict[tuple[int, date | None, date | None], date | None] = {}
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # The query has a part per message: PostgreSQL's JIT would spend far longer compiling it (tens of seconds
        # at a million enrolments) than running it. Off for this statement only, then back as it was.
        jit = session.execute(sa.text("SELECT current_setting('jit')")).scalar_one()
        session.execute(sa.text("SELECT set_config('jit', 'off', true)"))
    rows = session.execute(_candidates_query(schedule), ranges)
    for enrolment_id, household_id, due_date, birth_date, created_at, order in rows:
        message = schedule[order]
        key = (order, due_date, birth_date)
        if key not in due_on:
            due_on[key] = message.due_on(due_date, birth_date)
        due = due_on[key]
        # A new enrolment gets what the planner would still send after an outage: the message of its current stage
        # if it fell due in the window (a 9-month message clipped to 28 Feb goes to a child enrolled on 1 Mar), never
        # an older one; the weekly limit and the newborn rule then leave one message, so there is no catch-up burst.
        if due is not None and first <= due <= day and created_at.astimezone(tz).date() <= day:
            found.append(_Candidate(household_id, enrolment_id, birth_date, message, order))
    if postgres:
        session.execute(sa.text("SELECT set_config('jit', :jit, true)"), {"jit": jit})
    return found


PAST_DUE = timedelta(weeks=4)
PAST_DUE_CODE = "past-due"


def ask_past_due(session: Session, ctx: Context, day: date, now: datetime, report: PlanReport) -> None:
    """A pregnancy 4 weeks past its due date without BORN: ask once whether the baby is born, then pause."""
    run = _Run(session, ctx, day, now)
    run.report = report
    _ask_past_due(run)


def _ask_past_due(run: _Run) -> None:
    asked = sa.exists().where(
        col(ReminderPlanned.enrolment_id) == col(Enrolment.id), col(ReminderPlanned.code) == PAST_DUE_CODE
    )
    rows = run.session.execute(
        sa.select(col(Enrolment.id), col(Enrolment.household_id))
        .where(
            col(Enrolment.kind) == EnrolmentKind.PREGNANCY,
            col(Enrolment.status) == EnrolmentStatus.ACTIVE,
            col(Enrolment.due_date) <= run.day - PAST_DUE,
            ~asked,
        )
        .order_by(col(Enrolment.id))
    ).all()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        homes = run.homes(sorted({household_id for _, household_id in chunk}))
        keys = [f"reminder:{enrolment_id}:{PAST_DUE_CODE}" for enrolment_id, _ in chunk]
        existing = run.existing(keys)
        units = []
        for (enrolment_id, household_id), key in zip(chunk, keys, strict=True):
            home = homes.get(household_id)
            if home is None:
                continue
            send = home.opted_out_at is None
            unit = _Unit(
                home,
                [
                    {
                        "enrolment_id": enrolment_id,
                        "code": PAST_DUE_CODE,
                        "day": run.day,
                        "outbound_key": key if send else None,
                    }
                ],
                pause=enrolment_id,
                sent=int(send),
                codes=((PAST_DUE_CODE, int(send)),),
            )
            if send:
                unit.send = run.send(home, key, run.render("reminders/ask_born", home.language), existing)
            units.append(unit)
        run.write(units)


def plan_day(session: Session, ctx: Context, day: date, now: datetime) -> PlanReport:
    """Put every reminder due on `day` into the outbox: one SMS per household per week at most, never twice."""
    run = _Run(session, ctx, day, now)
    _ask_past_due(run)
    found = _candidates(session, day, get_schedule(), ctx.tz)
    found.sort(key=lambda c: (c.household_id, c.enrolment_id, c.order))
    chunk: list[list[_Candidate]] = []
    for _, due in groupby(found, key=lambda c: c.household_id):
        chunk.append(list(due))
        if len(chunk) == CHUNK:
            _plan_chunk(run, chunk)
            chunk = []
    _plan_chunk(run, chunk)
    return run.report


def _plan_chunk(run: _Run, chunk: list[list[_Candidate]]) -> None:
    # Each inner list: the household's due messages, by enrolment, in schedule order.
    if not chunk:
        return
    homes = run.homes([due[0].household_id for due in chunk])
    keys: list[str] = []
    for due in chunk:
        keys.extend(f"reminder:{c.enrolment_id}:{c.message.code}" for c in due if not c.message.weekly_limit)
        if any(c.message.weekly_limit for c in due):
            keys.append(f"reminder:{due[0].household_id}:{run.week}")
    existing = run.existing(keys)
    units: list[_Unit] = []
    report, day = run.report, run.day
    for due in chunk:
        household_id = due[0].household_id
        home = homes.get(household_id)
        urgent = [c for c in due if not c.message.weekly_limit]
        weekly = [c for c in due if c.message.weekly_limit]
        for group in _groups(urgent):
            # After a planner outage, only the newest of a newborn's messages goes (no burst); the rest are skipped.
            group.sort(key=lambda c: c.message.offset_days)
            for c in group[:-1]:
                units.append(_Unit(home, [_planned(c, day, None)]))
                report.skipped += 1  # counted even when another planner recorded it first
            if home is None:
                continue
            last = group[-1]
            # A message outside the weekly limit: its own key, never combined.
            key = f"reminder:{last.enrolment_id}:{last.message.code}"
            send = home.opted_out_at is None
            unit = _Unit(
                home,
                [_planned(last, day, key if send else None)],
                sent=int(send),
                skipped=int(not send),
                codes=((last.message.code, 1),) if send else (),
            )
            if send:
                text = run.render(last.message.template, home.language, _months(last.birth_date, day))
                unit.send = run.send(home, key, text, existing)
            units.append(unit)
        if not weekly or home is None:
            continue
        report.households += 1
        key = f"reminder:{household_id}:{run.week}"
        # Each enrolment's most important message; the rest of the week's are skipped, never sent later.
        best = [min(group, key=lambda c: (c.message.priority, c.message.code)) for group in _groups(weekly)]
        best.sort(key=lambda c: (c.message.priority, c.message.code))
        send_list = [] if key in existing or home.opted_out_at is not None else best
        chosen = {id(c) for c in send_list}
        unit = _Unit(
            home,
            [_planned(c, day, key if id(c) in chosen else None) for c in weekly],
            sent=int(bool(send_list)),
            combined=int(len(send_list) > 1),
            skipped=len(weekly) - len(send_list),
            codes=tuple((c.message.code, 1) for c in send_list),
        )
        if send_list:
            # Two enrolments due the same week (a pregnancy and a child): one combined message.
            template = COMBINED_TEMPLATE if len(send_list) > 1 else send_list[0].message.template
            text = run.render(template, home.language, _months(send_list[0].birth_date, day))
            unit.send = run.send(home, key, text, existing)
        units.append(unit)
    run.write(units)


def _planned(candidate: _Candidate, day: date, outbound_key: str | None) -> dict[str, Any]:
    return {
        "enrolment_id": candidate.enrolment_id,
        "code": candidate.message.code,
        "day": day,
        "outbound_key": outbound_key,
    }


def _groups(due: list[_Candidate]) -> list[list[_Candidate]]:
    groups: dict[int, list[_Candidate]] = defaultdict(list)
    for candidate in due:
        groups[candidate.enrolment_id].append(candidate)
    return list(groups.values())


def _months(birth_date: date | None, day: date) -> int:
    if birth_date is None:
        return 0
    age = relativedelta(day, birth_date)
    return int(age.years * 12 + age.months)
