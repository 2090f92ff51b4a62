"""The voice simulator field staff demo with: a keypad page over the real, signed voice webhooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, select

from hotline.complaints.reference import new_reference
from hotline.config import Settings
from hotline.main import create_app
from hotline.models import Complaint
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.support import free_port, make_settings
from tests.voice.conftest import write_placeholder_audio


def test_a_whole_complaint_through_the_simulator(settings: Settings, session: Session, tmp_path: Path) -> None:
    dev = make_settings(settings.database_url, tmp_path, env="development")
    with TestClient(create_app(dev)) as client:
        assert "Voice simulator" in client.get("/simulator/voice").text

        def step(**payload: Any) -> dict[str, Any]:
            response = client.post("/simulator/call", json={"caller": "0555 123 456", **payload})
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()
            return data

        call = step()
        assert len(call["items"]) == 4 and call["gather"]["numDigits"] == "1"
        sid = call["call_sid"]
        for digits in ("2", "2", "2", "1"):  # Russian, complaint, anonymous, Batken rayon
            call = step(call_sid=sid, url=call["gather"]["action"], digits=digits)
        assert call["record"] is not None
        call = step(call_sid=sid, url=call["record"]["action"], digits="#", recording_seconds=30)
        complaint = session.exec(select(Complaint)).one()
        spoken = " ".join(item["text"] for item in call["items"])
        assert complaint.anonymous and complaint.district_code == "batken-rayon"
        assert call["gather"] is not None, "back at the main menu"
        assert len(call["items"]) > 2 * 8, "the reference and PIN, digit by digit, twice"
        assert spoken

        outside = client.post("/simulator/call", json={"caller": "0555 123 456", "url": "http://evil.example/x"})
        assert outside.status_code == 422
        other = client.post("/simulator/call", json={"caller": "0555 123 456", "url": f"{dev.public_url}/admin/users"})
        assert other.status_code == 422


def test_voice_simulator_is_off_in_production(client: TestClient) -> None:
    assert client.get("/simulator/voice").status_code == 404
    assert client.post("/simulator/call", json={"caller": "+996555123456"}).status_code == 404


def test_voice_simulator_in_the_browser(settings: Settings, tmp_path: Path) -> None:
    require_chromium()
    port = free_port()
    audio = tmp_path / "audio"
    write_placeholder_audio(audio)
    dev = make_settings(
        settings.database_url, tmp_path, env="development", public_url=f"http://127.0.0.1:{port}", voice_audio_dir=audio
    )
    with serve(create_app(dev), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 900, "height": 700})
        page.goto(f"{base}/simulator/voice")
        page.get_by_label("Caller number").fill("+996700111222")
        page.get_by_role("button", name="Call").click()
        heard = page.locator("#heard p")
        expect(heard).to_have_count(4)
        page.get_by_role("button", name="2", exact=True).click()
        expect(page.locator("#state")).to_have_text("In call")
        expect(heard.last).to_contain_text("1")  # the main menu's text names its keys
        # A caller presses the next key once the menu it answers is heard (a key pressed while the line is still
        # fetching the next menu is typed ahead into it: "31" is no key of the danger menu; seen in CI).
        page.get_by_role("button", name="3", exact=True).click()
        expect(heard.last).to_contain_text("Главное меню")  # the danger menu
        page.get_by_role("button", name="1", exact=True).click()
        expect(page.locator("#heard")).to_contain_text("103")  # pregnancy danger signs: call the ambulance, 103
        # Status: the eight digits, then # as the prompt says, reach the PIN question; just # answers it.
        page.get_by_role("button", name="*", exact=True).click()
        expect(heard.last).to_contain_text("сменить язык")  # the main menu again
        page.get_by_role("button", name="4", exact=True).click()
        expect(heard.last).to_contain_text("8 цифр")
        for key in f"{new_reference()}#":
            page.get_by_role("button", name=key, exact=True).click()
        expect(heard.last).to_contain_text("пин-код")
        page.get_by_role("button", name="#", exact=True).click()
        expect(page.locator("#heard")).to_contain_text("не найдена")
        page.get_by_role("button", name="Hang up").click()
        expect(page.locator("#state")).to_have_text("Idle")
        browser.close()
