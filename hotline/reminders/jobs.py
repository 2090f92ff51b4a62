"""Reminders' scheduled work: today's reminders planned (hourly; idempotent, so a restart or a second scheduler
process plans nothing twice)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from hotline.context import Context
from hotline.reminders.planner import plan_day
from hotline.reminders.run import PlanReport


def plan_reminders(session: Session, ctx: Context, now: datetime) -> PlanReport:
    """Plan what falls due today, in the hotline's time zone."""
    return plan_day(session, ctx, ctx.local_day(now), now)
