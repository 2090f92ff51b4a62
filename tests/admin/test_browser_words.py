"""A supervisor in the Kyrgyz interface in real headless Chromium (issue #19 points 13 and 16): the whole interface in
Kyrgyz with its title spelt right, enrolment called enrolment, and an answer the family's STOP keeps from going
saying so."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session

from hotline.config import Settings
from hotline.context import build_context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.main import create_app
from hotline.models import Jurisdiction, Role, utcnow
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.staff_pages import PASSWORD, make_complaint, make_staff
from tests.support import free_port, make_settings

PHONE = "+996555123456"


def test_kyrgyz_interface_and_an_answer_stopped_by_the_family(
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
    make_staff(session, "batken.super", Role.SUPERVISOR, Jurisdiction.DISTRICT, "batken-rayon", language="ru")
    complaint = make_complaint(session, ctx, "Жөлөкпул үч ай төлөнгөн жок", phone=PHONE, language="ky")
    contact = get_or_create_contact(session, ctx, PHONE, utcnow())
    contact.opted_out_at = utcnow()  # the family sent STOP after filing
    session.add(contact)
    session.commit()

    with serve(create_app(web_settings), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{base}/admin/login")
        page.get_by_label("Имя пользователя").fill("batken.super")
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        expect(page.get_by_role("link", name="Записать семью")).to_be_visible()
        page.get_by_label("Язык").select_option("ky")
        expect(page.locator("header strong")).to_have_text("Баткен ишеним телефону: арыздар")
        expect(page.get_by_role("link", name="Үй-бүлөнү каттоо")).to_be_visible()
        expect(page.get_by_role("button", name="Колдонуу")).to_be_visible()  # the queue's filter, no longer "Apply"

        page.goto(f"{base}/admin/complaints/{complaint.id}")
        expect(page.get_by_role("heading", name=f"Арыз {complaint.reference}")).to_be_visible()
        page.get_by_label("Жооп (ky)").fill("Текшерип жатабыз.")
        page.get_by_role("button", name="Жөнөтүү").click()
        expect(page.locator(".flash.error")).to_contain_text("Үй-бүлө ТОКТОТ жөнөткөн")
        expect(page.locator("#thread .out .delivery")).to_have_text("жөнөтүлгөн жок: үй-бүлө ТОКТОТ жөнөткөн")
        expect(page.locator("#status")).to_have_text("текшерилүүдө")
        expect(page.locator("#timeline")).to_contain_text("batken.super үй-бүлөгө жооп берди.")
        expect(page.locator("main")).not_to_contain_text("Answer")
        browser.close()
