"""Probes a load balancer and an operator rely on."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from hotline.config import Settings
from hotline.main import create_app
from tests.support import make_settings


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path, settings: Settings) -> None:
    broken = make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path, migrate_on_start=False)
    with TestClient(create_app(broken)) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "database unreachable"}


def test_metrics_show_outbox_state_and_webhook_answers(client: TestClient) -> None:
    client.post("/twilio/sms", data={"Body": "x"})  # unsigned: 403
    text = client.get("/metrics").text
    assert 'hotline_outbox_messages{status="pending"} 0.0' in text
    assert "hotline_outbox_due 0.0" in text
    assert 'hotline_webhook_requests_total{route="/twilio/sms",status="403"}' in text
