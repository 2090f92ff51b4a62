"""Health staff see the danger-sign alerts of their area, with the number to call back; nobody else does."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.context import Context
from hotline.models import AuditEntry, HealthAlert, Jurisdiction, Role, StaffUser, utcnow
from hotline.sms.service import get_or_create_contact
from tests.admin.conftest import log_in, make_staff
from tests.factories import converse

Web = Callable[[], TestClient]


def test_health_worker_sees_and_handles_alerts_of_the_area(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    make_staff(session, "dara.health", Role.HEALTH, Jurisdiction.MUNICIPALITY, "dara")
    make_staff(session, "kyshtut.health", Role.HEALTH, Jurisdiction.MUNICIPALITY, "kyshtut")
    make_staff(session, "district.health", Role.HEALTH, Jurisdiction.DISTRICT, "batken-rayon")
    contact = get_or_create_contact(session, ctx, "+996555123456", utcnow())
    contact.municipality_code = "dara"
    session.commit()
    assert "103" in converse(session, ctx, "у ребенка судороги и жар")[0]
    session.commit()

    dara = web()
    token = log_in(dara, "dara.health")
    page = dara.get("/admin/health").text
    assert "+996555123456" in page and "у ребенка судороги и жар" in page
    district = web()
    log_in(district, "district.health")
    assert "+996555123456" in district.get("/admin/health").text
    other = web()
    log_in(other, "kyshtut.health")
    assert "+996555123456" not in other.get("/admin/health").text
    officer = web()
    log_in(officer, "dara.officer")
    assert officer.get("/admin/health", headers={"accept": "text/html"}).status_code == 403
    # A health worker sees no complaints.
    assert dara.get("/admin/queue", headers={"accept": "text/html"}).status_code == 403

    alert = session.exec(select(HealthAlert)).one()
    refused = other.post(
        f"/admin/health/{alert.id}/handled", data={"csrf_token": token}, headers={"accept": "text/html"}
    )
    assert refused.status_code in (403, 404)  # another area's alert (and the other session's token)
    assert "Saved" in dara.post(f"/admin/health/{alert.id}/handled", data={"csrf_token": token}).text
    session.expire_all()
    assert session.get(HealthAlert, alert.id).handled_at is not None  # type: ignore[union-attr]
    assert "+996555123456" not in dara.get("/admin/health").text  # open alerts only, by default
    assert "+996555123456" in dara.get("/admin/health?all=1").text
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "view_health_alerts")).all()
