"""Field staff use the simulator in a real browser: type a keyword, see the reply and its cost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Route, ViewportSize, expect, sync_playwright
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.context import build_context
from hotline.main import create_app
from hotline.messaging import outbox
from hotline.models import Contact, Purpose
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.support import free_port, make_settings

VIEWPORT: ViewportSize = {"width": 900, "height": 650}


@contextmanager
def simulator(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Settings, Browser, Page]]:
    """The app served in development (the simulator's mode) and a Chromium page; the page has not opened it yet."""
    require_chromium()
    port = free_port()
    dev = make_settings(settings.database_url, tmp_path, env="development", public_url=f"http://127.0.0.1:{port}")
    with serve(create_app(dev), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield base, dev, browser, browser.new_page(viewport=VIEWPORT)
        finally:
            browser.close()


def test_family_conversation_in_the_simulator(settings: Settings, tmp_path: Path) -> None:
    with simulator(settings, tmp_path) as (base, dev, browser, page):
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


def test_after_stop_the_simulator_says_why_nothing_comes_back(settings: Settings, tmp_path: Path) -> None:
    with simulator(settings, tmp_path) as (base, dev, browser, page):
        page.goto(f"{base}/simulator")
        for text in ("СТОП", "ПОСОБИЕ"):
            page.get_by_label("Message").fill(text)
            page.keyboard.press("Enter")
        note = page.locator(".msg.in.error")
        expect(note).to_contain_text("this phone sent STOP")
        expect(note).to_contain_text("START")
        expect(note).not_to_contain_text("not a phone number")


def test_messages_that_came_while_the_page_was_closed_are_in_the_thread(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    with simulator(settings, tmp_path) as (base, dev, browser, page):
        page.goto(f"{base}/simulator")
        page.get_by_label("Message").fill("ПОСОБИЕ")
        page.keyboard.press("Enter")
        expect(page.locator(".msg.in").first).to_contain_text("Пособия: 1 ")
        page.close()
        # While nobody looks, an officer answers the phone (through the outbox, as every later message goes).
        contact = session.exec(select(Contact)).one()
        outbox.enqueue(
            session,
            build_context(dev),
            contact=contact,
            text="Жалоба 1234: Проверяем.",
            purpose=Purpose.COMPLAINT_UPDATE,
            key="t:1",
        )
        session.commit()
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{base}/simulator")
        thread = page.locator("#thread .msg")
        expect(thread).to_have_count(3)
        expect(thread.nth(0)).to_have_text("ПОСОБИЕ")
        expect(thread.nth(1)).to_contain_text("Пособия: 1 ")
        expect(thread.nth(2)).to_contain_text("Жалоба 1234: Проверяем.")
        expect(thread.nth(2)).to_contain_text("complaint_update")


def test_a_slow_history_never_shows_the_conversation_twice(settings: Settings, tmp_path: Path) -> None:
    """The page loads the phone's history when it opens and when the number is changed; a message typed while that
    is on its way must not come back twice (once as the answer, once in the history). Seen in CI."""
    with simulator(settings, tmp_path) as (base, dev, browser, page):
        held: list[Route] = []
        holding = [True]

        def slow_network(route: Route) -> None:
            if holding[0]:
                held.append(route)  # answered when the test says so
            else:
                route.continue_()

        page.route("**/simulator/history*", slow_network)
        page.goto(f"{base}/simulator")
        page.get_by_label("Sender phone number").fill("0555 123 457")
        page.get_by_label("Message").fill("ПОСОБИЕ")  # leaving the number's field loads its history
        page.keyboard.press("Enter")
        page.wait_for_timeout(500)  # time for the message to go out and come back, if the page lets it
        assert held  # the first history is still on its way
        holding[0] = False
        for route in held:
            route.continue_()
        replies = page.locator(".msg.in")
        expect(replies.first).to_contain_text("Пособия: 1 ")
        with page.expect_response("**/simulator/outbox*"):  # the next poll: both histories have been drawn
            pass
        expect(page.locator(".msg")).to_have_count(2)
        expect(page.locator(".msg").first).to_have_class("msg out")
        expect(replies).to_have_count(1)
