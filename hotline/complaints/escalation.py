"""Deadlines and escalation: an overdue complaint moves up a level (municipality → district → oblast) once per
missed deadline, its supervisors are notified on the admin page, and the family hears "still in progress" once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from hotline.complaints.service import LEVEL_UP, record_event
from hotline.context import Context
from hotline.messaging.outbox import enqueue
from hotline.messaging.routing import reply_number
from hotline.models import (
    Actor,
    Complaint,
    Contact,
    Jurisdiction,
    Notification,
    Purpose,
    Role,
    StaffUser,
)
from hotline.staff.access import can_see

log = logging.getLogger(__name__)
PROGRESS_SMS_VALID = timedelta(days=3)


def supervisors_of(session: Session, complaint: Complaint) -> list[StaffUser]:
    """Active supervisors who see the complaint (its district's and the oblast's)."""
    candidates = session.exec(
        select(StaffUser).where(StaffUser.role == Role.SUPERVISOR, col(StaffUser.active).is_(True))
    ).all()
    return [user for user in candidates if can_see(user, complaint)]


def escalate(
    session: Session,
    ctx: Context,
    complaint: Complaint,
    now: datetime,
    *,
    reason: str,
    actor: Actor = Actor.SYSTEM,
    actor_id: int | None = None,
) -> None:
    """Move a complaint one level up (it stays at the oblast if already there), notify, tell the family once."""
    old = Jurisdiction(complaint.jurisdiction)
    new = LEVEL_UP.get(old, old)
    complaint.jurisdiction = new
    complaint.updated_at = now
    session.add(complaint)
    record_event(
        session, complaint, "escalated", actor, now, actor_id=actor_id, old=old.value, new=new.value, reason=reason
    )
    assignee = session.get(StaffUser, complaint.assignee_id) if complaint.assignee_id else None
    if assignee is not None and not can_see(assignee, complaint):
        # The assignee's level no longer handles it: it waits for the next level to take it.
        complaint.assignee_id = None
        record_event(session, complaint, "unassigned", Actor.SYSTEM, now, reason="escalated")
    for supervisor in supervisors_of(session, complaint):
        session.add(
            Notification(
                user_id=supervisor.id or 0,
                complaint_id=complaint.id,
                kind="escalated",
                details={"reference": complaint.reference, "reason": reason, "to": new.value},
                created_at=now,
            )
        )
    contact = session.get(Contact, complaint.contact_id) if complaint.contact_id and not complaint.anonymous else None
    if contact is not None:
        sms = ctx.texts.render(
            "complaints/in_progress",
            complaint.language,
            reference=complaint.reference,
            reply_to=reply_number(ctx.settings),
        )
        # One key per complaint: a second escalation never sends it again.
        enqueue(
            session,
            ctx,
            contact=contact,
            text=sms.text,
            purpose=Purpose.COMPLAINT_UPDATE,
            key=f"complaint:{complaint.id}:in-progress",
            language=complaint.language,
            expires_at=now + PROGRESS_SMS_VALID,
            now=now,
        )
