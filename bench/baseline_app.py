"""The ceiling for the webhook benchmark: a bare FastAPI endpoint that checks the signature as the webhook must (form
content type, body, UTF-8 form, X-Twilio-Signature by Twilio's validator) and answers a constant TwiML reply.

It uses Twilio's library directly, not the hotline's request code, so the ceiling stays the same yardstick while the
hot path changes. Served by `hotline serve` itself (bench/serve.py), with the production logging configuration;
it has no request-log middleware of its own."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import FastAPI, HTTPException, Request, Response
from twilio.request_validator import RequestValidator

from hotline.config import Settings

CONSTANT_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>OK</Message></Response>'
FORM_TYPE = "application/x-www-form-urlencoded"
CEILING = "ceiling"  # /healthz says which app answers: bench.webhook checks it is not measuring the real one


def create_baseline_app() -> FastAPI:
    """One route: verify X-Twilio-Signature, answer a constant reply."""
    settings = Settings()
    validator = RequestValidator(settings.twilio_auth_token)
    url = f"{settings.public_url.rstrip('/')}/twilio/sms"
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/twilio/sms")
    async def sms(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
            raise HTTPException(415)
        raw = await request.body()
        if len(raw) > settings.max_request_bytes:
            raise HTTPException(413)
        try:
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=200))
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPException(400) from exc
        if not validator.validate(url, form, request.headers.get("x-twilio-signature", "")):
            raise HTTPException(403)
        return Response(CONSTANT_TWIML, media_type="text/xml")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "app": CEILING}

    return app
