"""The complaints' figures: the dashboard's (by municipality, category and status, median times, overdue, over a
period) and the monthly grievance report's (docs/REPORTS.md)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from hotline.complaints.categories import get_rules
from hotline.complaints.service import DECIDED_STATUSES
from hotline.models import (
    Complaint,
    ComplaintEvent,
    ComplaintOutcome,
    ComplaintStatus,
    Jurisdiction,
    OutboundMessage,
    OutboundStatus,
    StaffUser,
)
from hotline.places import get_gazetteer
from hotline.staff.access import visible_clause
from hotline.staff.charts import Bar

MAX_DURATION_ROWS = 200_000  # medians over more than this sample the newest ones


@dataclass(frozen=True)
class Dashboard:
    """The dashboard's figures for one period."""

    day_from: date
    day_to: date
    total: int
    overdue: int
    by_municipality: list[Bar]
    by_category: list[Bar]
    by_status: list[Bar]
    median_first_answer_hours: float | None
    median_resolution_hours: float | None


def _median_hours(session: Session, end: Any, where: Sequence[ColumnElement[bool]]) -> float | None:
    query = (
        select(col(Complaint.created_at), end)
        .where(*where, end.is_not(None))
        .order_by(col(Complaint.id).desc())
        .limit(MAX_DURATION_ROWS)
    )
    hours = [(b - a).total_seconds() / 3600 for a, b in session.exec(query).all()]
    return round(float(statistics.median(hours)), 1) if hours else None


def dashboard(
    session: Session, user: StaffUser, day_from: date, day_to: date, tz: ZoneInfo, now: datetime
) -> Dashboard:
    """Figures for complaints filed between two days (inclusive) that the user may see."""
    start = datetime.combine(day_from, time(), tz)
    end = datetime.combine(day_to + timedelta(days=1), time(), tz)
    where = [visible_clause(user), col(Complaint.created_at) >= start, col(Complaint.created_at) < end]

    def grouped(column: object) -> list[Bar]:
        rows = session.exec(
            select(column, func.count()).where(*where).group_by(column).order_by(func.count().desc())  # type: ignore[call-overload]
        ).all()
        return [Bar(str(label) if label else "-", int(n)) for label, n in rows]

    by_status = grouped(Complaint.status)
    overdue = session.exec(select(func.count()).select_from(Complaint).where(*where, col(Complaint.due_at) < now)).one()
    return Dashboard(
        day_from=day_from,
        day_to=day_to,
        total=sum(b.value for b in by_status),
        overdue=int(overdue),
        by_municipality=grouped(Complaint.municipality_code),
        by_category=grouped(Complaint.category),
        by_status=by_status,
        median_first_answer_hours=_median_hours(session, col(Complaint.first_answered_at), where),
        median_resolution_hours=_median_hours(session, col(Complaint.decided_at), where),
    )


# ---- the monthly grievance report (#21 point 3; docs/REPORTS.md) -------------------------------------------------

SMALL_COUNT = 5  # a count of 1-4 is shown as "<5", so that a village's few complainants cannot be picked out
TREND_MONTHS = 12


def shown(count: int) -> str:
    """A count as the report prints it (page, CSV and PDF): 1 to 4 become "<5"; 0 stays 0 (it names no one)."""
    return f"<{SMALL_COUNT}" if 0 < count < SMALL_COUNT else str(count)


@dataclass(frozen=True)
class Timing:
    """Days from filing to a step (the first answer, the decision) against its deadline."""

    measured: int  # complaints that reached the step
    median_days: float | None  # None over fewer than SMALL_COUNT complaints: too few to show
    p90_days: float | None
    on_time: int  # reached it by its deadline
    late: int  # reached it after its deadline, or not yet though the deadline has passed
    deadline_days: list[int]  # the categories' deadlines (categories.toml)

    @property
    def on_time_share(self) -> float | None:
        """Share of those whose deadline is settled that met it; None over too few."""
        judged = self.on_time + self.late
        return self.on_time / judged if judged >= SMALL_COUNT else None


@dataclass(frozen=True)
class MonthFigures:
    """One month of the trend."""

    month: date
    received: int
    decided: int

    @property
    def rate(self) -> float | None:
        """Decided of received; None over too few."""
        return self.decided / self.received if self.received >= SMALL_COUNT else None


