"""Households, enrolments and the daily planning run that puts due reminders into the outbox."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.messaging.outbox import enqueue, in_quiet_hours, quiet_hours_end
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
    moment = max(datetime.combine(day, time(household.send_hour), ctx.tz), now)
    settings = ctx.settings
    if in_quiet_hours(moment, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end):
        moment = quiet_hours_end(moment, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end)
    return moment


def _candidates(
    session: Session, day: date, schedule: tuple[Scheduled, ...], tz: ZoneInfo
) -> list[tuple[Enrolment, Scheduled]]:
    # One query per stage: the enrolments whose anchor puts any message due in the window (an OR of indexed
    # ranges), then the exact check per message in Python. Already decided messages are dropped.
    first = day - timedelta(days=GRACE_DAYS)
    found: list[tuple[Enrolment, Scheduled]] = []
    for stage in EnrolmentKind:
        messages = [m for m in schedule if m.stage == stage]
        anchor = col(Enrolment.due_date) if stage == EnrolmentKind.PREGNANCY else col(Enrolment.birth_date)
        ranges = [anchor.between(*m.anchors_due_between(first, day)) for m in messages]
        if not ranges:
            continue
        rows = session.exec(
            select(Enrolment).where(
                Enrolment.kind == stage, Enrolment.status == EnrolmentStatus.ACTIVE, sa.or_(*ranges)
            )
        ).all()
        for enrolment in rows:
            # Not before the enrolment: a late enrolment starts at its current stage, with no catch-up.
            start = max(first, enrolment.created_at.astimezone(tz).date())
            for message in messages:
                due = message.due_on(enrolment.due_date, enrolment.birth_date)
                if due is not None and start <= due <= day:
                    found.append((enrolment, message))
    if not found:
        return []
    ids = list({e.id for e, _ in found})
    planned: set[tuple[int, str]] = set()
    for chunk in range(0, len(ids), 1000):
        planned.update(
            session.exec(
                select(ReminderPlanned.enrolment_id, ReminderPlanned.code).where(
                    col(ReminderPlanned.enrolment_id).in_(ids[chunk : chunk + 1000])
                )
            ).all()
        )
    return [(e, m) for e, m in found if (e.id, m.code) not in planned]


PAST_DUE = timedelta(weeks=4)
PAST_DUE_CODE = "past-due"


def ask_past_due(session: Session, ctx: Context, day: date, now: datetime, report: PlanReport) -> None:
    """A pregnancy 4 weeks past its due date without BORN: ask once whether the baby is born, then pause."""
    rows = session.exec(
        select(Enrolment).where(
            Enrolment.kind == EnrolmentKind.PREGNANCY,
            Enrolment.status == EnrolmentStatus.ACTIVE,
            col(Enrolment.due_date) <= day - PAST_DUE,
        )
    ).all()
    for enrolment in rows:
        household = session.get(Household, enrolment.household_id)
        contact = session.get(Contact, household.contact_id) if household else None
        if household is None or contact is None:
            continue
        key = f"reminder:{enrolment.id}:{PAST_DUE_CODE}"
        send = contact.opted_out_at is None
        try:
            with session.begin_nested():
                session.add(
                    ReminderPlanned(
                        enrolment_id=enrolment.id or 0, code=PAST_DUE_CODE, day=day, outbound_key=key if send else None
                    )
                )
                session.flush()
                enrolment.status, enrolment.updated_at = EnrolmentStatus.PAUSED, now
                session.add(enrolment)
                if send:
                    text = ctx.texts.render("reminders/ask_born", contact.language).text
                    enqueue(
                        session,
                        ctx,
                        contact=contact,
                        text=text,
                        purpose=Purpose.REMINDER,
                        key=key,
                        not_before=send_time(ctx, household, day, now),
                        expires_at=datetime.combine(day, time(), ctx.tz) + REMINDER_VALID,
                        now=now,
                    )
        except IntegrityError:
            continue
        report.sent += send
        report.codes[PAST_DUE_CODE] = report.codes.get(PAST_DUE_CODE, 0) + send


def plan_day(session: Session, ctx: Context, day: date, now: datetime) -> PlanReport:
    """Put every reminder due on `day` into the outbox: one SMS per household per week at most, never twice."""
    report = PlanReport()
    ask_past_due(session, ctx, day, now, report)
    by_household: dict[int, list[tuple[Enrolment, Scheduled]]] = defaultdict(list)
    for enrolment, scheduled in _candidates(session, day, get_schedule(), ctx.tz):
        by_household[enrolment.household_id].append((enrolment, scheduled))
    iso = day.isocalendar()
    for household_id, due in sorted(by_household.items()):
        urgent = [pair for pair in due if not pair[1].weekly_limit]
        due = [pair for pair in due if pair[1].weekly_limit]
        for group in _groups(urgent):
            # After a planner outage, only the newest of a newborn's messages goes (no burst); the rest are skipped.
            group.sort(key=lambda p: p[1].offset_days)
            for enrolment, scheduled in group[:-1]:
                _record_skipped(session, enrolment, scheduled, day)
                report.skipped += 1
            _plan_one(session, ctx, report, household_id, *group[-1], day, now)
        if not due:
            continue
        household = session.get(Household, household_id)
        contact = session.get(Contact, household.contact_id) if household else None
        if household is None or contact is None:
            continue
        report.households += 1
        key = f"reminder:{household_id}:{iso.year}-W{iso.week:02d}"
        # Each enrolment's most important message; the rest of the week's are skipped, never sent later.
        best = [min(group, key=lambda p: (p[1].priority, p[1].code)) for group in _groups(due)]
        best.sort(key=lambda p: (p[1].priority, p[1].code))
        already = session.exec(select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key)).first()
        send = [] if already is not None or contact.opted_out_at is not None else best
        try:
            with session.begin_nested():
                for enrolment, scheduled in due:
                    session.add(
                        ReminderPlanned(
                            enrolment_id=enrolment.id or 0,
                            code=scheduled.code,
                            day=day,
                            outbound_key=key if (enrolment, scheduled) in send else None,
                        )
                    )
                # The unique (enrolment, code) stops a second planner here, before anything is enqueued.
                session.flush()
                if send:
                    # Two enrolments due the same week (a pregnancy and a child): one combined message.
                    template = COMBINED_TEMPLATE if len(send) > 1 else send[0][1].template
                    text = ctx.texts.render(template, contact.language, months=_months(send[0][0], day)).text
                    enqueue(
                        session,
                        ctx,
                        contact=contact,
                        text=text,
                        purpose=Purpose.REMINDER,
                        key=key,
                        not_before=send_time(ctx, household, day, now),
                        expires_at=datetime.combine(day, time(), ctx.tz) + REMINDER_VALID,
                        now=now,
                    )
        except IntegrityError:
            continue
        report.sent += bool(send)
        report.combined += len(send) > 1
        report.skipped += len(due) - len(send)
        for _, scheduled in send:
            report.codes[scheduled.code] = report.codes.get(scheduled.code, 0) + 1
    return report


def _plan_one(
    session: Session,
    ctx: Context,
    report: PlanReport,
    household_id: int,
    enrolment: Enrolment,
    scheduled: Scheduled,
    day: date,
    now: datetime,
) -> None:
    # A message outside the weekly limit: its own key, never combined.
    household = session.get(Household, household_id)
    contact = session.get(Contact, household.contact_id) if household else None
    if household is None or contact is None:
        return
    key = f"reminder:{enrolment.id}:{scheduled.code}"
    send = contact.opted_out_at is None
    try:
        with session.begin_nested():
            planned = ReminderPlanned(
                enrolment_id=enrolment.id or 0, code=scheduled.code, day=day, outbound_key=key if send else None
            )
            session.add(planned)
            session.flush()
            if send:
                text = ctx.texts.render(scheduled.template, contact.language, months=_months(enrolment, day)).text
                enqueue(
                    session,
                    ctx,
                    contact=contact,
                    text=text,
                    purpose=Purpose.REMINDER,
                    key=key,
                    not_before=send_time(ctx, household, day, now),
                    expires_at=datetime.combine(day, time(), ctx.tz) + REMINDER_VALID,
                    now=now,
                )
    except IntegrityError:
        return
    report.sent += send
    report.skipped += not send
    if send:
        report.codes[scheduled.code] = report.codes.get(scheduled.code, 0) + 1


def _record_skipped(session: Session, enrolment: Enrolment, scheduled: Scheduled, day: date) -> None:
    try:
        with session.begin_nested():
            session.add(ReminderPlanned(enrolment_id=enrolment.id or 0, code=scheduled.code, day=day))
    except IntegrityError:
        pass  # already decided by another planner


def _groups(due: list[tuple[Enrolment, Scheduled]]) -> list[list[tuple[Enrolment, Scheduled]]]:
    groups: dict[int | None, list[tuple[Enrolment, Scheduled]]] = defaultdict(list)
    for pair in due:
        groups[pair[0].id].append(pair)
    return list(groups.values())


def _months(enrolment: Enrolment, day: date) -> int:
    if enrolment.birth_date is None:
        return 0
    age = relativedelta(day, enrolment.birth_date)
    return int(age.years * 12 + age.months)
