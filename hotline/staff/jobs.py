"""The staff pages' scheduled work: login failures past the throttle window are forgotten."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col

from hotline.models import LoginFailure
from hotline.staff.auth import LOGIN_WINDOW


def purge_login_failures(session: Session, now: datetime) -> int:
    """Forget failures older than the window (they no longer count)."""
    result = session.execute(delete(LoginFailure).where(col(LoginFailure.at) < now - LOGIN_WINDOW))
    return int(result.rowcount)  # type: ignore[attr-defined]