@dataclass(frozen=True)
class GrievanceReport:
    """The month's figures for complaints received in it (in the user's area, narrowed to `area` if given)."""

    month: date
    area: str | None
    received: int
    by_channel: list[Bar]
    by_category: list[Bar]
    by_area: list[Bar]
    decided: int
    resolved: int
    rejected: int
    first_answer: Timing
    decision: Timing
    told_named: int
    decided_named: int
    told_anonymous: int
    decided_anonymous: int
    escalated: int
    escalated_first_answer: int
    escalated_resolution: int
    ratings: list[Bar]  # "1", "2", "3": good, so-so, bad
    trend: list[MonthFigures]

    @property
    def resolution_rate(self) -> float | None:
        """Decided of received; None over too few."""
        return self.decided / self.received if self.received >= SMALL_COUNT else None

    @property
    def trend_bars(self) -> list[Bar]:
        """The trend's received complaints, one bar a month, for its chart."""
        return [Bar(m.month.strftime("%Y-%m"), m.received) for m in self.trend]

    @property
    def told_share(self) -> float | None:
        """Of the decided complaints, the share whose family learnt the outcome; None over too few."""
        decided = self.decided_named + self.decided_anonymous
        return (self.told_named + self.told_anonymous) / decided if decided >= SMALL_COUNT else None


class AreaOutsideScope(Exception):
    """The area asked for is not inside the staff member's own."""


def report_areas(user: StaffUser) -> list[str]:
    """The areas a user may narrow the report to: their own, and each district and municipality inside it."""
    gazetteer = get_gazetteer()
    if user.level == Jurisdiction.OBLAST:
        inside = [
            code
            for district in gazetteer.districts
            if district.oblast == user.area_code
            for code in (district.code, *(m.code for m in gazetteer.municipalities.get(district.code, [])))
        ]
        return [user.area_code, *inside]
    if user.level == Jurisdiction.DISTRICT:
        return [user.area_code, *(m.code for m in gazetteer.municipalities.get(user.area_code, []))]
    return [user.area_code]


def _area_clause(user: StaffUser, area: str | None) -> ColumnElement[bool]:
    """What the user sees (visible_clause: area and level), narrowed to one district or municipality."""
    if not area or area == user.area_code:
        return visible_clause(user)
    if area not in report_areas(user):
        raise AreaOutsideScope(area)
    place = get_gazetteer().get(area)
    column = (
        col(Complaint.district_code)
        if place is not None and place.district is None
        else col(Complaint.municipality_code)
    )
    return sa.and_(visible_clause(user), column == area)


def month_start(day: date) -> date:
    """The first day of the day's month."""
    return day.replace(day=1)


def add_months(month: date, months: int) -> date:
    """The first day of the month `months` later (earlier when negative)."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _quantile(values: list[float], q: float) -> float:
    """The q-quantile, interpolated between ranks (the 90th percentile of 1..10 days is 9.1)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _timing(rows: Sequence[Any], end: str, due: str, now: datetime, deadline_days: list[int]) -> Timing:
    days = [(getattr(r, end) - r.created_at).total_seconds() / 86400 for r in rows if getattr(r, end) is not None]
    on_time = sum(1 for r in rows if getattr(r, end) is not None and getattr(r, end) <= getattr(r, due))
    late = sum(
        1
        for r in rows
        if (getattr(r, end) is not None and getattr(r, end) > getattr(r, due))
        or (getattr(r, end) is None and getattr(r, due) < now)
    )
    enough = len(days) >= SMALL_COUNT
    return Timing(
        measured=len(days),
        median_days=round(_quantile(days, 0.5), 1) if enough else None,
        p90_days=round(_quantile(days, 0.9), 1) if enough else None,
        on_time=on_time,
        late=late,
        deadline_days=deadline_days,
    )


