"""The edit → approve flow in headless Chromium (Debian's): a content officer changes an amount and sees its preview
and diff; a second officer approves it; the author cannot."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session

from hotline.config import Settings
from hotline.main import create_app
from hotline.models import Jurisdiction, Role
from tests.admin.test_lists_browser import _web_settings
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.staff_pages import PASSWORD, make_staff
from tests.support import free_port


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login")  # in Russian until the account's own language (English here)
    page.get_by_label("Имя пользователя").fill(username)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()


def test_an_amount_is_edited_previewed_and_approved_by_a_second_officer(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    require_chromium()
    port = free_port()
    make_staff(session, "aida", Role.CONTENT, Jurisdiction.OBLAST, "batken")
    make_staff(session, "bakyt", Role.CONTENT, Jurisdiction.OBLAST, "batken")
    with serve(create_app(_web_settings(settings, tmp_path, port)), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        author = browser.new_context().new_page()
        _log_in(author, base, "aida")
        expect(author).to_have_url(f"{base}/admin/edit")  # the content role's first page
        author.get_by_role("link", name="balaga_suyunchu").click()
        author.get_by_label("amount_som").fill("5000")
        author.get_by_label("In force from").fill("2030-01-01")
        author.get_by_label("Source (where it was published)").fill("Resolution No. 9")
        author.get_by_role("button", name="Preview").click()
        expect(author.locator(".changes")).to_contain_text("4000")
        expect(author.locator(".changes")).to_contain_text("5000")
        expect(author.locator(".previews tr")).to_have_count(4)
        expect(author.locator(".previews")).to_contain_text("5 000")
        author.get_by_role("button", name="Save the new version").click()
        expect(author.locator(".flash.ok")).to_contain_text("second person approves")
        expect(author.locator("#state")).to_contain_text("waiting for approval")
        revision_url = author.url
        author.get_by_role("button", name="Approve").click()
        expect(author.locator(".flash.error")).to_contain_text("a second person must approve")

        second = browser.new_context().new_page()
        _log_in(second, base, "bakyt")
        second.locator("#pending").get_by_role("link").first.click()
        assert second.url == revision_url
        second.get_by_role("button", name="Approve").click()
        expect(second.locator("#state")).to_contain_text("in force from its date")
        browser.close()
