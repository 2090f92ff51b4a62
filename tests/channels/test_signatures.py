"""One HMAC per genuine Twilio request, and exactly the requests twilio's RequestValidator.validate accepts: signed
for the URL with or without the default port; a forged or foreign signature is 403 and stores nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from hotline.config import Settings
from hotline.webhooks import form_signature, signature_valid
from tests.factories import post_form, sms_form

TOKEN = "0123456789abcdef0123456789abcdef"
FORMS = [
    {},
    sms_form("ЖӨЛӨКПУЛ 1"),
    sms_form("Tom & Jerry <b> \"q\" 'q' 👍🏽 a=b&c=d %20 +"),
    {"Body": "", "From": "", "": "empty name", "Z": "last", "a": "lower after upper", "ÿ": "non-ASCII name"},
    {f"Field{i}": f"value {i}" for i in range(40)},
]
URLS = [
    "https://hotline.example.org/twilio/sms",
    "https://hotline.example.org:443/twilio/sms",
    "https://hotline.example.org:8443/twilio/sms",
    "http://localhost:8000/twilio/status?outbox=12",
    "http://hotline.example.org/twilio/voice/step?step=menu&lang=ky",
    "HTTPS://Hotline.Example.org/twilio/sms",
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("url", URLS)
def test_the_signature_is_the_librarys(form: dict[str, str], url: str) -> None:
    assert form_signature(TOKEN, url, form) == RequestValidator(TOKEN).compute_signature(url, form)


def signatures(url: str, form: dict[str, str]) -> list[str]:
    """What a caller may send: the signature for each port form of the URL, forged ones, and garbage."""
    ours, theirs = RequestValidator(TOKEN), RequestValidator("f" * 32)
    forms = [url, url.replace(":443/", "/").replace(":8443/", "/"), url.replace(".org/", ".org:443/")]
    forms += [url.replace("localhost:8000", "localhost"), url.replace("https://", "http://")]
    good = [ours.compute_signature(u, form) for u in forms]
    forged = [theirs.compute_signature(url, form), ours.compute_signature(url, {**form, "Body": "changed"})]
    return [*good, *forged, good[0][:-1], good[0] + "=", good[0].lower(), "", "é" * 28, good[0][:-2] + "\xff="]


@pytest.mark.parametrize("form", FORMS[:4])
@pytest.mark.parametrize("url", URLS)
def test_exactly_what_validate_accepts_is_accepted(form: dict[str, str], url: str) -> None:
    for signature in signatures(url, form):
        expected = RequestValidator(TOKEN).validate(url, form, signature)
        assert signature_valid(TOKEN, url, form, signature) == expected, (url, signature)


def test_both_port_forms_are_accepted_and_a_forged_signature_is_403(client: TestClient, settings: Settings) -> None:
    signer = RequestValidator(settings.twilio_auth_token)
    for url in ("https://hotline.example.org/twilio/sms", "https://hotline.example.org:443/twilio/sms"):
        form = sms_form("HELP")
        assert post_form(client, settings, form, signature=signer.compute_signature(url, form)).status_code == 200
    form = sms_form("HELP")
    forged = RequestValidator("f" * 32).compute_signature("https://hotline.example.org/twilio/sms", form)
    response = post_form(client, settings, form, signature=forged)
    assert response.status_code == 403 and "X-Twilio-Signature" in response.json()["detail"]
