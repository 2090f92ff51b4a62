"""The staff audit log: every view, change, answer, reveal and refusal, filterable and exportable."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from hotline.models import AuditEntry, Complaint, StaffUser
from hotline.staff.access import audit_visible_clause, staff_in_area, visible_clause
from hotline.staff.csv_export import csv_stream
from hotline.staff.i18n import translator
from hotline.staff.narrate import Narrator, ids_in, staff_names

# How a reveal of a complainant's number is audited (complaints/casework.py); listed apart to the area's supervisors.
REVEAL_ACTIONS = ("reveal",)
LATEST_REVEALS = 20


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
    action_name: str = ""  # the action and its details told in the reader's language (tell())
    text: str = ""


def tell(session: Session, rows: list[AuditRow], language: str) -> list[AuditRow]:
    """The rows with their action and details as sentences in the interface language, staff and places named."""
    details = [r.entry.details for r in rows]
    narrator = Narrator(language, staff_names(session, ids_in(details)))
    return [
        replace(
            r,
            action_name=narrator.action(r.entry.action),
            text=narrator.audit(r.entry.action, r.entry.user_id, r.entry.details),
        )
        for r in rows
    ]


def action_names(actions: list[str], language: str) -> dict[str, str]:
    """The audit filter's choices: each recorded action by its name in the interface language."""
    narrator = Narrator(language, {})
    return {a: narrator.action(a) for a in actions}


def _query(viewer: StaffUser, f: AuditFilter, tz: ZoneInfo) -> Any:
    # Only the viewer's area (access.audit_visible_clause); a complaint's reference only if the viewer may see the
    # complaint (a row of an area's officer about a complaint since moved above them keeps its action, not its name).
    reference = sa.case((visible_clause(viewer), col(Complaint.reference)), else_=sa.null())
    query = (
        select(AuditEntry, StaffUser.username, reference)
        .outerjoin(StaffUser, col(StaffUser.id) == col(AuditEntry.user_id))
        .outerjoin(Complaint, col(Complaint.id) == col(AuditEntry.complaint_id))
        .where(audit_visible_clause(viewer))
    )
    if f.user_id:
        query = query.where(AuditEntry.user_id == f.user_id)
    if f.action:
        query = query.where(AuditEntry.action == f.action)
    if f.reference:
        query = query.where(Complaint.reference == f.reference.strip(), visible_clause(viewer))
    if f.day_from:
        query = query.where(col(AuditEntry.at) >= datetime.combine(f.day_from, time(), tz))
    if f.day_to:
        query = query.where(col(AuditEntry.at) < datetime.combine(f.day_to + timedelta(days=1), time(), tz))
    return query


def list_audit(
    session: Session, viewer: StaffUser, f: AuditFilter, tz: ZoneInfo, *, page: int, per_page: int
) -> tuple[list[AuditRow], int]:
    """A page of the viewer's area's audit rows, newest first, and how many match."""
    query = _query(viewer, f, tz)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [AuditRow(entry, username or "", reference or "") for entry, username, reference in rows], int(total)


def latest_reveals(session: Session, viewer: StaffUser, tz: ZoneInfo) -> list[AuditRow]:
    """The newest reveals of complainants' numbers in the viewer's area: who, which complaint, when, why."""
    query = _query(viewer, AuditFilter(), tz).where(col(AuditEntry.action).in_(REVEAL_ACTIONS))
    rows = session.exec(
        query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(LATEST_REVEALS)
    ).all()
    return [AuditRow(entry, username or "", reference or "") for entry, username, reference in rows]


def actions(session: Session, viewer: StaffUser) -> list[str]:
    """Every action recorded so far in the viewer's area (for the filter)."""
    query = select(AuditEntry.action).where(audit_visible_clause(viewer)).distinct().order_by(AuditEntry.action)
    return list(session.exec(query))


def area_staff(session: Session, viewer: StaffUser) -> list[StaffUser]:
    """The accounts of the viewer's area (for the filter: another area's staff are not named)."""
    return list(session.exec(select(StaffUser).where(staff_in_area(viewer)).order_by(StaffUser.username)))


def export_audit(
    session: Session, viewer: StaffUser, f: AuditFilter, tz: ZoneInfo, *, delimiter: str = ","
) -> Iterator[str]:
    """The filtered audit log of the viewer's area as CSV lines (no phone number is ever in the details), its
    header in the viewer's language; every cell defused (usernames and details are typed by people)."""
    query = _query(viewer, f, tz).order_by(col(AuditEntry.at), col(AuditEntry.id))

    def rows() -> Iterator[list[object]]:
        for entry, username, reference in session.exec(query).yield_per(500):
            details = "; ".join(f"{k}={v}" for k, v in sorted(entry.details.items()))
            yield [
                entry.at.astimezone(tz).isoformat(timespec="seconds"),
                username or "",
                entry.action,
                reference or "",
                details,
            ]

    t = translator(viewer.ui_language)
    header = [t(f"csv.{name}") for name in ("at", "user", "action", "complaint", "details")]
    yield from csv_stream(header, rows(), delimiter=delimiter)


def start_export(
    session: Session, user: StaffUser, f: AuditFilter, tz: ZoneInfo, now: datetime, *, delimiter: str = ","
) -> Iterator[str]:
    """The CSV of the filtered audit log, the export itself audited first (the caller commits before streaming)."""
    audit(session, user, "export_audit", now)
    return export_audit(session, user, f, tz, delimiter=delimiter)
