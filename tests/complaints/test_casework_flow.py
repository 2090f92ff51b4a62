"""Frictions officers met in the field trial (issue #19): a reveal shown once (post-redirect-get), an answer that
moves a new complaint on, and an answer cancelled by the family's STOP that says so."""

from __future__ import annotations

import base64
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.complaints.service import events_of
from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.models import AuditEntry, Complaint, OutboundMessage, OutboundStatus, StaffUser, utcnow
from tests.staff_pages import log_in, make_complaint

Web = Callable[[], TestClient]
PHONE = "+996555123456"
REASON = "Семья просила перезвонить по этой жалобе"


def _fresh(session: Session, complaint: Complaint) -> Complaint:
    session.expire_all()
    found = session.get(Complaint, complaint.id)
    assert found is not None
    return found


def test_a_reveal_is_shown_once_and_a_reload_neither_shows_nor_audits_it_again(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    boss = web()
    token = log_in(boss, "batken.super")
    url = f"/admin/complaints/{complaint.id}"
    posted = boss.post(f"{url}/reveal", data={"csrf_token": token, "reason": REASON}, follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"] == url
    assert "555123456" not in posted.text
    # The number never travels in the cookie, not even signed.
    cookie = boss.cookies.get("hotline_session") or ""
    payload = cookie.split(".", 1)[0]
    assert "555123456" not in base64.b64decode(payload + "=" * (-len(payload) % 4)).decode(errors="replace")
    shown = boss.get(url)
    assert PHONE in shown.text and shown.headers["cache-control"] == "no-store"
    again = boss.get(url).text
    assert PHONE not in again and "+996 55• ••• •56" in again
    reveals = session.exec(select(AuditEntry).where(AuditEntry.action == "reveal")).all()
    assert len(reveals) == 1
    # Another browser with the same account does not get the number either.
    other = web()
    log_in(other, "batken.super")
    assert PHONE not in other.get(url).text


def test_answering_a_new_complaint_puts_it_in_progress_audited(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    client = web()
    token = log_in(client, "dara.officer")
    page = client.post(f"/admin/complaints/{complaint.id}/answer", data={"csrf_token": token, "text": "Проверим."})
    assert 'id="status">investigating<' in page.text
    assert _fresh(session, complaint).status == "investigating"
    status_rows = session.exec(select(AuditEntry).where(AuditEntry.action == "status")).all()
    assert [(r.user_id, r.details) for r in status_rows] == [
        (staff["dara"].id, {"old": "new", "new": "investigating", "by_answer": True})
    ]
    changes = [e.details for e in events_of(session, _fresh(session, complaint)) if e.kind == "status_changed"]
    assert changes == [{"old": "new", "new": "investigating"}]
    # A later answer leaves the status alone.
    client.post(f"/admin/complaints/{complaint.id}/answer", data={"csrf_token": token, "text": "Ещё проверяем."})
    assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "status")).all()) == 1


def test_an_answer_to_a_family_that_sent_stop_says_it_was_not_sent_and_why(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    contact = get_or_create_contact(session, ctx, PHONE, utcnow())
    contact.opted_out_at = utcnow()
    session.add(contact)
    session.commit()
    client = web()
    token = log_in(client, "dara.officer")
    page = client.post(f"/admin/complaints/{complaint.id}/answer", data={"csrf_token": token, "text": "Проверим."})
    assert session.exec(select(OutboundMessage)).one().status == OutboundStatus.CANCELLED
    assert "The family sent STOP: this answer will not be sent by SMS." in page.text  # the notice after sending
    thread = page.text.split('id="thread"', 1)[1].split("</ol>", 1)[0]
    assert "not sent: the family sent STOP" in thread and ">cancelled<" not in thread
