"""Complaints' scheduled work: overdue complaints move up a level (safe in two scheduler processes at once)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select, update

from hotline.complaints.escalation import escalate
from hotline.complaints.service import OPEN_STATUSES
from hotline.context import Context
from hotline.models import Complaint

BATCH = 200


def _claim(session: Session, complaint_id: int, flag: str) -> bool:
    # Set the flag only if still unset: with two schedulers running, exactly one escalates each deadline.
    column = getattr(Complaint, flag)
    result = session.execute(
        update(Complaint).where(col(Complaint.id) == complaint_id, column.is_(False)).values({flag: True})
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def escalate_overdue(session: Session, ctx: Context, now: datetime) -> int:
    """Escalate every open complaint whose current deadline has passed and has not escalated it yet."""
    overdue_first = sa.and_(
        col(Complaint.first_answered_at).is_(None), col(Complaint.escalated_first_answer).is_(False)
    )
    overdue_resolution = sa.and_(
        col(Complaint.first_answered_at).is_not(None), col(Complaint.escalated_resolution).is_(False)
    )
    candidates = session.exec(
        select(Complaint)
        .where(
            col(Complaint.status).in_([s.value for s in OPEN_STATUSES]),
            col(Complaint.due_at) < now,
            sa.or_(overdue_first, overdue_resolution),
        )
        .order_by(col(Complaint.due_at))
        .limit(BATCH)
    ).all()
    done = 0
    for complaint in candidates:
        first = complaint.first_answered_at is None
        flag = "escalated_first_answer" if first else "escalated_resolution"
        if not _claim(session, complaint.id or 0, flag):
            continue
        session.refresh(complaint)
        escalate(session, ctx, complaint, now, reason="first_answer_overdue" if first else "resolution_overdue")
        done += 1
    return done
