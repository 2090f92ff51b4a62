"""Complaints' scheduled work: overdue complaints move up a level (safe in two scheduler processes at once), and
anonymous complaints begun and left are forgotten."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select, update

from hotline.complaints.escalation import escalate
from hotline.complaints.flows import FLOW
from hotline.complaints.service import OPEN_STATUSES
from hotline.context import Context
from hotline.dialogue.contacts import forget_if_unused
from hotline.models import Complaint, ComplaintDraft, Contact, Conversation

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


def forget_abandoned_anonymous(session: Session, ctx: Context, now: datetime) -> int:
    """An anonymous complaint begun and never finished goes with its dialogue: the draft (its text, next to the
    phone's contact), the dialogue and a contact that held nothing else. A draft whose dialogue a keyword
    interrupted goes once the dialogue would have expired. Returns how many were forgotten."""
    stale = now - timedelta(minutes=ctx.settings.conversation_timeout_minutes)
    expired = session.exec(
        select(Conversation).where(Conversation.flow == FLOW, col(Conversation.expires_at) <= now).limit(BATCH)
    ).all()
    contact_ids = {c.contact_id for c in expired if c.data.get("anonymous")}
    for conversation in expired:
        if conversation.contact_id in contact_ids:
            session.delete(conversation)
    drafts = session.exec(
        select(ComplaintDraft).where(col(ComplaintDraft.anonymous).is_(True), col(ComplaintDraft.updated_at) <= stale)
    ).all()
    for draft in drafts:
        live = session.exec(select(Conversation).where(Conversation.contact_id == draft.contact_id)).first()
        if live is None or live.contact_id in contact_ids:
            contact_ids.add(draft.contact_id)
            session.delete(draft)
    session.flush()
    for contact_id in contact_ids:
        contact = session.get(Contact, contact_id)
        if contact is not None:
            forget_if_unused(session, contact)
    session.commit()
    return len(contact_ids)
