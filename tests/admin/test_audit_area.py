"""The audit log shows a supervisor only their area's entries, and lists the area's reveals (who, which, when, why)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hotline.context import Context
from hotline.models import Complaint, Jurisdiction, Role, StaffUser, utcnow
from hotline.staff.audit import audit
from tests.staff_pages import log_in, make_complaint, make_staff

Web = Callable[[], TestClient]


@pytest.fixture
def two_districts(session: Session, ctx: Context, staff: dict[str, StaffUser]) -> dict[str, Complaint]:
    """A complaint in Batken rayon (Dara) and one in Leilek rayon (Ak-Suu), each viewed and revealed, plus entries
    that belong to no district (an admin's, an erasure's)."""
    leilek_officer = make_staff(session, "leilek.officer", Role.OFFICER, Jurisdiction.MUNICIPALITY, "ak-suu")
    leilek_super = make_staff(session, "leilek.super", Role.SUPERVISOR, Jurisdiction.DISTRICT, "leilek-rayon")
    dara = make_complaint(session, ctx, "Не выплатили пособие", municipality="dara")
    ak_suu = make_complaint(session, ctx, "Не дали справку", municipality="ak-suu", phone="+996555000321")
    start = utcnow() - timedelta(hours=1)
    audit(session, staff["dara"], "view", start, dara)
    audit(session, staff["oblast"], "reveal", start + timedelta(minutes=1), dara, reason="Police request 12345")
    audit(session, leilek_officer, "view", start + timedelta(minutes=2), ak_suu)
    audit(session, leilek_super, "reveal", start + timedelta(minutes=3), ak_suu, reason="Leilek court order 77")
    audit(session, leilek_officer, "login", start + timedelta(minutes=4))
    audit(session, staff["admin"], "user_created", start + timedelta(minutes=5), username="newbie", role="officer")
    audit(session, None, "erase", start + timedelta(minutes=6), phone="+996555***456", reason="family asked")
    session.commit()
    return {"dara": dara, "ak_suu": ak_suu}


def test_a_district_supervisor_sees_only_their_districts_entries(
    web: Web, session: Session, two_districts: dict[str, Complaint]
) -> None:
    dara, ak_suu = two_districts["dara"], two_districts["ak_suu"]
    batken = web()
    log_in(batken, "batken.super")
    page = batken.get("/admin/audit").text
    # Their officer's view and the oblast's reveal of their district's complaint, with its reason.
    assert dara.reference in page and "dara.officer" in page and "Police request 12345" in page
    # Nothing of Leilek rayon: not its complaint, its staff (not even in the user filter), its reveal reason.
    for leak in (ak_suu.reference, "leilek.officer", "leilek.super", "Leilek court order 77"):
        assert leak not in page, leak
    # Nor what belongs to the whole oblast (an admin's account changes, an erasure).
    assert "newbie" not in page and "family asked" not in page
    exported = batken.get("/admin/audit.csv").text
    assert dara.reference in exported and "Police request 12345" in exported
    for leak in (ak_suu.reference, "leilek", "Leilek court order 77", "newbie", "family asked"):
        assert leak not in exported, leak
    # Asking for the other district's complaint by its reference finds nothing.
    by_reference = batken.get(f"/admin/audit?reference={ak_suu.reference}").text
    assert "Leilek court order 77" not in by_reference and "(0)" in by_reference
    rows = list(csv.DictReader(io.StringIO(batken.get(f"/admin/audit.csv?reference={ak_suu.reference}").text)))
    assert rows == []


def test_the_other_district_and_the_oblast_see_their_own(
    web: Web, session: Session, two_districts: dict[str, Complaint]
) -> None:
    dara, ak_suu = two_districts["dara"], two_districts["ak_suu"]
    leilek = web()
    log_in(leilek, "leilek.super")
    page = leilek.get("/admin/audit").text
    assert ak_suu.reference in page and "Leilek court order 77" in page and "leilek.officer" in page
    assert dara.reference not in page and "Police request 12345" not in page and "dara.officer" not in page
    oblast = web()
    log_in(oblast, "oblast.super")
    everything = oblast.get("/admin/audit").text
    for seen in (dara.reference, ak_suu.reference, "Police request 12345", "Leilek court order 77", "newbie"):
        assert seen in everything, seen
    assert "family asked" in oblast.get("/admin/audit.csv").text


def test_reveals_of_the_area_are_listed_to_its_supervisors(
    web: Web, session: Session, two_districts: dict[str, Complaint]
) -> None:
    dara, ak_suu = two_districts["dara"], two_districts["ak_suu"]
    batken = web()
    log_in(batken, "batken.super")
    # Whatever the filter narrows the log to, the page lists the area's reveals: who, which complaint, when, why.
    page = batken.get("/admin/audit?action=login").text
    assert 'id="reveals"' in page
    reveals = page.split('id="reveals"')[1].split("</table>")[0]
    assert "oblast.super" in reveals and dara.reference in reveals and "Police request 12345" in reveals
    assert ak_suu.reference not in reveals and "Leilek court order 77" not in reveals
    leilek = web()
    log_in(leilek, "leilek.super")
    theirs = leilek.get("/admin/audit").text.split('id="reveals"')[1].split("</table>")[0]
    assert "Leilek court order 77" in theirs and "Police request 12345" not in theirs
