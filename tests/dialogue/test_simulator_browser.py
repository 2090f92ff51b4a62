"""Field staff use the simulator in a real browser: type a keyword, see the reply and its cost."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from hotline.config import Settings
from hotline.main import create_app
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.support import free_port, make_settings


def test_family_conversation_in_the_simulator(settings: Settings, tmp_path: Path) -> None:
    require_chromium()
    port = free_port()
    dev = make_settings(settings.database_url, tmp_path, env="development", public_url=f"http://127.0.0.1:{port}")
    with serve(create_app(dev), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 900, "height": 650})
        page.goto(f"{base}/simulator")
        page.get_by_label("Sender phone number").fill("0555 123 456")
        page.get_by_label("Message").fill("ПОСОБИЕ")
        page.keyboard.press("Enter")
        replies = page.locator(".msg.in")
        expect(replies.first).to_contain_text("Пособия: 1 ")
        expect(replies.first).to_contain_text("UCS-2")
        page.get_by_label("Message").fill("1")
        page.get_by_role("button", name="Send").click()
        expect(replies.nth(1)).to_contain_text("1 200 сом/мес")
        expect(replies.nth(1)).to_contain_text("via twilio")
        # The same phone on the operator's link: the reply says it left by Kannel.
        page.get_by_label("Channel").select_option("kannel")
        page.get_by_label("Message").fill("ЖАРДАМ")
        page.keyboard.press("Enter")
        expect(replies.nth(2)).to_contain_text("ЖӨЛӨКПУЛ")
        expect(replies.nth(2)).to_contain_text("via kannel")
        expect(page.locator(".msg.out")).to_have_count(3)
        page.screenshot(path=str(tmp_path / "simulator.png"))
        browser.close()
