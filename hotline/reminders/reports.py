"""Reminder figures for the dashboard: enrolments by municipality and stage, reminders per week by outcome."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from hotline.models import (
    Enrolment,
    EnrolmentStatus,
    Household,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    StaffUser,
)
from hotline.staff.access import municipality_in_area
from hotline.staff.charts import Bar

OUTCOMES = {
    "delivered": {OutboundStatus.DELIVERED},
    "sent": {OutboundStatus.SENT, OutboundStatus.SENDING},
    "failed": {OutboundStatus.FAILED, OutboundStatus.UNDELIVERED, OutboundStatus.EXPIRED},
    "waiting": {OutboundStatus.PENDING},
    "cancelled": {OutboundStatus.CANCELLED},
}


@dataclass(frozen=True)
class WeekRow:
    """Reminders created in one ISO week, by outcome."""

    week: str
    counts: dict[str, int]


@dataclass(frozen=True)
class RemindersReport:
    """The reminder part of the dashboard."""

    by_municipality: list[Bar]
    by_stage: list[Bar]
    weeks: list[WeekRow]


def reminders_report(session: Session, user: StaffUser, day_from: date, day_to: date, tz: ZoneInfo) -> RemindersReport:
    """Enrolments now, and the reminders created between two days (inclusive), for the user's area."""
    area = municipality_in_area(user, col(Household.municipality_code))
    joined = select(Household.municipality_code, Enrolment.kind, Enrolment.status, func.count()).join(
        Household, col(Household.id) == col(Enrolment.household_id)
    )
    rows = session.exec(
        joined.where(area).group_by(Household.municipality_code, Enrolment.kind, Enrolment.status)
    ).all()
    by_place: dict[str, int] = defaultdict(int)
    by_stage: dict[str, int] = defaultdict(int)
    for place, kind, status, n in rows:
        if status == EnrolmentStatus.ACTIVE:
            by_place[place or "-"] += n
            by_stage[f"{kind}"] += n
        else:
            by_stage[f"{status}"] += n
    start = datetime.combine(day_from, time(), tz)
    end = datetime.combine(day_to + timedelta(days=1), time(), tz)
    messages = session.exec(
        select(OutboundMessage.created_at, OutboundMessage.status)
        .join(Household, col(Household.contact_id) == col(OutboundMessage.contact_id))
        .where(area, OutboundMessage.purpose == Purpose.REMINDER)
        .where(col(OutboundMessage.created_at) >= start, col(OutboundMessage.created_at) < end)
    ).all()
    weeks: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    for created, status in messages:
        iso = created.astimezone(tz).isocalendar()
        outcome = next(name for name, statuses in OUTCOMES.items() if status in statuses)
        weeks[f"{iso.year}-W{iso.week:02d}"][outcome] += 1
    return RemindersReport(
        by_municipality=sorted((Bar(k, v) for k, v in by_place.items()), key=lambda b: -b.value),
        by_stage=sorted((Bar(k, v) for k, v in by_stage.items()), key=lambda b: -b.value),
        weeks=[WeekRow(week, counts) for week, counts in sorted(weeks.items())],
    )
