"""The complaint page: the conversation, the trail, and every change an officer or supervisor makes."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from hotline.complaints.service import events_of
from hotline.context import Context
from hotline.models import AuditEntry, Complaint, OutboundMessage, OutboundStatus, StaffUser
from tests.staff_pages import log_in, make_complaint

Web = Callable[[], TestClient]
PHONE = "+996555123456"


def post(client: TestClient, path: str, token: str, **data: str) -> str:
    response = client.post(path, data={"csrf_token": token, **data}, headers={"accept": "text/html"})
    assert response.status_code == 200, response.text
    return str(response.text)


def fresh(session: Session, complaint: Complaint) -> Complaint:
    session.expire_all()
    found = session.get(Complaint, complaint.id)
    assert found is not None
    return found


def test_page_shows_messages_in_order_masked_phone_and_deadlines(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    client = web()
    log_in(client, "dara.officer")
    page = client.get(f"/admin/complaints/{complaint.id}").text
    assert "Не выплатили пособие" in page
    assert "+996 55• ••• •56" in page and "123456" not in page
    assert "left" in page  # time left to the first answer
    views = session.exec(select(AuditEntry).where(AuditEntry.action == "view")).all()
    assert [(v.user_id, v.complaint_id) for v in views] == [(staff["dara"].id, complaint.id)]


def test_answer_goes_through_the_outbox_in_the_familys_language(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    client = web()
    token = log_in(client, "dara.officer")
    page = post(client, f"/admin/complaints/{complaint.id}/answer", token, text="Проверим до пятницы.")
    assert "Answer queued for sending" in page
    message = session.exec(select(OutboundMessage)).one()
    assert message.body == f"Жалоба {complaint.reference}: Проверим до пятницы."
    assert message.status == OutboundStatus.PENDING and message.contact_id == complaint.contact_id
    assert "Проверим до пятницы." in page and "waiting to be sent" in page
    done = fresh(session, complaint)
    assert done.first_answered_at is not None and done.due_at == done.resolution_due


def test_canned_answers_are_in_the_familys_language(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    client = web()
    log_in(client, "dara.officer")
    page = client.get(f"/admin/complaints/{complaint.id}").text
    expected = ctx.texts.render("complaints/canned/investigating", complaint.language).text
    assert expected in page


def test_live_segment_count_and_too_long_answer(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    client = web()
    token = log_in(client, "dara.officer")
    url = f"/admin/complaints/{complaint.id}/preview"
    short = client.post(url, data={"csrf_token": token, "text": "Проверим."}).json()
    assert short == {"ok": True, "segments": 1, "encoding": "UCS-2", "units": 26, "max_segments": 3}
    latin = client.post(url, data={"csrf_token": token, "text": "x" * 150}).json()
    assert latin["segments"] == 3  # the Cyrillic prefix makes the whole SMS UCS-2: 67 per part
    too_long = client.post(url, data={"csrf_token": token, "text": "я" * 300}).json()
    assert too_long["ok"] is False
    page = post(client, f"/admin/complaints/{complaint.id}/answer", token, text="я" * 300)
    assert "the answer is too long" in page
    assert session.exec(select(OutboundMessage)).all() == []


def test_status_workflow_with_supervisor_only_close_and_reopen(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    officer, supervisor = web(), web()
    officer_token, supervisor_token = log_in(officer, "dara.officer"), log_in(supervisor, "batken.super")
    url = f"/admin/complaints/{complaint.id}/status"
    for status in ("acknowledged", "investigating", "resolved"):
        assert "Status changed" in post(officer, url, officer_token, status=status)
    assert fresh(session, complaint).decided_at is not None and fresh(session, complaint).due_at is None
    refused = officer.post(url, data={"csrf_token": officer_token, "status": "closed"}, headers={"accept": "text/html"})
    assert refused.status_code == 403
    assert fresh(session, complaint).status == "resolved"
    assert "Status changed" in post(supervisor, url, supervisor_token, status="closed")
    assert "cannot go from closed to new" in post(supervisor, url, supervisor_token, status="new")
    assert "Status changed" in post(supervisor, url, supervisor_token, status="investigating")  # reopen
    reopened = fresh(session, complaint)
    assert reopened.status == "investigating" and reopened.decided_at is None and reopened.due_at is not None
    kinds = [e.details.get("new") for e in events_of(session, reopened) if e.kind == "status_changed"]
    assert kinds == ["acknowledged", "investigating", "resolved", "closed", "investigating"]


def test_category_municipality_assignment_and_notes_are_recorded(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    officer, supervisor = web(), web()
    token, super_token = log_in(officer, "dara.officer"), log_in(supervisor, "batken.super")
    base = f"/admin/complaints/{complaint.id}"
    post(officer, f"{base}/category", token, category="rude")
    assert "unknown category" in post(officer, f"{base}/category", token, category="nonsense")
    post(officer, f"{base}/assign", token, assignee="me")
    # Taking is for unassigned complaints; reassigning is a supervisor's.
    assert (
        officer.post(
            f"{base}/assign",
            data={"csrf_token": token, "assignee": str(staff["district"].id)},
            headers={"accept": "text/html"},
        ).status_code
        == 403
    )
    assert "cannot see this complaint" in post(
        supervisor, f"{base}/assign", super_token, assignee=str(staff["kyshtut"].id)
    )
    post(supervisor, f"{base}/assign", super_token, assignee=str(staff["district"].id))
    page = post(officer, f"{base}/note", token, note="<b>Позвонить</b> в айыл окмоту'; DROP TABLE complaint; --")
    assert "&lt;b&gt;Позвонить&lt;/b&gt;" in page and "<b>Позвонить</b>" not in page
    post(supervisor, f"{base}/municipality", super_token, municipality="kyshtut")
    assert "unknown municipality" in post(supervisor, f"{base}/municipality", super_token, municipality="nowhere")
    done = fresh(session, complaint)
    assert (done.category, done.category_guessed, done.assignee_id) == ("rude", False, staff["district"].id)
    assert (done.municipality_code, done.district_code) == ("kyshtut", "batken-rayon")
    kinds = [e.kind for e in events_of(session, done)]
    assert kinds.count("assigned") == 2 and "note" in kinds and "category_changed" in kinds
    assert "municipality_changed" in kinds
    # The dara officer no longer sees a complaint moved to Kyshtut.
    assert officer.get(base).status_code == 403


def test_bad_notes_are_refused_whole(web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    client = web()
    token = log_in(client, "dara.officer")
    url = f"/admin/complaints/{complaint.id}/note"
    assert "at most 2000 characters" in post(client, url, token, note="я" * 2500)
    assert "the note is empty" in post(client, url, token, note="   ")
    huge = client.post(url, data={"csrf_token": token, "note": "x" * 200_000}, headers={"accept": "text/html"})
    assert huge.status_code == 413 and "The form is too large" in huge.text
    assert "note" not in [e.kind for e in events_of(session, fresh(session, complaint))]


def test_reveal_needs_a_supervisor_and_a_reason_and_is_recorded(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", phone=PHONE)
    officer, supervisor = web(), web()
    officer_token, super_token = log_in(officer, "dara.officer"), log_in(supervisor, "batken.super")
    url = f"/admin/complaints/{complaint.id}/reveal"
    refused = officer.post(
        url,
        data={"csrf_token": officer_token, "reason": "Нужно позвонить семье для проверки"},
        headers={"accept": "text/html"},
    )
    assert refused.status_code == 403 and PHONE not in refused.text
    assert "write the reason" in post(supervisor, url, super_token, reason="  ")
    assert "write the reason" in post(supervisor, url, super_token, reason="short")
    shown = post(supervisor, url, super_token, reason="Семья просила перезвонить, проверка на месте")
    assert PHONE in shown
    assert PHONE not in supervisor.get(f"/admin/complaints/{complaint.id}").text  # shown once, not remembered
    actions = [(a.action, a.user_id) for a in session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))]
    assert ("denied", staff["dara"].id) in actions and ("reveal", staff["supervisor"].id) in actions
    reveal = session.exec(select(AuditEntry).where(AuditEntry.action == "reveal")).one()
    # The page after the POST showed it, and the row records when (so it is never shown twice).
    assert reveal.details.keys() == {"reason", "shown_at"}
    assert reveal.details["reason"] == "Семья просила перезвонить, проверка на месте"
    assert "identity_revealed" in [e.kind for e in events_of(session, fresh(session, complaint))]


def test_anonymous_complaint_has_nothing_to_reveal(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Аноним: отказали в пособии", phone=PHONE, anonymous=True)
    client = web()
    token = log_in(client, "batken.super")
    page = client.get(f"/admin/complaints/{complaint.id}").text
    assert "anonymous" in page and "•" not in page
    assert "no number to reveal" in post(
        client, f"/admin/complaints/{complaint.id}/reveal", token, reason="Пробуем узнать номер анонима"
    )
    assert post(client, f"/admin/complaints/{complaint.id}/answer", token, text="Проверяем.")
    assert session.exec(select(OutboundMessage)).all() == []  # it waits for the family's STATUS


def test_unknown_complaint_is_404(web: Web, staff: dict[str, StaffUser]) -> None:
    client = web()
    log_in(client, "dara.officer")
    assert client.get("/admin/complaints/999999", headers={"accept": "text/html"}).status_code == 404
    assert client.get("/admin/complaints/abc", headers={"accept": "text/html"}).status_code == 422
