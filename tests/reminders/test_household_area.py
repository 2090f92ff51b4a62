"""Household look-up and enrolment are for staff of the household's area: another area's number looks exactly like a
number never enrolled, its enrolments cannot be changed by id, and staff enrol only into their own area."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.models import (
    AuditEntry,
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    Household,
    Jurisdiction,
    Role,
    StaffUser,
    utcnow,
)
from hotline.reminders.service import enrol, household_of
from tests.staff_pages import log_in, make_staff

Web = Callable[[], TestClient]
KYSHTUT_NUMBER = "+996555000777"  # a family enrolled in Kyshtut
NEVER_ENROLLED = "+996555000888"


@pytest.fixture
def kyshtut_pregnancy(session: Session, ctx: Context, staff: dict[str, StaffUser]) -> Enrolment:
    """A Kyshtut household with a pregnancy; health workers of Dara and of Kyshtut."""
    make_staff(session, "dara.health", Role.HEALTH, Jurisdiction.MUNICIPALITY, "dara")
    make_staff(session, "kyshtut.health", Role.HEALTH, Jurisdiction.MUNICIPALITY, "kyshtut")
    now = utcnow()
    contact = get_or_create_contact(session, ctx, KYSHTUT_NUMBER, now)
    household = household_of(session, contact, now, "sms", municipality="kyshtut")
    household.send_hour = 18
    pregnancy = enrol(
        session,
        household,
        EnrolmentKind.PREGNANCY,
        now,
        ctx.local_day(now),
        due_date=ctx.local_day(now) + timedelta(days=90),
    )
    session.commit()
    session.refresh(pregnancy)
    return pregnancy


def _same_page(html: str, number: str) -> str:
    # The typed number is echoed in the search box; everything else must be byte for byte the same.
    return html.replace(number, "NUMBER")


def test_a_number_of_another_area_looks_never_enrolled(
    web: Web, session: Session, kyshtut_pregnancy: Enrolment
) -> None:
    dara = web()
    log_in(dara, "dara.health")
    elsewhere = dara.get("/admin/households", params={"phone": KYSHTUT_NUMBER})
    unknown = dara.get("/admin/households", params={"phone": NEVER_ENROLLED})
    assert elsewhere.status_code == unknown.status_code == 200
    assert _same_page(elsewhere.text, KYSHTUT_NUMBER) == _same_page(unknown.text, NEVER_ENROLLED)
    assert (
        "No household of your area is enrolled" in elsewhere.text
        and "pregnancy" not in elsewhere.text.split("</h1>")[1]
    )
    # The audit says the same of both (a supervisor reading it learns nothing either).
    lookups = session.exec(select(AuditEntry).where(AuditEntry.action == "household_lookup")).all()
    assert [e.details for e in lookups] == [{"found": False}, {"found": False}]
    # The household's own area finds it.
    kyshtut = web()
    log_in(kyshtut, "kyshtut.health")
    assert "pregnancy" in kyshtut.get("/admin/households", params={"phone": KYSHTUT_NUMBER}).text.split("</h1>")[1]


def test_another_areas_enrolment_cannot_be_changed_by_its_id(
    web: Web, session: Session, kyshtut_pregnancy: Enrolment
) -> None:
    dara = web()
    token = log_in(dara, "dara.health")
    form = {"csrf_token": token, "action": "loss", "phone": KYSHTUT_NUMBER}
    html = {"accept": "text/html"}
    foreign = dara.post(f"/admin/households/enrolments/{kyshtut_pregnancy.id}", data=form, headers=html)
    missing = dara.post("/admin/households/enrolments/999999", data=form, headers=html)
    assert foreign.status_code == missing.status_code == 404
    # The same page but for the URL it names (the language form sends the reader back to it).
    assert foreign.text.replace(f"/enrolments/{kyshtut_pregnancy.id}", "/enrolments/ID") == missing.text.replace(
        "/enrolments/999999", "/enrolments/ID"
    )
    stopped = dara.post(
        f"/admin/households/enrolments/{kyshtut_pregnancy.id}", data=dict(form, action="stop"), headers=html
    )
    assert stopped.status_code == 404
    session.expire_all()
    assert session.get(Enrolment, kyshtut_pregnancy.id).status == EnrolmentStatus.ACTIVE  # type: ignore[union-attr]
    denied = session.exec(select(AuditEntry).where(AuditEntry.action == "denied")).all()
    assert [e.details.get("enrolment_id") for e in denied] == [kyshtut_pregnancy.id, kyshtut_pregnancy.id]
    # Kyshtut's own health worker can.
    kyshtut = web()
    own = log_in(kyshtut, "kyshtut.health")
    done = kyshtut.post(
        f"/admin/households/enrolments/{kyshtut_pregnancy.id}", data=dict(form, csrf_token=own), headers=html
    )
    assert done.status_code == 200 and "Saved" in done.text
    session.expire_all()
    assert session.get(Enrolment, kyshtut_pregnancy.id).status == EnrolmentStatus.LOSS  # type: ignore[union-attr]


def _enrol(client: TestClient, token: str, phone: str, born: str, municipality: str = "") -> str:
    response = client.post(
        "/admin/enrol",
        data={
            "csrf_token": token,
            "phone": phone,
            "kind": "child",
            "date": born,
            "language": "ru",
            "municipality": municipality,
            "consent": "1",
        },
    )
    shown = re.search(r'id="import-result">(.*?)</p>|id="import-errors">(.*?)</ul>', response.text, re.S)
    assert shown, response.text
    return f"{response.status_code} {shown.group(1) or shown.group(2)}"


def test_staff_enrol_only_into_their_own_area(
    web: Web, session: Session, ctx: Context, kyshtut_pregnancy: Enrolment
) -> None:
    born = (ctx.local_day(utcnow()) - timedelta(days=100)).strftime("%d.%m.%Y")
    dara = web()
    token = log_in(dara, "dara.health")
    # The form offers only the worker's own municipality.
    form = dara.get("/admin/enrol").text
    assert 'value="dara"' in form and 'value="kyshtut"' not in form
    refused = _enrol(dara, token, "+996555000401", born, municipality="kyshtut")
    assert refused.startswith("422") and "not in your area" in refused
    assert session.exec(select(Household).where(Household.municipality_code == "kyshtut")).all() == [
        session.get(Household, kyshtut_pregnancy.household_id)
    ]
    # Without a municipality the household is the worker's own.
    assert _enrol(dara, token, "+996555000402", born).startswith("200")
    contact = get_or_create_contact(session, ctx, "+996555000402", utcnow())
    session.commit()
    assert session.exec(select(Household).where(Household.contact_id == contact.id)).one().municipality_code == "dara"
    # A district's health worker chooses one of the district's municipalities (none, or another district's: refused).
    make_staff(session, "district.health", Role.HEALTH, Jurisdiction.DISTRICT, "batken-rayon")
    district = web()
    own = log_in(district, "district.health")
    assert "choose a municipality of your area" in _enrol(district, own, "+996555000403", born)
    upload = district.post(
        "/admin/enrol/import",
        data={"csrf_token": own},
        files={"file": ("x.csv", f"phone,kind,date,municipality,consent\n0555 000 404,child,{born},ak-suu,yes\n")},
    )
    assert upload.status_code == 422 and "line 2: &#39;ak-suu&#39; is not in your area" in upload.text
    assert _enrol(district, own, "+996555000405", born, municipality="kyshtut").startswith("200")


def test_enrolling_another_areas_number_answers_as_for_a_new_one_and_leaves_its_household(
    web: Web, session: Session, ctx: Context, kyshtut_pregnancy: Enrolment
) -> None:
    born = (ctx.local_day(utcnow()) - timedelta(days=100)).strftime("%d.%m.%Y")
    dara = web()
    token = log_in(dara, "dara.health")
    elsewhere = _enrol(dara, token, KYSHTUT_NUMBER, born)
    fresh = _enrol(dara, token, NEVER_ENROLLED, born)
    assert elsewhere == fresh and "1 new households, 1 new enrolments" in fresh
    assert _enrol(dara, token, KYSHTUT_NUMBER, born) == fresh  # even a second time: nothing says "already there"
    session.expire_all()
    household = session.get(Household, kyshtut_pregnancy.household_id)
    assert household is not None and (household.municipality_code, household.send_hour) == ("kyshtut", 18)
    # The family gets the child's reminders (added to its one household), its pregnancy is untouched, and the Dara
    # worker still cannot find the number.
    kinds = session.exec(select(Enrolment.kind, Enrolment.status).where(Enrolment.household_id == household.id)).all()
    assert sorted(kinds) == [
        (EnrolmentKind.CHILD, EnrolmentStatus.ACTIVE),
        (EnrolmentKind.PREGNANCY, EnrolmentStatus.ACTIVE),
    ]
    assert (
        "No household of your area is enrolled" in dara.get("/admin/households", params={"phone": KYSHTUT_NUMBER}).text
    )
