"""The staff session cookie belongs to the staff pages: webhooks, probes and unknown paths neither read nor set it,
even when a client sends a valid one."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner

from hotline.config import Settings
from hotline.main import create_app
from hotline.webhooks import sign
from tests.factories import sms_form


def session_cookie(settings: Settings) -> dict[str, str]:
    """A cookie the staff pages accept (signed with the app's secret), holding a chosen language."""
    payload = base64.b64encode(json.dumps({"lang": "ky"}).encode())
    return {"cookie": "hotline_session=" + TimestampSigner(settings.secret_key).sign(payload).decode()}


def test_the_cookie_is_a_session_on_the_staff_pages(client: TestClient, settings: Settings) -> None:
    response = client.get("/admin/login", headers=session_cookie(settings))
    assert response.status_code == 200 and '<html lang="ky">' in response.text  # the language the cookie chose
    assert "hotline_session=" in response.headers["set-cookie"]


@pytest.mark.parametrize("path", ["/twilio/sms", "/twilio/status"])
def test_a_webhook_neither_reads_nor_sets_the_session(client: TestClient, settings: Settings, path: str) -> None:
    form = sms_form("HELP") if path == "/twilio/sms" else {"MessageSid": "SM" + "b" * 32, "MessageStatus": "sent"}
    form["AccountSid"] = settings.twilio_account_sid
    signature = sign(settings, settings.public_url.rstrip("/") + path, form)
    response = client.post(path, data=form, headers={"X-Twilio-Signature": signature, **session_cookie(settings)})
    assert response.status_code in (200, 204)
    assert "set-cookie" not in response.headers  # the sessions would renew a valid cookie on every answer


@pytest.mark.parametrize("path", ["/healthz", "/wp-login.php", "/"])
def test_probes_and_other_paths_set_no_session(client: TestClient, settings: Settings, path: str) -> None:
    response = client.get(path, headers=session_cookie(settings), follow_redirects=False)
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("path", "has_session"), [("/twilio/probe", False), ("/kannel/probe", False), ("/admin/probe", True)]
)
def test_only_staff_paths_go_through_the_sessions(settings: Settings, path: str, has_session: bool) -> None:
    app = create_app(settings)

    async def probe(request: Request) -> dict[str, bool]:
        return {"session": "session" in request.scope}

    app.add_api_route(path, probe, methods=["POST"])
    with TestClient(app, base_url="http://internal:8000") as client:
        response = client.post(path, headers=session_cookie(settings))
    assert response.json() == {"session": has_session}
