"""Enrolment by staff on the admin page: the CSV upload and the one-household form."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.models import AuditEntry, Enrolment, Jurisdiction, Role, StaffUser
from tests.reminders.test_import import BORN, GOOD, counts
from tests.staff_pages import csrf_from, log_in, make_staff

Web = Callable[[], TestClient]


def test_upload_page_and_form(web: Web, staff: dict[str, StaffUser], session: Session) -> None:
    # The file names households of two municipalities: an oblast health worker's area holds both.
    make_staff(session, "oblast.health", Role.HEALTH, Jurisdiction.OBLAST, "batken")
    client = web()
    log_in(client, "oblast.health")
    token = csrf_from(client.get("/admin/enrol").text)
    bad = client.post(
        "/admin/enrol/import", data={"csrf_token": token}, files={"file": ("x.csv", b"phone,kind\n1,2\n", "text/csv")}
    )
    assert bad.status_code == 422 and "Nothing was imported" in bad.text and "missing column(s): date" in bad.text
    good = client.post(
        "/admin/enrol/import", data={"csrf_token": token}, files={"file": ("x.csv", GOOD.encode(), "text/csv")}
    )
    assert good.status_code == 200 and "3 rows: 3 new households, 3 new enrolments" in good.text
    one = client.post(
        "/admin/enrol",
        data={
            "csrf_token": token,
            "phone": "0555 777 888",
            "kind": "child",
            "date": BORN,
            "language": "ru",
            "consent": "1",
        },
    )
    assert "1 rows: 1 new households, 1 new enrolments" in one.text
    refused = client.post(
        "/admin/enrol", data={"csrf_token": token, "phone": "0555 777 999", "kind": "child", "date": BORN}
    )
    assert refused.status_code == 422 and "consent must be yes" in refused.text
    assert counts(session) == (4, 4)
    officer = web()
    log_in(officer, "dara.officer")
    assert officer.get("/admin/enrol", headers={"accept": "text/html"}).status_code == 403


def test_staff_record_a_loss_and_messages_stop_at_once(web: Web, staff: dict[str, StaffUser], session: Session) -> None:
    # The file names households of two municipalities: an oblast health worker's area holds both.
    make_staff(session, "oblast.health", Role.HEALTH, Jurisdiction.OBLAST, "batken")
    client = web()
    log_in(client, "oblast.health")
    token = csrf_from(client.get("/admin/enrol").text)
    client.post("/admin/enrol/import", data={"csrf_token": token}, files={"file": ("x.csv", GOOD.encode(), "text/csv")})
    page = client.get("/admin/households?phone=0555 000 111").text
    assert "pregnancy" in page and "active" in page
    pregnancy = session.exec(select(Enrolment).where(Enrolment.kind == "pregnancy")).first()
    assert pregnancy is not None
    done = client.post(
        f"/admin/households/enrolments/{pregnancy.id}",
        data={"csrf_token": token, "action": "loss", "phone": "0555 000 111"},
    )
    assert "Saved" in done.text and "loss" in done.text
    session.expire_all()
    assert session.get(Enrolment, pregnancy.id).status == "loss"  # type: ignore[union-attr]
    child = session.exec(select(Enrolment).where(Enrolment.kind == "child")).first()
    assert child is not None
    refused = client.post(
        f"/admin/households/enrolments/{child.id}",
        data={"csrf_token": token, "action": "loss", "phone": "0555 123 456"},
    )
    assert "a loss ends a pregnancy enrolment" in refused.text
    assert "No household of your area is enrolled" in client.get("/admin/households?phone=0555 999 999").text
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "enrolment_loss")).one()


def test_import_problems_are_listed_in_russian(web: Web, staff: dict[str, StaffUser], session: Session) -> None:
    make_staff(session, "naryn.health", Role.HEALTH, Jurisdiction.MUNICIPALITY, "dara", language="ru")
    client = web()
    log_in(client, "naryn.health")
    token = csrf_from(client.get("/admin/enrol").text)
    bad = b"phone,kind,date,consent\n0555 123 456,baby,01.01.2026,yes\n12,child,01.01.2026,no\n"
    page = client.post("/admin/enrol/import", data={"csrf_token": token}, files={"file": ("x.csv", bad, "text/csv")})
    assert page.status_code == 422 and "Ничего не импортировано" in page.text
    assert "строка 2: kind - pregnancy или child, а не &#39;baby&#39;" in page.text
    assert "строка 3: consent должно быть yes" in page.text
