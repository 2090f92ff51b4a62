"""Reading Twilio's signed form posts safely: size, content type, encoding, then the signature."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from twilio.request_validator import RequestValidator

from hotline.config import Settings

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 200


def public_url(settings: Settings, request: Request) -> str:
    """The URL Twilio signed: our configured public base, not the URL the proxy forwarded to."""
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{settings.public_url.rstrip('/')}{request.url.path}{query}"


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body (a signature covers its exact bytes); 413 past `limit`, before more is read."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdecimal()):
            raise HTTPException(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise HTTPException(413, f"Request body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"Request body over {limit} bytes")
    return bytes(body)


async def read_signed_form(request: Request, settings: Settings) -> dict[str, str]:
    """The form fields of a genuine Twilio request; 4xx for anything else, before anything is stored."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise HTTPException(415, f"Expected {FORM_TYPE}, as Twilio sends")
    raw = await read_limited(request, settings.max_request_bytes)
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError as exc:
        raise HTTPException(400, "Form is not valid UTF-8") from exc
    except ValueError as exc:
        raise HTTPException(400, f"Form has more than {MAX_FIELDS} fields") from exc
    form = dict(pairs)
    signature = request.headers.get("x-twilio-signature", "")
    if not signature or not settings.twilio_auth_token:
        raise HTTPException(403, "Missing X-Twilio-Signature")
    if not RequestValidator(settings.twilio_auth_token).validate(public_url(settings, request), form, signature):
        raise HTTPException(403, "Invalid X-Twilio-Signature (is HOTLINE_PUBLIC_URL the URL Twilio calls?)")
    return form


def twilio_sid(value: str | None) -> str | None:
    """A Twilio resource id (CA…, SM…, RE…: ASCII letters and digits) from a form field or our own URL; None for
    anything else, which is then never looked up, stored, logged or put in a URL."""
    sid = (value or "").strip()
    return sid if sid and len(sid) <= 64 and sid.isascii() and sid.isalnum() else None


def sign(settings: Settings, url: str, form: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for `form` posted to `url` (for the CLI and simulator)."""
    signature: str = RequestValidator(settings.twilio_auth_token).compute_signature(url, form)
    return signature