def _bars(values: Sequence[str | None]) -> list[Bar]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value or "-"] = counts.get(value or "-", 0) + 1
    return [Bar(label, n) for label, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def grievance_report(
    session: Session, user: StaffUser, month: date, area: str | None, tz: ZoneInfo, now: datetime
) -> GrievanceReport:
    """The grievance report of complaints received in `month` (local time) that the user may see, narrowed to
    `area` (AreaOutsideScope if it lies outside the user's own), with the trend of the 12 months up to it."""
    where = _area_clause(user, area)
    month = month_start(month)
    start = datetime.combine(month, time(), tz)
    end = datetime.combine(add_months(month, 1), time(), tz)
    rows = session.exec(
        select(Complaint).where(where, col(Complaint.created_at) >= start, col(Complaint.created_at) < end)
    ).all()
    ids = [r.id for r in rows]
    outcomes = {
        o.complaint_id: o
        for o in session.exec(select(ComplaintOutcome).where(col(ComplaintOutcome.complaint_id).in_(ids)))
    }
    sent_keys = set(
        session.exec(
            select(OutboundMessage.idempotency_key).where(
                col(OutboundMessage.idempotency_key).in_([o.outbound_key for o in outcomes.values() if o.outbound_key]),
                col(OutboundMessage.status).in_([OutboundStatus.SENT, OutboundStatus.DELIVERED]),
            )
        ).all()
    )

    def told(complaint: Complaint) -> bool:
        outcome = outcomes.get(complaint.id or 0)
        if outcome is None:
            return False
        return outcome.status_seen_at is not None or (outcome.outbound_key or "") in sent_keys

    decided = [r for r in rows if r.decided_at is not None and r.status in DECIDED_STATUSES]
    decisions = _decisions(session, decided)
    named = [r for r in decided if not r.anonymous]
    anonymous = [r for r in decided if r.anonymous]
    categories = get_rules().categories.values()
    ratings = [str(o.rating) for o in outcomes.values() if o.rating is not None]
    return GrievanceReport(
        month=month,
        area=area or None,
        received=len(rows),
        by_channel=_bars([r.channel for r in rows]),
        by_category=_bars([r.category for r in rows]),
        by_area=_bars([r.municipality_code or r.district_code for r in rows]),
        decided=len(decided),
        resolved=sum(1 for r in decided if decisions.get(r.id or 0) == ComplaintStatus.RESOLVED),
        rejected=sum(1 for r in decided if decisions.get(r.id or 0) == ComplaintStatus.REJECTED),
        first_answer=_timing(
            rows, "first_answered_at", "first_answer_due", now, sorted({c.first_answer_days for c in categories})
        ),
        decision=_timing(rows, "decided_at", "resolution_due", now, sorted({c.resolution_days for c in categories})),
        told_named=sum(1 for r in named if told(r)),
        decided_named=len(named),
        told_anonymous=sum(1 for r in anonymous if told(r)),
        decided_anonymous=len(anonymous),
        escalated=sum(1 for r in rows if r.escalated_first_answer or r.escalated_resolution),
        escalated_first_answer=sum(1 for r in rows if r.escalated_first_answer),
        escalated_resolution=sum(1 for r in rows if r.escalated_resolution),
        ratings=[Bar(value, ratings.count(value)) for value in ("1", "2", "3")],
        trend=_trend(session, where, month, tz),
    )


def _decisions(session: Session, complaints: Sequence[Complaint]) -> dict[int, str]:
    """Each decided complaint's decision, resolved or rejected: a closed one's is its last decision in the trail."""
    found = {c.id or 0: str(c.status) for c in complaints if c.status != ComplaintStatus.CLOSED}
    closed = [c.id for c in complaints if c.status == ComplaintStatus.CLOSED]
    if closed:
        events = session.exec(
            select(ComplaintEvent)
            .where(col(ComplaintEvent.complaint_id).in_(closed), ComplaintEvent.kind == "status_changed")
            .order_by(col(ComplaintEvent.at), col(ComplaintEvent.id))
        )
        for event in events:
            if event.details.get("new") in (ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED):
                found[event.complaint_id] = str(event.details["new"])
    return found


def _trend(session: Session, where: ColumnElement[bool], month: date, tz: ZoneInfo) -> list[MonthFigures]:
    """Received and decided (of them) for each of the 12 months up to `month`."""
    first = add_months(month, 1 - TREND_MONTHS)
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(add_months(month, 1), time(), tz)
    rows = session.exec(
        select(col(Complaint.created_at), col(Complaint.decided_at)).where(
            where, col(Complaint.created_at) >= start, col(Complaint.created_at) < end
        )
    ).all()
    received: dict[date, int] = {}
    decided: dict[date, int] = {}
    for created, decided_at in rows:
        key = month_start(created.astimezone(tz).date())
        received[key] = received.get(key, 0) + 1
        if decided_at is not None:
            decided[key] = decided.get(key, 0) + 1
    months = [add_months(first, i) for i in range(TREND_MONTHS)]
    return [MonthFigures(m, received.get(m, 0), decided.get(m, 0)) for m in months]
