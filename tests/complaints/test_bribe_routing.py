"""Bribe routing that holds: a complaint about the municipality's own staff leaves the municipality at once, and
its officers find it by no path (page, search, CSV, polling, dashboard, notifications); no officer moves a
complaint out of their supervisors' sight."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.complaints.service import events_of
from hotline.context import Context
from hotline.models import AuditEntry, Complaint, Notification, StaffUser, utcnow
from tests.staff_pages import log_in, make_complaint

Web = Callable[[], TestClient]
BRIBE_TEXT = "с нас взяли 1000 сом за справку"
NEUTRAL_TEXT = "Пособие не дают уже полгода, прошу разобраться с нашей семьёй"
HARMLESS_TEXT = "Когда придёт выплата на ребёнка в этом месяце"


def post(client: TestClient, path: str, token: str, **data: str) -> int:
    response = client.post(path, data={"csrf_token": token, **data}, headers={"accept": "text/html"})
    return int(response.status_code)


def fresh(session: Session, complaint: Complaint) -> Complaint:
    session.expire_all()
    found = session.get(Complaint, complaint.id)
    assert found is not None
    return found


def assert_officer_finds_nothing(
    client: TestClient, token: str, hidden: Complaint, visible: Complaint, ctx: Context
) -> None:
    """Every path a municipal officer has to a complaint: none shows the hidden one, all still show the other."""
    base = f"/admin/complaints/{hidden.id}"
    html = {"accept": "text/html"}
    # By URL: the page, the recording, and every action on it.
    assert client.get(base, headers=html).status_code == 403
    assert client.get(f"{base}/recording", headers=html).status_code == 403
    assert post(client, f"{base}/note", token, note="x") == 403
    assert post(client, f"{base}/category", token, category="other") == 403
    assert post(client, f"{base}/municipality", token, municipality="dara") == 403
    assert post(client, f"{base}/accuses-staff", token) == 403
    assert post(client, f"{base}/status", token, status="acknowledged") == 403
    # The queue, its filters and search (by a word of its text and by reference; the box echoes the query).
    word = max(hidden.text.split(), key=len)
    for query in ("", f"q={word}", f"q={hidden.reference}", "category=bribe", "assignee=me", "municipality=dara"):
        page = client.get(f"/admin/queue?{query}").text
        assert f"/admin/complaints/{hidden.id}" not in page and hidden.text not in page, query
    assert visible.reference in client.get("/admin/queue").text
    # The CSV, whole and searched.
    for query in ("", f"q={word}", f"q={hidden.reference}"):
        rows = list(csv.reader(io.StringIO(client.get(f"/admin/queue.csv?{query}").text)))
        assert all(hidden.reference not in row for row in rows), query
    assert any(visible.reference in row for row in csv.reader(io.StringIO(client.get("/admin/queue.csv").text)))
    # The queue page's polling for new rows.
    polled = client.get("/admin/queue/new?after=0").json()
    assert polled["count"] == 1 and hidden.reference not in polled["html"] and visible.reference in polled["html"]
    assert client.get(f"/admin/queue/new?after=0&q={hidden.reference}").json()["count"] == 0
    # Dashboard counts: the harmless complaint only.
    today = ctx.local_day(utcnow())
    span = f"from={(today - timedelta(days=2)).isoformat()}&to={(today + timedelta(days=2)).isoformat()}"
    dashboard = client.get(f"/admin/dashboard?{span}").text
    total = re.search(r'id="total">(\d+)<', dashboard)
    assert total is not None and total.group(1) == "1"
    # Notifications: nothing about it on the queue page.
    queue = client.get("/admin/queue").text
    assert "notifications/read" not in queue and hidden.reference not in queue


@pytest.mark.parametrize("how", ["filed", "category", "marked"])
def test_accused_municipality_officer_loses_a_bribe_complaint_by_every_path(
    how: str, web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    visible = make_complaint(session, ctx, HARMLESS_TEXT, phone="+996555000111")
    text = BRIBE_TEXT if how == "filed" else NEUTRAL_TEXT
    complaint = make_complaint(session, ctx, text, phone="+996555000222")
    dara, district, supervisor = web(), web(), web()
    dara_token, district_token = log_in(dara, "dara.officer"), log_in(district, "batken.officer")
    log_in(supervisor, "batken.super")
    if how != "filed":
        # Before: the municipality handles it, and its officer has taken it.
        assert fresh(session, complaint).jurisdiction == "municipality"
        assert post(dara, f"/admin/complaints/{complaint.id}/assign", dara_token, assignee="me") == 200
        if how == "category":  # the district officer sees what the guess missed
            url, data = f"/admin/complaints/{complaint.id}/category", {"category": "bribe"}
        else:
            url, data = f"/admin/complaints/{complaint.id}/accuses-staff", {}
        assert post(district, url, district_token, **data) == 200

    moved = fresh(session, complaint)
    assert (moved.jurisdiction, moved.assignee_id) == ("district", None)
    if how != "marked":
        assert moved.category == "bribe"
    kinds = [e.kind for e in events_of(session, moved)]
    assert "routed" in kinds
    if how == "category":
        assert "category_changed" in kinds
    if how != "filed":
        routed = next(e for e in events_of(session, moved) if e.kind == "routed" and e.actor == "officer")
        assert routed.actor_id == staff["district"].id and routed.details["to"] == "district"
        assert "unassigned" in kinds
        # The district's and the oblast's supervisors are told; no municipal account is.
        notified = {n.user_id for n in session.exec(select(Notification))}
        assert notified == {staff["supervisor"].id, staff["oblast"].id}
        assert moved.reference in supervisor.get("/admin/queue").text
    # An unread notification about it made before the move (by any feature) is not shown to the officer either.
    details = {"reference": moved.reference, "to": "municipality"}
    session.add(Notification(user_id=staff["dara"].id or 0, complaint_id=moved.id, kind="escalated", details=details))
    session.commit()

    assert_officer_finds_nothing(dara, dara_token, moved, visible, ctx)
    assert moved.reference in district.get("/admin/queue").text


def test_municipal_officer_marking_it_is_sent_to_the_queue_and_cannot_bring_it_back(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, NEUTRAL_TEXT)
    dara, supervisor = web(), web()
    token, super_token = log_in(dara, "dara.officer"), log_in(supervisor, "batken.super")
    page = dara.get(f"/admin/complaints/{complaint.id}").text
    assert f'action="/admin/complaints/{complaint.id}/accuses-staff"' in page
    response = dara.post(
        f"/admin/complaints/{complaint.id}/accuses-staff", data={"csrf_token": token}, follow_redirects=False
    )
    # Back to the queue, not to a page the officer may no longer open.
    assert response.status_code == 303 and response.headers["location"] == "/admin/queue"
    assert "moved to the district level" in dara.get("/admin/queue").text
    assert fresh(session, complaint).jurisdiction == "district"
    # Nothing brings it down: a correction of the category away from bribe, or of the place, keeps the level.
    base = f"/admin/complaints/{complaint.id}"
    assert post(supervisor, f"{base}/category", super_token, category="other") == 200
    assert post(supervisor, f"{base}/municipality", super_token, municipality="kyshtut") == 200
    assert post(supervisor, f"{base}/accuses-staff", super_token) == 200  # already above: says so, moves nothing
    done = fresh(session, complaint)
    assert (done.jurisdiction, done.category, done.municipality_code) == ("district", "other", "kyshtut")
    kyshtut = web()
    log_in(kyshtut, "kyshtut.officer")
    assert kyshtut.get(base, headers={"accept": "text/html"}).status_code == 403
    assert complaint.reference not in kyshtut.get("/admin/queue").text
    marks = session.exec(select(AuditEntry).where(AuditEntry.action == "accuses_staff")).all()
    assert [a.user_id for a in marks] == [staff["dara"].id]


def test_a_town_that_is_its_own_district_goes_to_the_oblast(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, NEUTRAL_TEXT, municipality="sulukta")
    assert complaint.jurisdiction == "district"
    oblast = web()
    token = log_in(oblast, "oblast.super")
    assert post(oblast, f"/admin/complaints/{complaint.id}/category", token, category="bribe") == 200
    assert fresh(session, complaint).jurisdiction == "oblast"


def test_a_municipal_officer_cannot_move_a_complaint_out_of_their_supervisors_sight(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, NEUTRAL_TEXT)
    dara, district, oblast = web(), web(), web()
    dara_token, district_token = log_in(dara, "dara.officer"), log_in(district, "batken.officer")
    oblast_token = log_in(oblast, "oblast.super")
    base = f"/admin/complaints/{complaint.id}"
    # The form offers a municipal officer only the municipalities of their own district.
    page = dara.get(base).text
    assert 'value="kyshtut"' in page and 'value="leilek"' not in page and 'value="aidarken"' not in page
    assert 'value="leilek"' in oblast.get(base).text
    # Another district: refused (audited), nothing changes.
    assert post(dara, f"{base}/municipality", dara_token, municipality="leilek") == 403
    assert fresh(session, complaint).municipality_code == "dara"
    denied = session.exec(select(AuditEntry).where(AuditEntry.action == "denied")).all()
    assert [(a.user_id, a.details.get("attempted")) for a in denied] == [(staff["dara"].id, "municipality")]
    # A district officer may not either: Leilek rayon's supervisors are not theirs.
    assert post(district, f"{base}/municipality", district_token, municipality="leilek") == 403
    assert fresh(session, complaint).municipality_code == "dara"
    # Within the district: allowed (the district's supervisors still see it).
    assert post(district, f"{base}/municipality", district_token, municipality="tort-kul") == 200
    assert fresh(session, complaint).municipality_code == "tort-kul"
    # The oblast's staff see both districts: allowed.
    assert post(oblast, f"{base}/municipality", oblast_token, municipality="leilek") == 200
    moved = fresh(session, complaint)
    assert (moved.municipality_code, moved.district_code) == ("leilek", "leilek-rayon")


def test_same_district_move_by_municipal_officer_is_allowed(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, NEUTRAL_TEXT)
    dara = web()
    token = log_in(dara, "dara.officer")
    assert post(dara, f"/admin/complaints/{complaint.id}/municipality", token, municipality="kyshtut") == 200
    assert fresh(session, complaint).municipality_code == "kyshtut"
