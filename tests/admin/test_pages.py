"""Dashboard, audit log, user administration, the CLI for the first admin, and the interface languages."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.context import Context
from hotline.models import AuditEntry, ComplaintStatus, LoginFailure, Notification, Role, StaffUser, utcnow
from hotline.staff.auth import PASSWORDS
from hotline.staff.i18n import catalogues
from hotline.staff.jobs import purge_login_failures
from tests.factories import PHONE
from tests.staff_pages import csrf_from, log_in, make_complaint

Web = Callable[[], TestClient]


def test_dashboard_figures_for_a_period(web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context) -> None:
    now = utcnow()
    answered = make_complaint(session, ctx, "Не выплатили", now=now - timedelta(days=3))
    answered.first_answered_at = answered.created_at + timedelta(hours=10)
    answered.decided_at, answered.status, answered.due_at = (
        answered.created_at + timedelta(hours=30),
        ComplaintStatus.RESOLVED,
        None,
    )
    session.add(answered)
    make_complaint(session, ctx, "Просрочено", now=now - timedelta(days=9), phone="+996555000911")
    make_complaint(session, ctx, "Кыштут", municipality="kyshtut", phone="+996555000912")
    make_complaint(session, ctx, "Давно", now=now - timedelta(days=90), phone="+996555000913")
    session.commit()
    client = web()
    log_in(client, "batken.super")
    page = client.get("/admin/dashboard").text  # the last 30 days
    assert '<dd id="total">3</dd>' in page and '<dd id="overdue">1</dd>' in page
    assert '<dd id="median-first">10.0 h</dd>' in page and '<dd id="median-resolution">30.0 h</dd>' in page
    assert "<svg" in page and "Dara: 2" in page and "Kyshtut: 1" in page
    # The hotline's days (Bishkek, UTC+6): after 18:00 UTC, now.date() would still be yesterday there.
    today = ctx.local_day(now)
    everything = client.get(f"/admin/dashboard?from={today - timedelta(days=100)}&to={today}").text
    assert '<dd id="total">4</dd>' in everything
    # An officer's dashboard counts only what the officer may see.
    officer = web()
    log_in(officer, "kyshtut.officer")
    assert '<dd id="total">1</dd>' in officer.get("/admin/dashboard").text
    assert "cdn" not in page.lower() and "https://" not in page  # nothing loaded from elsewhere


def test_audit_log_filters_and_export(web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили")
    officer = web()
    log_in(officer, "dara.officer")
    officer.get(f"/admin/complaints/{complaint.id}")
    supervisor = web()
    log_in(supervisor, "batken.super")
    page = supervisor.get(f"/admin/audit?action=view&user={staff['dara'].id}").text
    assert complaint.reference in page and "dara.officer" in page
    assert "batken.super" not in supervisor.get("/admin/audit?action=view").text.split('id="audit"')[1]
    exported = supervisor.get(f"/admin/audit.csv?reference={complaint.reference}")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["user"], r["action"], r["complaint"]) for r in rows] == [("dara.officer", "view", complaint.reference)]
    assert PHONE.removeprefix("+996") not in exported.text  # no number (a random reference may hold "555")
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "export_audit")).one().user_id == (
        staff["supervisor"].id
    )


def test_admin_creates_and_deactivates_accounts(web: Web, staff: dict[str, StaffUser], session: Session) -> None:
    admin = web()
    token = log_in(admin, "admin")
    form = {
        "csrf_token": token,
        "username": "leilek.officer",
        "password": "long enough pass",
        "role": "officer",
        "level": "district",
        "area_code": "leilek-rayon",
        "display_name": "Айгуль",
    }
    assert "Saved" in admin.post("/admin/users", data=form).text
    created = session.exec(select(StaffUser).where(StaffUser.username == "leilek.officer")).one()
    assert created.role == Role.OFFICER and PASSWORDS.verify(created.password_hash, "long enough pass")
    assert created.password_hash.startswith("$argon2id$")
    for bad, message in (
        ({"password": "short"}, "at least 10"),
        ({"username": "leilek.officer"}, "is taken"),
        ({"username": "x2", "area_code": "dara"}, "is not a district code"),
        (
            {"username": "x3", "role": "supervisor", "level": "municipality", "area_code": "dara"},
            "a supervisor watches",
        ),
    ):
        assert message in admin.post("/admin/users", data={**form, **bad}).text
    officer = web()
    log_in(officer, "leilek.officer", "long enough pass")
    assert "Saved" in admin.post(f"/admin/users/{created.id}", data={"csrf_token": token}).text  # active unticked
    assert officer.get("/admin/queue", follow_redirects=False).status_code == 303
    page = officer.get("/admin/login")
    refused = officer.post(
        "/admin/login",
        data={"username": "leilek.officer", "password": "long enough pass", "csrf_token": csrf_from(page.text)},
    )
    assert refused.status_code == 401


def test_content_and_reference_pages_show_every_text_and_place(web: Web, staff: dict[str, StaffUser]) -> None:
    admin = web()
    log_in(admin, "admin")
    content = admin.get("/admin/content").text
    assert "complaints/canned/need_info" in content and "needs review" in content and "missing" not in content
    assert "kyshtut" in admin.get("/admin/reference").text


def test_interface_in_russian_english_and_kyrgyz(web: Web, staff: dict[str, StaffUser]) -> None:
    english, russian = catalogues()["en"], catalogues()["ru"]
    assert set(russian) == set(english), "every English key has a Russian text"
    assert set(catalogues()["ky"]) == set(english), "every English key has a Kyrgyz text (tests/admin/test_words.py)"
    client = web()
    token = log_in(client, "dara.officer")
    assert "Queue" in client.get("/admin/queue").text
    client.post("/admin/language", data={"csrf_token": token, "language": "ru", "next": "/admin/queue"})
    assert "Очередь" in client.get("/admin/queue").text
    client.post("/admin/language", data={"csrf_token": token, "language": "ky", "next": "/admin/queue"})
    page = client.get("/admin/queue").text
    assert "Кезек" in page and "Категория" in page and "Category" not in page
    assert 'lang="ky"' in page


def test_refusals_are_in_the_officers_language(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили")
    client = web()
    token = log_in(client, "dara.officer")
    client.post("/admin/language", data={"csrf_token": token, "language": "ru", "next": "/admin/queue"})
    page = client.post(f"/admin/complaints/{complaint.id}/note", data={"csrf_token": token, "note": "я" * 2500}).text
    assert "в заметке не больше 2000 знаков (в этой 2500)" in page
    forged = client.post(
        f"/admin/complaints/{complaint.id}/note", data={"csrf_token": "x", "note": "x"}, headers={"accept": "text/html"}
    )
    assert forged.status_code == 403 and "Форма устарела" in forged.text
    preview = client.post(f"/admin/complaints/{complaint.id}/preview", data={"csrf_token": token, "text": "я" * 300})
    assert preview.json()["error"].startswith("ответ слишком длинный: 5 SMS")


def test_old_login_failures_are_forgotten_and_all_notifications_dismissed(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    now = utcnow()
    session.add(LoginFailure(key="k" * 64, at=now - timedelta(hours=1)))
    session.add(LoginFailure(key="k" * 64, at=now))
    for _ in range(25):  # more than the 20 the page lists
        session.add(Notification(user_id=staff["supervisor"].id or 0, kind="escalated", details={}, created_at=now))
    session.commit()
    purge_login_failures(session, now)
    session.commit()
    assert len(session.exec(select(LoginFailure)).all()) == 1
    client = web()
    token = log_in(client, "batken.super")
    client.post("/admin/notifications/read", data={"csrf_token": token})
    session.expire_all()
    assert all(n.read_at is not None for n in session.exec(select(Notification)))
