"""The triage queue: filters, search, order, pages, counts, polling and the CSV export."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

import hotline.complaints.queue as queue_module
from hotline.complaints.queue import PER_PAGE
from hotline.context import Context
from hotline.models import StaffUser, utcnow
from tests.staff_pages import log_in, make_complaint

Web = Callable[[], TestClient]


def test_filters_search_and_counts(web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context) -> None:
    paid = make_complaint(session, ctx, "Пособие не выплатили три месяца", municipality="dara")
    rude = make_complaint(session, ctx, "Соцработник кричал на меня", municipality="kyshtut", phone="+996555000222")
    anon = make_complaint(
        session, ctx, "Отказали в пособии", municipality="dara", phone="+996555000333", anonymous=True
    )
    client = web()
    log_in(client, "oblast.super")

    def refs(query: str) -> set[str]:
        text = client.get(f"/admin/queue?{query}").text
        return {c.reference for c in (paid, rude, anon) if c.reference in text}

    assert refs("") == {paid.reference, rude.reference, anon.reference}
    assert refs("municipality=kyshtut") == {rude.reference}
    assert refs("anonymous=yes") == {anon.reference}
    assert refs("anonymous=no") == {paid.reference, rude.reference}
    assert refs(f"category={paid.category}") >= {paid.reference}
    # Search ignores case, in Cyrillic too, and finds words by their start.
    assert refs("q=ВЫПЛАТ") == {paid.reference}
    assert refs("q=кричал соцработник") == {rude.reference}
    assert refs(f"q={anon.reference}") == {anon.reference}
    assert refs("q=nothing-like-this") == set()
    assert refs("assignee=none") == {paid.reference, rude.reference, anon.reference}
    page = client.get("/admin/queue").text
    assert 'data-status="new">new: 3<' in page


def test_overdue_filter_and_due_date_order(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    now = utcnow()
    late = make_complaint(session, ctx, "Старая жалоба", now=now - timedelta(days=10))
    soon = make_complaint(session, ctx, "Жалоба на прошлой неделе", now=now - timedelta(days=5), phone="+996555000444")
    fresh = make_complaint(session, ctx, "Сегодняшняя жалоба", phone="+996555000555")
    client = web()
    log_in(client, "dara.officer")
    page = client.get("/admin/queue").text
    assert page.index(late.reference) < page.index(soon.reference) < page.index(fresh.reference)
    overdue = client.get("/admin/queue?overdue=1").text
    assert late.reference in overdue and soon.reference not in overdue and fresh.reference not in overdue


def test_pagination(web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context) -> None:
    now = utcnow()
    complaints = [
        make_complaint(session, ctx, f"Жалоба номер {i}", phone=f"+99655510{i:04d}", now=now - timedelta(minutes=i))
        for i in range(PER_PAGE + 3)
    ]
    client = web()
    log_in(client, "dara.officer")
    first, second = client.get("/admin/queue").text, client.get("/admin/queue?page=2").text
    on_first = {c.reference for c in complaints if c.reference in first}
    on_second = {c.reference for c in complaints if c.reference in second}
    assert len(on_first) == PER_PAGE and len(on_second) == 3 and not on_first & on_second
    assert "page 1 of 2" in first
    # A page past the end shows the last one rather than an error.
    assert on_second == {c.reference for c in complaints if c.reference in client.get("/admin/queue?page=99").text}


def test_new_complaints_arrive_by_polling(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    first = make_complaint(session, ctx, "Первая жалоба")
    client = web()
    log_in(client, "dara.officer")
    assert client.get(f"/admin/queue/new?after={first.id}").json()["count"] == 0
    second = make_complaint(session, ctx, "Вторая жалоба", phone="+996555000666")
    elsewhere = make_complaint(session, ctx, "Жалоба из Кыштута", municipality="kyshtut", phone="+996555000777")
    polled = client.get(f"/admin/queue/new?after={first.id}").json()
    assert polled["count"] == 1 and second.reference in polled["html"] and elsewhere.reference not in polled["html"]
    assert polled["latest"] == second.id


def test_search_and_filters_are_escaped_and_bounded(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    make_complaint(session, ctx, "<script>alert('x')</script> аким просил деньги")
    client = web()
    log_in(client, "oblast.super")
    page = client.get("/admin/queue").text
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    for query in ("q=' OR 1=1 --", "q=%25%25%25", "q=a:* %26 !b", "q=<b>x</b>", "q=_", "status=' OR '1'='1"):
        response = client.get(f"/admin/queue?{query}")
        assert response.status_code == 200, query
        assert "<b>x</b>" not in response.text
    assert client.get("/admin/queue?q=%25").text.count("аким просил") == 0
    assert client.get("/admin/queue?q=" + "x" * 5000, headers={"accept": "text/html"}).status_code == 422
    assert client.get("/admin/queue?page=-1", headers={"accept": "text/html"}).status_code == 422


def test_csv_export_has_the_filtered_queue_and_no_phone_number(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    named = make_complaint(session, ctx, '=HYPERLINK("http://evil") не выплатили', phone="+996555123456")
    other = make_complaint(session, ctx, "Кыштут", municipality="kyshtut", phone="+996555000888")
    client = web()
    log_in(client, "oblast.super")
    response = client.get("/admin/queue.csv?municipality=dara")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))  # after Excel's BOM
    assert [r["reference"] for r in rows] == [named.reference]
    assert other.reference not in response.text
    assert "555123456" not in response.text and "996" not in response.text.replace(named.reference, "")
    assert rows[0]["text"].startswith("'=")  # a spreadsheet shows the formula as text, never runs it


def test_filtered_counts_stop_at_the_cap_and_pages_go_on(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_module, "COUNT_CAP", 3)
    monkeypatch.setattr(queue_module, "PER_PAGE", 2)
    made = [make_complaint(session, ctx, f"Пособие {i}", phone=f"+99655520{i:04d}") for i in range(7)]
    client = web()
    log_in(client, "dara.officer")
    exact = client.get("/admin/queue").text  # unfiltered: exact, whatever the cap
    assert '<small id="total">(7)</small>' in exact and 'data-status="new">new: 7<' in exact
    capped = client.get("/admin/queue?q=пособие").text
    assert '<small id="total">(3+)</small>' in capped and 'data-status="new">new<' in capped
    assert "page 1 of more than 20" in capped and 'rel="next"' in capped
    seen: set[str] = set()
    url = "/admin/queue?q=пособие"
    while url:  # follow the "next" links: every complaint is reachable page by page
        text = client.get(url).text
        seen |= {c.reference for c in made if c.reference in text}
        found = re.search(r'href="\?([^"]+)" rel="next"', text)
        url = f"/admin/queue?{html.unescape(found.group(1))}" if found else ""
    assert seen == {c.reference for c in made}
