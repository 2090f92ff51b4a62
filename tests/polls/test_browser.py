"""A radio quiz answered by SMS through the webhook, its results read in real headless Chromium (Debian's): the
counts, the chart drawn without any script from elsewhere, the open answers searched, the CSV downloaded."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session

from hotline.config import Settings
from hotline.context import build_context
from hotline.main import create_app
from hotline.models import Jurisdiction, Role
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.factories import text_in
from tests.polls.builders import OPEN, QUIZ, make_poll
from tests.staff_pages import PASSWORD, make_staff
from tests.support import free_port, make_settings

HELLO = ("ЖАРДАМ", "ПОМОЩЬ", "ЁРДАМ", "HELP")


def test_quiz_results_in_the_browser(settings: Settings, session: Session, tmp_path: Path) -> None:
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
    user = make_staff(session, "content", Role.ADMIN, Jurisdiction.OBLAST, "batken", language="ru")
    poll = make_poll(session, ctx, user, [QUIZ, OPEN], name="Радиовикторина", keyword="КВИЗ")
    app = create_app(web_settings)
    with TestClient(app) as sms:
        for i in range(8):  # eight families, two in each language; six right, two wrong
            phone = f"+9965554000{i:02d}"
            text_in(sms, web_settings, HELLO[i % 4], phone)
            text_in(sms, web_settings, "kviz", phone)
            text_in(sms, web_settings, "1" if i < 6 else "2", phone)
            text_in(sms, web_settings, f"Хочу узнать про прививки {i}" if i % 2 else f"Emlash haqida {i}", phone)

    with serve(app, port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text else None)
        page.goto(f"{base}/admin/login")
        page.get_by_label("Имя пользователя").fill("content")
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        page.get_by_role("link", name="Опросы").click()
        page.get_by_role("link", name="Результаты").first.click()
        expect(page.get_by_role("heading", name="Результаты: Радиовикторина")).to_be_visible()
        first = page.locator("#question-1")
        expect(first.locator("table.poll-answers")).to_contain_text("Кровотечение ✓")
        expect(first.locator("table.poll-answers tbody tr").first).to_contain_text("6")
        expect(first.locator("table.poll-answers tbody tr").nth(1)).to_contain_text("<5")
        expect(first.locator("svg rect")).to_have_count(2)
        expect(first.locator("table.poll-groups").last).to_contain_text("ky")
        page.get_by_label("Найти").fill("privivki")
        page.get_by_role("button", name="Найти").click()
        expect(page.locator("ul.open-answers li")).to_have_count(4)
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV", exact=True).click()
        text = Path(download.value.path()).read_text(encoding="utf-8-sig")
        assert "Радиовикторина,1,Какой признак при беременности опасен?,1,Кровотечение" in text
        assert "+996" not in text
        assert errors == []  # no script refused by the CSP
        browser.close()
    assert poll.id
