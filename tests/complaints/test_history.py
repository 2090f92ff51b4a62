"""The complaint's history and the audit log told as sentences in the interface language (issue #19 point 10),
and one `view` row per person, complaint and local day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from hotline.complaints import casework
from hotline.context import Context
from hotline.models import AuditEntry, StaffUser
from tests.staff_pages import log_in, make_complaint

Web = Callable[[], TestClient]
CODE_SPEAK = ("channel:", "anonymous:", "old:", "new:", "None", "category_guessed", "acknowledged", "investigating")


def _russian(client: TestClient, token: str) -> None:
    client.post("/admin/language", data={"csrf_token": token, "language": "ru", "next": "/admin/queue"})


def _timeline(page: str) -> str:
    return page.split('id="timeline"', 1)[1].split("</ol>", 1)[0]


def test_the_history_reads_as_sentences_with_names_of_people_and_places(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие за октябрь", municipality="kyshtut")
    boss = web()
    token = log_in(boss, "batken.super")
    _russian(boss, token)
    url = f"/admin/complaints/{complaint.id}"
    boss.post(f"{url}/status", data={"csrf_token": token, "status": "acknowledged"})
    boss.post(f"{url}/municipality", data={"csrf_token": token, "municipality": "dara"})
    boss.post(f"{url}/assign", data={"csrf_token": token, "assignee": str(staff["dara"].id)})
    timeline = _timeline(boss.get(url).text)
    assert "Семья подала жалобу по SMS" in timeline
    assert "batken.super изменил(а) статус: «новая» → «принята»" in timeline
    assert "batken.super изменил(а) место: Кыштут → Дара" in timeline
    assert "batken.super назначил(а) исполнителя: dara.officer" in timeline
    for code in CODE_SPEAK:
        assert code not in timeline, code


def test_the_audit_log_reads_as_sentences_in_the_interface_language(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие за октябрь")
    boss = web()
    token = log_in(boss, "batken.super")
    _russian(boss, token)
    url = f"/admin/complaints/{complaint.id}"
    boss.post(f"{url}/status", data={"csrf_token": token, "status": "acknowledged"})
    boss.post(f"{url}/assign", data={"csrf_token": token, "assignee": str(staff["dara"].id)})
    page = boss.get("/admin/audit").text
    table = page.split('id="audit"', 1)[1].split("</table>", 1)[0]
    assert "Статус: «новая» → «принята»" in table
    assert "Исполнитель: dara.officer" in table
    assert "Просмотр жалобы" in table and "Вход в систему" in table
    for code in (*CODE_SPEAK, ">status<", ">view<", ">assign<", ">login<"):
        assert code not in table, code
    filters = page.split('name="action"', 1)[1].split("</select>", 1)[0]
    assert "Изменение статуса</option>" in filters and ">status</option>" not in filters


def test_one_view_row_per_person_complaint_and_local_day(
    staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие")
    officer, boss = staff["dara"], staff["supervisor"]
    # Bishkek is UTC+6: 03:00Z is 09:00 local, 17:30Z is 23:30 local, 18:30Z the next local day's 00:30.
    for at in ("2026-11-10T03:00Z", "2026-11-10T09:00Z", "2026-11-10T17:30Z", "2026-11-10T18:30Z"):
        casework.read_complaint(session, officer, complaint.id or 0, datetime.fromisoformat(at), ctx.tz)
    casework.read_complaint(session, boss, complaint.id or 0, datetime.fromisoformat("2026-11-10T09:00Z"), ctx.tz)
    session.commit()
    views = session.exec(select(AuditEntry).where(AuditEntry.action == "view").order_by(col(AuditEntry.id))).all()
    assert [(v.user_id, v.at.isoformat()) for v in views] == [
        (officer.id, "2026-11-10T03:00:00+00:00"),
        (officer.id, "2026-11-10T18:30:00+00:00"),
        (boss.id, "2026-11-10T09:00:00+00:00"),
    ]
