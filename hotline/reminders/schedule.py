"""The reminder schedule as data (schedule.toml): each message's stage, offset, template and priority."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from hotline.models import EnrolmentKind

SCHEDULE_FILE = Path(__file__).with_name("schedule.toml")
PREGNANCY_DAYS = 280  # the due date is 40 weeks after the first day of the last period


@dataclass(frozen=True)
class Scheduled:
    """One message of the schedule."""

    code: str
    stage: EnrolmentKind
    template: str
    priority: int
    weeks: int = 0  # pregnancy week
    months: int = 0  # after birth
    days: int = 0  # after birth
    weekly_limit: bool = True  # False: sent even if the household already had a reminder this week

    def offset(self) -> relativedelta:
        """From the anchor (the start of pregnancy, or the birth) to the day the message is due."""
        return relativedelta(weeks=self.weeks, months=self.months, days=self.days)

    @property
    def offset_days(self) -> int:
        """The offset as a number of days from a fixed anchor (for ordering messages of one stage)."""
        anchor = date(2000, 1, 1)
        return int((anchor + self.offset() - anchor).days)

    def due_on(self, due_date: date | None, birth_date: date | None) -> date | None:
        """The day this message is due for an enrolment (None if the enrolment has no such anchor)."""
        if self.stage == EnrolmentKind.PREGNANCY:
            return due_date - timedelta(days=PREGNANCY_DAYS) + self.offset() if due_date else None
        return birth_date + self.offset() if birth_date else None

    def anchors_due_between(self, first: date, last: date) -> tuple[date, date]:
        """The range of due dates (pregnancy) or birth dates (child) for which it falls due between two days."""
        shift = self.offset()
        if self.stage == EnrolmentKind.PREGNANCY:
            extra = timedelta(days=PREGNANCY_DAYS)
            return first - shift + extra, last - shift + extra
        # Month arithmetic is not exactly invertible at month ends: widen by a few days, callers check due_on.
        return first - shift - timedelta(days=3), last - shift + timedelta(days=3)


def _entry(raw: dict[str, Any], **overrides: Any) -> Scheduled:
    values = {**raw, **overrides}
    return Scheduled(
        code=values["code"],
        stage=EnrolmentKind(values["stage"]),
        template=values["template"],
        priority=int(values["priority"]),
        weeks=int(values.get("week", 0)),
        months=int(values.get("months", 0)),
        days=int(values.get("days", 0)),
        weekly_limit=bool(values.get("weekly_limit", True)),
    )


def load_schedule(path: Path = SCHEDULE_FILE) -> list[Scheduled]:
    """Every message of the schedule, the monthly rule expanded."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = [_entry(raw) for raw in data["messages"]]
    monthly = data.get("monthly")
    if monthly:
        templates = monthly["templates"]
        for month in range(monthly["from_month"], monthly["to_month"] + 1):
            entries.append(
                _entry(
                    {k: v for k, v in monthly.items() if k not in ("templates", "from_month", "to_month")},
                    code=monthly["code"].format(month=month),
                    template=templates[month % len(templates)],
                    months=month,
                )
            )
    codes = [e.code for e in entries]
    if len(set(codes)) != len(codes):
        raise ValueError("schedule.toml: a code is used twice")
    return entries


@lru_cache(maxsize=1)
def get_schedule() -> tuple[Scheduled, ...]:
    """The shipped schedule."""
    return tuple(load_schedule())
