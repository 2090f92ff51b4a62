"""The staff pages' scheduled work: login failures past the throttle window are forgotten, and so are server
sessions a day after they ended or expired (kept that long for the Users page and a look at recent logins)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlmodel import Session, col

from hotline.models import LoginFailure, StaffSession
from hotline.staff.auth import LOGIN_WINDOW, SESSION_ABSOLUTE, SESSION_IDLE

SESSION_KEPT = timedelta(days=1)  # how long a session row outlives its end


def purge_login_failures(session: Session, now: datetime) -> int:
    """Forget failures older than the window (they no longer count) and sessions that ended, or could no longer be
    used (idle or too old), more than a day ago; how many rows went. Safe to run twice at once: a delete by age."""
    failures = session.execute(delete(LoginFailure).where(col(LoginFailure.at) < now - LOGIN_WINDOW))
    cutoff = now - SESSION_KEPT
    sessions = session.execute(
        delete(StaffSession).where(
            or_(
                col(StaffSession.ended_at) < cutoff,
                col(StaffSession.last_seen_at) < cutoff - SESSION_IDLE,
                col(StaffSession.created_at) < cutoff - SESSION_ABSOLUTE,
            )
        )
    )
    return int(failures.rowcount) + int(sessions.rowcount)  # type: ignore[attr-defined]
