"""Issue 19, points 14 and 15, one by one (the browser test walks through them too): the queue's search, filter
and names, empty tables, the dashboard's labels, and CSV exports a Russian Excel opens."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from hotline.context import Context
from hotline.models import Jurisdiction, Role, StaffUser
from tests.staff_pages import log_in, make_complaint, make_staff

Web = Callable[[], TestClient]


def _russian_district_officer(web: Web, session: Session) -> TestClient:
    make_staff(session, "ru.officer", Role.OFFICER, Jurisdiction.DISTRICT, "batken-rayon", language="ru")
    client = web()
    log_in(client, "ru.officer")
    return client


def test_search_by_spaced_reference_and_by_place_name(web: Web, session: Session, ctx: Context) -> None:
    dara = make_complaint(session, ctx, "Отказали в пособии", phone="+996555000001")
    kara_bak = make_complaint(session, ctx, "Пособие задерживают", municipality="kara-bak", phone="+996555000002")
    named = make_complaint(session, ctx, "Были в Кара-Баке, не приняли", phone="+996555000003")
    client = _russian_district_officer(web, session)
    for typed in (f"{dara.reference[:4]} {dara.reference[4:]}", f"{dara.reference[:4]}-{dara.reference[4:]}"):
        page = client.get("/admin/queue", params={"q": typed}).text
        assert dara.reference in page and kara_bak.reference not in page, typed
    page = client.get("/admin/queue", params={"q": "Карабак"}).text
    assert kara_bak.reference in page and named.reference in page and dara.reference not in page


def test_village_filter_names_and_empty_tables(web: Web, session: Session, ctx: Context) -> None:
    make_complaint(session, ctx, "Не знаю где подать", municipality="batken-rayon")
    client = _russian_district_officer(web, session)
    page = client.get("/admin/queue").text
    villages = page.split('name="municipality"')[1].split("</select>")[0]
    assert "Кара-Бак" in villages and "Катран" not in villages and "Лейлек" not in villages
    assert "село не указано" in page.split('id="queue"')[1]
    assert "Баткенский район" in page.split('class="who"')[1].split("</span>")[0]  # the area by name
    dashboard = client.get("/admin/dashboard").text
    assert "…" not in dashboard and "село не указано" in dashboard
    make_staff(session, "ru.super", Role.SUPERVISOR, Jurisdiction.DISTRICT, "batken-rayon", language="ru")
    supervisor = web()
    log_in(supervisor, "ru.super")
    assert "Записей не найдено." in supervisor.get("/admin/audit?reference=00000000").text


def test_dashboard_labels_are_whole(web: Web, session: Session, ctx: Context) -> None:
    make_complaint(session, ctx, "Отказали в пособии, сказали что доход большой, но это не так")
    client = _russian_district_officer(web, session)
    chart = client.get("/admin/dashboard").text.split('id="by-category"')[1].split("</svg>")[0]
    assert "неправомерный отказ или исключение" in re.sub(r"<[^>]+>", "", chart)  # whole, on two lines


def test_csv_for_a_russian_excel(web: Web, session: Session, ctx: Context, staff: dict[str, StaffUser]) -> None:
    complaint = make_complaint(session, ctx, "Отказали в пособии", phone="+996555000001")
    complaint.assignee_id = staff["district"].id
    session.add(complaint)
    session.commit()
    client = _russian_district_officer(web, session)
    exported = client.get("/admin/queue.csv?sep=semicolon")
    assert exported.content.startswith(b"\xef\xbb\xbf")  # Excel then reads UTF-8, Cyrillic included
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1
    row = rows[0]
    assert (row["Номер"], row["Статус"], row["Айыл окмоту / город"], row["Район"]) == (
        complaint.reference,
        "новая",
        "Дара",
        "Баткенский район",
    )
    assert row["Исполнитель"] == staff["district"].display_name and row["Анонимно"] == "нет"
    empty = client.get("/admin/queue.csv", params={"q": "ничего такого нет"}).content.decode("utf-8-sig")
    assert empty.splitlines() == [
        "Номер,Подана,Статус,Категория,Айыл окмоту / город,Район,Уровень,Анонимно,Исполнитель,Срок первого ответа,"
        "Срок решения,Первый ответ,Решена,Просрочена,Текст"
    ]
    make_staff(session, "ru.super", Role.SUPERVISOR, Jurisdiction.DISTRICT, "batken-rayon", language="ru")
    supervisor = web()
    log_in(supervisor, "ru.super")
    audit = supervisor.get("/admin/audit.csv?sep=semicolon&reference=00000000").content
    assert audit.decode("utf-8-sig").splitlines() == ["Время;Пользователь;Действие;Жалоба;Подробности"]
