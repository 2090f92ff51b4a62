"""The ceiling for the webhook benchmark: a bare FastAPI endpoint with the same signature check, constant TwiML."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from hotline.config import get_settings
from hotline.webhooks import read_signed_form

CONSTANT_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>OK</Message></Response>'


def create_baseline_app() -> FastAPI:
    """One route: verify X-Twilio-Signature exactly as the real webhook does, answer a constant reply."""
    settings = get_settings()
    app = FastAPI()

    @app.post("/twilio/sms")
    async def sms(request: Request) -> Response:
        await read_signed_form(request, settings)
        return Response(CONSTANT_TWIML, media_type="text/xml")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
