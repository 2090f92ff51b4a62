"""Deadlines: overdue complaints move up a level once per deadline, supervisors are told, the family hears once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.complaints.jobs import escalate_overdue
from hotline.complaints.service import events_of
from hotline.context import Context
from hotline.models import Complaint, ComplaintStatus, Notification, OutboundMessage, StaffUser, utcnow
from tests.staff_pages import log_in, make_complaint

Web = Callable[[], TestClient]


def test_overdue_complaint_escalates_once_per_deadline(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    now = utcnow()
    complaint = make_complaint(session, ctx, "Не выплатили пособие", now=now - timedelta(days=8))
    on_time = make_complaint(session, ctx, "Вчерашняя жалоба", now=now - timedelta(days=1), phone="+996555000901")
    complaint.assignee_id = staff["dara"].id
    session.add(complaint)
    session.commit()

    assert escalate_overdue(session, ctx, now) == 1
    session.commit()
    assert escalate_overdue(session, ctx, now + timedelta(minutes=10)) == 0  # the next run changes nothing
    session.commit()
    session.expire_all()
    up = session.get(Complaint, complaint.id)
    assert up is not None and up.jurisdiction == "district" and up.escalated_first_answer
    assert up.assignee_id is None  # the municipality's officer no longer handles it
    assert session.get(Complaint, on_time.id).jurisdiction == "municipality"  # type: ignore[union-attr]
    notified = {n.user_id for n in session.exec(select(Notification))}
    assert notified == {staff["supervisor"].id, staff["oblast"].id}
    sms = session.exec(select(OutboundMessage)).one()
    assert complaint.reference in sms.body and sms.contact_id == complaint.contact_id

    # Answered, then the resolution deadline passes: up to the oblast, and no second SMS to the family.
    up.first_answered_at, up.due_at = now, up.resolution_due
    session.add(up)
    session.commit()
    # (the complaint filed yesterday has missed its own first-answer deadline by then, and goes up too)
    assert escalate_overdue(session, ctx, up.resolution_due + timedelta(hours=1)) == 2
    session.commit()
    session.expire_all()
    top = session.get(Complaint, complaint.id)
    assert top is not None and top.jurisdiction == "oblast" and top.escalated_resolution
    # Both families told (in whatever order the job took them: a query without ORDER BY has none on PostgreSQL).
    told = sorted(m.contact_id or 0 for m in session.exec(select(OutboundMessage)))
    assert told == sorted([complaint.contact_id or 0, on_time.contact_id or 0])
    reasons = [e.details["reason"] for e in events_of(session, top) if e.kind == "escalated"]
    assert reasons == ["first_answer_overdue", "resolution_overdue"]

    # The oblast supervisor sees the notification on the queue page; the district's, below the complaint's level
    # now, no longer does (a notification shows only while its complaint is visible); nor the municipality officer.
    supervisor = web()
    log_in(supervisor, "oblast.super")
    page = supervisor.get("/admin/queue").text
    assert f"Complaint {complaint.reference} is overdue" in page
    district = web()
    log_in(district, "batken.super")
    assert complaint.reference not in district.get("/admin/queue").text
    dara = web()
    log_in(dara, "dara.officer")
    assert complaint.reference not in dara.get("/admin/queue").text


def test_decided_and_anonymous_complaints(staff: dict[str, StaffUser], session: Session, ctx: Context) -> None:
    now = utcnow()
    decided = make_complaint(session, ctx, "Решено давно", now=now - timedelta(days=30))
    decided.status, decided.due_at = ComplaintStatus.RESOLVED, None
    session.add(decided)
    anonymous = make_complaint(
        session, ctx, "Аноним", now=now - timedelta(days=8), anonymous=True, phone="+996555000902"
    )
    session.commit()
    assert escalate_overdue(session, ctx, now) == 1
    session.commit()
    session.expire_all()
    assert session.get(Complaint, decided.id).jurisdiction == "municipality"  # type: ignore[union-attr]
    assert session.get(Complaint, anonymous.id).jurisdiction == "district"  # type: ignore[union-attr]
    assert session.exec(select(OutboundMessage)).all() == []  # no number to tell


def test_supervisor_escalates_by_hand_officer_cannot(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие")
    officer, supervisor = web(), web()
    officer_token, super_token = log_in(officer, "dara.officer"), log_in(supervisor, "batken.super")
    url = f"/admin/complaints/{complaint.id}/escalate"
    assert officer.post(url, data={"csrf_token": officer_token}, headers={"accept": "text/html"}).status_code == 403
    page = supervisor.post(url, data={"csrf_token": super_token}).text
    assert "Escalated" in page
    session.expire_all()
    assert session.get(Complaint, complaint.id).jurisdiction == "district"  # type: ignore[union-attr]
