"""The voice line on the dashboard: calls per day, main-menu choices, callbacks, call length."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from hotline.models import CallDirection, VoiceCall
from hotline.staff.charts import Bar

MAX_CALL_ROWS = 200_000  # beyond this the figures describe the newest calls of the period


@dataclass(frozen=True)
class VoiceFigures:
    """Counts for one period (no numbers: a call record never holds one)."""

    calls: int
    callbacks: int
    per_day: list[Bar]
    by_choice: list[Bar]
    median_seconds: int | None


def voice_figures(session: Session, day_from: date, day_to: date, tz: ZoneInfo) -> VoiceFigures:
    """Calls started between two local days (inclusive)."""
    start = datetime.combine(day_from, time(), tz)
    end = datetime.combine(day_to + timedelta(days=1), time(), tz)
    rows = session.exec(
        select(VoiceCall.started_at, VoiceCall.direction, VoiceCall.menu_path, VoiceCall.duration_seconds)
        .where(col(VoiceCall.started_at) >= start, col(VoiceCall.started_at) < end)
        .order_by(col(VoiceCall.id).desc())
        .limit(MAX_CALL_ROWS)
    ).all()
    per_day: Counter[str] = Counter()
    choices: Counter[str] = Counter()
    durations: list[int] = []
    rejected = 0
    for started, direction, path, seconds in rows:
        if direction == CallDirection.REJECTED:
            rejected += 1  # a missed call: the callback is the call that counts
            continue
        per_day[started.astimezone(tz).date().isoformat()] += 1
        made = [step.split(":", 1)[1] for step in path or [] if step.startswith("main:")]
        choices.update(made or ["none"])
        if "complaint:recorded" in (path or []):
            choices["recorded"] += 1
        if seconds is not None:
            durations.append(seconds)
    return VoiceFigures(
        calls=sum(per_day.values()),
        callbacks=rejected,
        per_day=[Bar(day, n) for day, n in sorted(per_day.items())],
        by_choice=[Bar(choice, n) for choice, n in choices.most_common()],
        median_seconds=int(statistics.median(durations)) if durations else None,
    )
