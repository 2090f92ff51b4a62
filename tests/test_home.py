"""The bare address leads somewhere useful instead of a JSON 404."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from hotline.main import create_app
from tests.support import make_settings


def test_the_bare_address_opens_the_simulator_in_development(database_url: str, tmp_path: Path) -> None:
    development = make_settings(database_url, tmp_path, env="development", simulator=True)
    with TestClient(create_app(development)) as client:
        page = client.get("/")
    assert page.status_code == 200 and page.url.path == "/simulator"
    assert "<h1>Hotline simulator</h1>" in page.text


def test_the_bare_address_opens_the_staff_login_in_production(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.url.path == "/admin/login"
