"""The complaints' dashboard figures: by municipality, category and status, median times, overdue, over a period."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from hotline.models import Complaint, StaffUser
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
