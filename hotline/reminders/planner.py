"""The reminder planner: each day, every message of the schedule that falls due goes into the outbox, at most one
a week per household, never twice, at the household's hour outside quiet hours (docs/REMINDERS.md#planning)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlmodel import Session, col

from hotline.context import Context
from hotline.models import (
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    ReminderPlanned,
)
from hotline.reminders.run import CHUNK, Candidate, PlanReport, Run, Unit
from hotline.reminders.schedule import Scheduled, get_schedule

GRACE_DAYS = 6  # a message missed by a planner that was down this long still goes; older ones never do
COMBINED_TEMPLATE = "reminders/combined"


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


def _candidates(session: Session, day: date, schedule: tuple[Scheduled, ...], tz: ZoneInfo) -> list[Candidate]:
    # One indexed range per message of the schedule: the active enrolments whose anchor puts it due in the window,
    # minus those that already have it decided (an anti-join on the unique (enrolment, code) index), all in one
    # UNION ALL; then the exact check per row in Python.
    first = day - timedelta(days=GRACE_DAYS)
    ranges: dict[str, date] = {}
    for order, message in enumerate(schedule):
        ranges[f"lo_{order}"], ranges[f"hi_{order}"] = message.anchors_due_between(first, day)
    found: list[Candidate] = []
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
            found.append(Candidate(household_id, enrolment_id, birth_date, message, order))
    if postgres:
        session.execute(sa.text("SELECT set_config('jit', :jit, true)"), {"jit": jit})
    return found


PAST_DUE = timedelta(weeks=4)
PAST_DUE_CODE = "past-due"


def ask_past_due(session: Session, ctx: Context, day: date, now: datetime, report: PlanReport) -> None:
    """A pregnancy 4 weeks past its due date without BORN: ask once whether the baby is born, then pause."""
    run = Run(session, ctx, day, now)
    run.report = report
    _ask_past_due(run)


def _ask_past_due(run: Run) -> None:
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
            unit = Unit(
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
    run = Run(session, ctx, day, now)
    _ask_past_due(run)
    found = _candidates(session, day, get_schedule(), ctx.tz)
    found.sort(key=lambda c: (c.household_id, c.enrolment_id, c.order))
    chunk: list[list[Candidate]] = []
    for _, due in groupby(found, key=lambda c: c.household_id):
        chunk.append(list(due))
        if len(chunk) == CHUNK:
            _plan_chunk(run, chunk)
            chunk = []
    _plan_chunk(run, chunk)
    return run.report


def _plan_chunk(run: Run, chunk: list[list[Candidate]]) -> None:
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
    units: list[Unit] = []
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
                units.append(Unit(home, [_planned(c, day, None)]))
                report.skipped += 1  # counted even when another planner recorded it first
            if home is None:
                continue
            last = group[-1]
            # A message outside the weekly limit: its own key, never combined.
            key = f"reminder:{last.enrolment_id}:{last.message.code}"
            send = home.opted_out_at is None
            unit = Unit(
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
        unit = Unit(
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


def _planned(candidate: Candidate, day: date, outbound_key: str | None) -> dict[str, Any]:
    return {
        "enrolment_id": candidate.enrolment_id,
        "code": candidate.message.code,
        "day": day,
        "outbound_key": outbound_key,
    }


def _groups(due: list[Candidate]) -> list[list[Candidate]]:
    groups: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in due:
        groups[candidate.enrolment_id].append(candidate)
    return list(groups.values())


def _months(birth_date: date | None, day: date) -> int:
    if birth_date is None:
        return 0
    age = relativedelta(day, birth_date)
    return int(age.years * 12 + age.months)
