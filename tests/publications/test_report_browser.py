"""The grievance report in real headless Chromium (Debian's), in Russian: a supervisor chooses a month and an area,
reads the figures and charts (drawn without any script from outside: the admin CSP would block it), and downloads
the CSV and the PDF."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session

from hotline.complaints import casework
from hotline.config import Settings
from hotline.context import build_context
from hotline.main import create_app
from hotline.models import Jurisdiction, Role
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.staff_pages import PASSWORD, make_complaint, make_staff
from tests.support import free_port, make_settings

MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("Asia/Bishkek"))


def test_a_supervisor_reads_and_downloads_the_months_report(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    require_chromium()
    port = free_port()
    web_settings = make_settings(
        settings.database_url,
        tmp_path,
        public_url=f"http://127.0.0.1:{port}",
        cookie_secure=False,
        encryption_keys=settings.encryption_keys,
        lookup_key=settings.lookup_key,
    )
    ctx = build_context(web_settings)
    boss = make_staff(session, "batken.super", Role.SUPERVISOR, Jurisdiction.DISTRICT, "batken-rayon", language="ru")
    for i in range(6):
        complaint = make_complaint(session, ctx, "пособие не выплатили", phone=f"+99655500070{i}", now=MARCH)
        casework.answer(session, ctx, boss, complaint, "Проверяем.", MARCH + timedelta(days=i + 1))
        session.commit()
    make_complaint(session, ctx, "пособие не выплатили", municipality="kyshtut", phone="+996555000799", now=MARCH)

    with serve(create_app(web_settings), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(accept_downloads=True)
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{base}/admin/login")
        page.get_by_label("Имя пользователя").fill("batken.super")
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        page.get_by_role("link", name="Отчёт по жалобам").click()
        page.get_by_role("textbox", name="Месяц").fill("2026-03")
        page.get_by_role("button", name="Показать").click()

        expect(page.locator("#received")).to_have_text("7")
        expect(page.locator("#by-area svg")).to_be_visible()
        expect(page.locator('#by-area [data-count="kyshtut"]')).to_have_text("<5")
        expect(page.locator('#timing tr[data-step="first_answer"] .median')).to_have_text("3.5")

        page.get_by_role("combobox", name="Территория").select_option("dara")
        page.get_by_role("button", name="Показать").click()
        expect(page.locator("#received")).to_have_text("6")
        expect(page.locator("h1")).to_contain_text("2026-03")

        with page.expect_download() as csv_download:
            page.locator("#report-csv").click()
        assert "area,dara,6" in Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
        with page.expect_download() as pdf_download:
            page.locator("#report-pdf").click()
        assert Path(pdf_download.value.path()).read_bytes().startswith(b"%PDF")
        page.screenshot(path=str(tmp_path / "grievance.png"), full_page=True)
        assert blocked == []
        browser.close()
