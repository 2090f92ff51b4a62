"""Health staff see the danger-sign alerts of their area, with the number to call back; nobody else does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.models import (
    AuditEntry,
    EnrolmentKind,
    HealthAlert,
    Jurisdiction,
    OutboundMessage,
    OutboundStatus,
    Role,
    StaffUser,
    utcnow,
)
from hotline.reminders.planner import plan_day
from hotline.reminders.service import enrol, household_of
from tests.factories import converse
from tests.staff_pages import log_in, make_staff

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


def test_dashboard_reports_enrolments_and_reminders_per_week(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    make_staff(session, "dara.health", Role.HEALTH, Jurisdiction.MUNICIPALITY, "dara")
    today = utcnow().astimezone(ctx.tz).date()
    for i, (place, born) in enumerate((("dara", 1), ("dara", 3), ("kyshtut", 1))):
        contact = get_or_create_contact(session, ctx, f"+99655500{i:04d}", utcnow())
        household = household_of(session, contact, utcnow(), "staff", municipality=place)
        enrol(session, household, EnrolmentKind.CHILD, utcnow(), today, birth_date=today - timedelta(days=born))
    session.commit()
    plan_day(session, ctx, today, datetime.combine(today, time(9), ctx.tz))
    session.commit()
    first = session.exec(select(OutboundMessage)).first()
    assert first is not None
    first.status = OutboundStatus.DELIVERED
    session.commit()
    supervisor = web()
    log_in(supervisor, "batken.super")
    page = supervisor.get("/admin/dashboard").text
    assert "Active enrolments by municipality" in page and "Dara: 2" in page and "Kyshtut: 1" in page
    week = today.isocalendar()
    row = page.split(f"<td>{week.year}-W{week.week:02d}</td>")[1].split("</tr>")[0]
    # Three children, three messages (the one enrolled at 3 days old gets day 3's, not day 1's as well): one delivered.
    assert '<td data-outcome="delivered">1</td>' in row and '<td data-outcome="waiting">2</td>' in row
    health = web()
    log_in(health, "dara.health")
    mine = health.get("/admin/dashboard").text
    assert "Dara: 2" in mine and "Kyshtut" not in mine and 'id="total"' not in mine  # no complaint figures
    officer = web()
    log_in(officer, "dara.officer")
    assert "Active enrolments" not in officer.get("/admin/dashboard").text
