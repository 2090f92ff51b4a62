"""The health alerts page in real headless Chromium (#19.2): a rayon's health worker sees one family's danger
messages of a day as one alert, is prompted to ask the village it does not know, and marks it handled."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session

from hotline.config import Settings
from hotline.context import build_context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.main import create_app
from hotline.models import Jurisdiction, Role
from tests.admin.test_browser import screenshots_dir
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.factories import converse
from tests.staff_pages import PASSWORD, make_staff
from tests.support import free_port, make_settings

FAMILY = "+996555123456"


def test_a_rayons_health_worker_calls_back_a_family_whose_village_is_unknown(
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
    make_staff(session, "leilek.health", Role.HEALTH, Jurisdiction.DISTRICT, "leilek-rayon", language="ru")
    make_staff(session, "katran.nurse", Role.HEALTH, Jurisdiction.MUNICIPALITY, "katran", language="ru")
    day = date(2027, 1, 4)
    family = get_or_create_contact(session, ctx, FAMILY, datetime.combine(day, time(8), ctx.tz))
    family.municipality_code, family.language = "leilek-rayon", "ru"  # the rayon is known, not the village
    session.commit()
    converse(session, ctx, "у ребенка судороги", FAMILY, datetime.combine(day, time(10), ctx.tz))
    converse(session, ctx, "ребенок не сосет грудь", FAMILY, datetime.combine(day, time(11, 30), ctx.tz))
    session.commit()

    shots = screenshots_dir(tmp_path)
    with serve(create_app(web_settings), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for username in ("leilek.health", "katran.nurse"):
            page = browser.new_page()
            page.goto(f"{base}/admin/login")
            page.get_by_label("Имя пользователя").fill(username)
            page.get_by_label("Пароль").fill(PASSWORD)
            page.get_by_role("button", name="Войти").click()
            page.goto(f"{base}/admin/health")
            rows = page.locator("#alerts tbody tr")
            if username == "katran.nurse":  # the village is not known: Katran's nurse is not the one to call
                expect(rows).to_have_count(0)
                expect(page.get_by_text("Сообщений нет.")).to_be_visible()
                continue
            expect(rows).to_have_count(1)  # two messages, one alert
            row = rows.first
            expect(row.locator("ul.messages li")).to_have_text(
                ["10:00 у ребенка судороги", "11:30 ребенок не сосет грудь"]
            )
            expect(row).to_contain_text("Лейлекский район")
            expect(row.locator(".ask-village")).to_have_text("Село неизвестно: спросите у семьи, когда позвоните.")
            expect(row.get_by_role("link", name=FAMILY)).to_have_attribute("href", f"tel:{FAMILY}")
            page.screenshot(path=str(shots / "health.png"), full_page=True)
            row.get_by_role("button", name="Отработано").click()
            expect(page.locator("#alerts tbody tr")).to_have_count(0)
        browser.close()
