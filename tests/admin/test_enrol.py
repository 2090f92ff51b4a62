"""Enrolment by staff on the admin page: the CSV upload and the one-household form."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from hotline.models import Jurisdiction, Role, StaffUser
from tests.admin.conftest import csrf_from, log_in, make_staff
from tests.reminders.test_import import BORN, GOOD, counts

Web = Callable[[], TestClient]


def test_upload_page_and_form(web: Web, staff: dict[str, StaffUser], session: Session) -> None:
    make_staff(session, "dara.health", Role.HEALTH, Jurisdiction.MUNICIPALITY, "dara")
    client = web()
    log_in(client, "dara.health")
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
