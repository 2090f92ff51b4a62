"""The staff audit log: every view, change, answer, reveal and refusal, filterable and exportable."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from hotline.models import AuditEntry, Complaint, StaffUser


def audit(
    session: Session,
    user: StaffUser | None,
    action: str,
    now: datetime,
    complaint: Complaint | None = None,
    **details: Any,
) -> AuditEntry:
    """Add one audit row (committed with the change it records)."""
    entry = AuditEntry(
        at=now,
        user_id=user.id if user else None,
        action=action,
        complaint_id=complaint.id if complaint else None,
        details=details,
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page is narrowed to."""

    user_id: int | None = None
    action: str = ""
    reference: str = ""
    day_from: date | None = None
    day_to: date | None = None


@dataclass(frozen=True)
class AuditRow:
    """One audit row with the names a reader needs."""

    entry: AuditEntry
    username: str
    reference: str


def _query(f: AuditFilter, tz: ZoneInfo) -> Any:
    query = (
        select(AuditEntry, StaffUser.username, Complaint.reference)
        .outerjoin(StaffUser, col(StaffUser.id) == col(AuditEntry.user_id))
        .outerjoin(Complaint, col(Complaint.id) == col(AuditEntry.complaint_id))
    )
    if f.user_id:
        query = query.where(AuditEntry.user_id == f.user_id)
    if f.action:
        query = query.where(AuditEntry.action == f.action)
    if f.reference:
        query = query.where(Complaint.reference == f.reference.strip())
    if f.day_from:
        query = query.where(col(AuditEntry.at) >= datetime.combine(f.day_from, time(), tz))
    if f.day_to:
        query = query.where(col(AuditEntry.at) < datetime.combine(f.day_to + timedelta(days=1), time(), tz))
    return query


def list_audit(
    session: Session, f: AuditFilter, tz: ZoneInfo, *, page: int, per_page: int
) -> tuple[list[AuditRow], int]:
    """A page of audit rows, newest first, and how many match."""
    query = _query(f, tz)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [AuditRow(entry, username or "", reference or "") for entry, username, reference in rows], int(total)


def actions(session: Session) -> list[str]:
    """Every action recorded so far (for the filter)."""
    return list(session.exec(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def export_audit(session: Session, f: AuditFilter, tz: ZoneInfo) -> Iterator[str]:
    """The filtered audit log as CSV lines (no phone number is ever in the details)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["at", "user", "action", "complaint", "details"])
    query = _query(f, tz).order_by(col(AuditEntry.at), col(AuditEntry.id))
    for entry, username, reference in session.exec(query).yield_per(500):
        details = "; ".join(f"{k}={v}" for k, v in sorted(entry.details.items()))
        writer.writerow(
            [
                entry.at.astimezone(tz).isoformat(timespec="seconds"),
                username or "",
                entry.action,
                reference or "",
                safe_cell(details),
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def safe_cell(value: str) -> str:
    """Defuse spreadsheet formulas: a cell starting with = + - @ would run in Excel (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def start_export(session: Session, user: StaffUser, f: AuditFilter, tz: ZoneInfo, now: datetime) -> Iterator[str]:
    """The CSV of the filtered audit log, the export itself audited first (the caller commits before streaming)."""
    audit(session, user, "export_audit", now)
    return export_audit(session, f, tz)
