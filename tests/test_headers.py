"""Security headers on every response, no inline code in any page, staff pages and CSVs never cached, and the API
description (OpenAPI, /docs) off in production."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session

from hotline.config import Settings
from hotline.context import Context
from hotline.main import create_app
from hotline.models import Jurisdiction, Role, StaffUser
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.factories import post_form, sms_form
from tests.staff_pages import PASSWORD, log_in, make_complaint, make_staff
from tests.support import free_port, make_settings

Web = Callable[[], TestClient]
ROOT = Path(__file__).resolve().parent.parent
EVERY_RESPONSE = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def policy(response: httpx.Response) -> dict[str, list[str]]:
    """The Content-Security-Policy of a response, directive by directive."""
    directives = [part.split() for part in response.headers["content-security-policy"].split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


def assert_secure_headers(response: httpx.Response) -> None:
    for name, value in EVERY_RESPONSE.items():
        assert response.headers.get(name) == value, (response.url, name)
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]


class InlineCode(HTMLParser):
    """Finds what a Content-Security-Policy without 'unsafe-inline' blocks: script bodies, <style>, style= and
    on…= attributes, javascript: URLs; and lists the scripts and stylesheets a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.loads: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._in_script = True
            if not values.get("src"):
                self.found.append("<script> without src")
            else:
                self.loads.append(values["src"] or "")
        if tag == "style":
            self.found.append("<style>")
        if tag == "link" and values.get("rel") == "stylesheet":
            self.loads.append(values.get("href") or "")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append("inline script code")


def assert_no_inline_code(client: TestClient, path: str) -> None:
    """The page opens, holds no inline code, and every script and stylesheet it loads is served."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert_secure_headers(response)
    parser = InlineCode()
    parser.feed(response.text)
    assert parser.found == [], path
    for url in parser.loads:
        assert url.startswith("/"), (path, url)  # from this server only
        assert client.get(url).status_code == 200, (path, url)


def test_every_response_carries_the_security_headers(client: TestClient, settings: Settings) -> None:
    login = client.get("/admin/login")
    assert login.status_code == 200 and login.headers["content-type"].startswith("text/html")
    assert_secure_headers(login)
    # TwiML stays TwiML: Twilio reads the XML and ignores the headers.
    answered = post_form(client, settings, sms_form("HELP"))
    assert answered.status_code == 200 and ET.fromstring(answered.text).tag == "Response"
    assert_secure_headers(answered)
    for response in (
        client.get("/healthz"),
        client.get("/no/such/page"),
        client.post("/twilio/sms", data={"Body": "x"}),  # unsigned: 403
        client.get("/admin/static/admin.css"),
    ):
        assert_secure_headers(response)


def test_staff_pages_and_csv_files_are_never_stored(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Аким просил 1000 сом за справку")
    browser = web()
    assert browser.get("/admin/login").headers["cache-control"] == "no-store"
    log_in(browser, "oblast.super")
    for path in (
        "/admin/queue",
        f"/admin/complaints/{complaint.id}",
        "/admin/queue.csv",
        "/admin/audit",
        "/admin/audit.csv",
        "/admin/dashboard",
        "/admin/complaints/999999",  # the error page too
    ):
        response = browser.get(path, headers={"accept": "text/html"})
        assert response.headers.get("cache-control") == "no-store", path
        assert_secure_headers(response)
    # Static files hold nothing personal: a browser may keep them.
    assert "no-store" not in browser.get("/admin/static/admin.js").headers.get("cache-control", "")


def test_no_page_runs_inline_code(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context, settings: Settings, tmp_path: Path
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие")
    make_staff(session, "health.worker", Role.HEALTH, Jurisdiction.OBLAST, "batken")
    anonymous = web()
    assert_no_inline_code(anonymous, "/admin/login")
    pages = {
        "oblast.super": ["/admin/queue", f"/admin/complaints/{complaint.id}", "/admin/dashboard", "/admin/audit"],
        "admin": ["/admin/users", "/admin/reference", "/admin/content"],
        "health.worker": ["/admin/health", "/admin/enrol", "/admin/households"],
    }
    for username, paths in pages.items():
        browser = web()
        log_in(browser, username)
        for path in paths:
            assert_no_inline_code(browser, path)
    development = make_settings(settings.database_url, tmp_path, env="development", simulator=True)
    with TestClient(create_app(development)) as simulator:
        assert_no_inline_code(simulator, "/simulator")
        assert_no_inline_code(simulator, "/simulator/voice")


INLINE_IN_TEMPLATE = re.compile(
    r"<style|<script(?![^>]*\bsrc=)[^>]*>|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.IGNORECASE
)


def test_no_template_holds_inline_code() -> None:
    templates = sorted((ROOT / "hotline").glob("**/templates/**/*.html"))
    assert templates
    found = {str(t.relative_to(ROOT)): INLINE_IN_TEMPLATE.findall(t.read_text()) for t in templates}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_api_description_is_off_in_production(client: TestClient) -> None:
    for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(path).status_code == 404, path


def test_the_api_description_is_served_in_development(settings: Settings, tmp_path: Path) -> None:
    development = make_settings(settings.database_url, tmp_path, env="development", migrate_on_start=False)
    with TestClient(create_app(development)) as client:
        schema = client.get("/openapi.json")
        assert schema.status_code == 200 and "/twilio/sms" in schema.json()["paths"]
        # Swagger UI needs an inline script and a CDN, which the Content-Security-Policy forbids.
        assert client.get("/docs").status_code == 404


def test_pages_work_under_the_policy_in_a_browser(
    settings: Settings, session: Session, ctx: Context, tmp_path: Path
) -> None:
    """The simulators and the staff pages work in Chromium with the policy on, and it reports no violation."""
    require_chromium()
    port = free_port()
    dev = make_settings(
        settings.database_url,
        tmp_path,
        env="development",
        public_url=f"http://127.0.0.1:{port}",
        encryption_keys=settings.encryption_keys,
        lookup_key=settings.lookup_key,
    )
    make_staff(session, "oblast.super", Role.SUPERVISOR, Jurisdiction.OBLAST, "batken", language="en")
    with serve(create_app(dev), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{base}/simulator")
        page.get_by_label("Message").fill("HELP")
        page.keyboard.press("Enter")
        expect(page.locator(".msg.in").first).to_contain_text("via twilio")
        page.goto(f"{base}/simulator/voice")
        page.get_by_role("button", name="Call").click()
        expect(page.locator("#heard p").first).to_be_visible()
        page.goto(f"{base}/admin/login?lang=en")
        page.get_by_label("Username").fill("oblast.super")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile("/admin/queue"))
        # The language menu switches the page without a button (its handler lives in admin.js).
        page.get_by_label("Language").select_option("ru")
        expect(page.locator("html")).to_have_attribute("lang", "ru")
        browser.close()
    assert violations == []
