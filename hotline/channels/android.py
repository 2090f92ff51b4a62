"""The SMS Gateway for Android channel (capcom6/android-sms-gateway): a phone with a local SIM, for a pilot. The app
posts each SMS a family sends, and its reports on ours, to a signed webhook; we send through its HTTP API with the
real client library, giving each message our outbox id, which the app's reports carry back.

A webhook's answer cannot carry an SMS, so every reply goes through the outbox, on the channel the family used.
Webhooks are authenticated by the app's signature (HMAC-SHA256 with the signing key over the raw body and its
X-Timestamp) and refused when the timestamp is more than five minutes away from our clock (replays)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from android_sms_gateway import APIClient, Message, TextMessage
from android_sms_gateway.errors import APIError
from android_sms_gateway.http import HttpxHttpClient
from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from hotline.channels.base import FastAnswer, InboundHandler, answer, apply_report, queue_in_thread
from hotline.config import Settings
from hotline.context import ContextDep
from hotline.db import SessionDep
from hotline.dialogue.inbound import Inbound
from hotline.messaging.sender import LookupFailed, Outgoing, SendResult
from hotline.models import OutboundStatus, utcnow
from hotline.webhooks import read_limited

log = logging.getLogger(__name__)
NAME = "android"
WEBHOOK_PATH = "/android/webhook"
SIGNATURE_HEADER = "x-signature"
TIMESTAMP_HEADER = "x-timestamp"
MAX_SKEW_SECONDS = 300  # a webhook signed longer ago (or later) than this is a replay, or a clock to fix
MAX_ID_LENGTH = 64
MAX_ERROR_CODE = 16  # OutboundMessage.last_error_code and DeliveryReport.error_code

# The app's reports on our messages (sms:delivered comes once per SMS part: repeats change nothing).
STATUSES: dict[str, OutboundStatus] = {
    "sms:sent": OutboundStatus.SENT,
    "sms:delivered": OutboundStatus.DELIVERED,
    "sms:failed": OutboundStatus.FAILED,
}
RECEIVED = "sms:received"
# Android's SmsManager results come as RESULT_ERROR_NO_SERVICE and the like: the part after the prefix fits the code.
_RESULT_PREFIX = "RESULT_ERROR_"


def signature(signing_key: str, body: bytes, timestamp: str) -> str:
    """The app's X-Signature: lowercase hex HMAC-SHA256, keyed with the signing key, of the body then the timestamp."""
    return hmac.new(signing_key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def check_signature(headers: Mapping[str, str], body: bytes, signing_key: str, now: float) -> None:
    """403 unless the webhook is signed with our key and was signed within five minutes of `now`."""
    given = headers.get(SIGNATURE_HEADER, "").strip().lower()
    stamp = headers.get(TIMESTAMP_HEADER, "").strip()
    # isascii and isdecimal: int() refuses digits like "²" that isdigit accepts; the length keeps int() small.
    fresh = stamp.isascii() and stamp.isdecimal() and len(stamp) <= 12 and abs(now - int(stamp)) <= MAX_SKEW_SECONDS
    # Bytes, not str: compare_digest raises on a non-ASCII str, and a header may hold anything.
    genuine = (
        bool(signing_key and given)
        and fresh
        and hmac.compare_digest(signature(signing_key, body, stamp).encode(), given.encode())
    )
    if not genuine:
        # One answer for every failure: a caller learns nothing about which check failed.
        raise HTTPException(403, "Not a webhook signed by this hotline's Android gateway (or signed too long ago)")


def parse_event(body: bytes) -> tuple[str, dict[str, Any]]:
    """The event name and its payload from the app's envelope {"id", "webhookId", "event", "deviceId", "payload"}."""
    try:
        envelope = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than Python's
        raise HTTPException(400, "Body is not JSON") from exc
    if not isinstance(envelope, dict):
        raise HTTPException(400, "Body is not a webhook event")
    event, payload = envelope.get("event"), envelope.get("payload")
    if not isinstance(event, str) or not event:
        raise HTTPException(400, "Missing field event")
    if not isinstance(payload, dict):
        raise HTTPException(400, "Missing field payload")
    return event, payload


def text_field(payload: dict[str, Any], name: str) -> str | None:
    """A string field of the payload; 400 naming it when it is there but not a string."""
    value = payload.get(name)
    if value is None or isinstance(value, str):
        return value
    raise HTTPException(400, f"Field {name} is not a string")


def message_id_of(payload: dict[str, Any]) -> str:
    """The app's messageId (ours, for reports on what we sent); 400 when missing or not an id."""
    value = (text_field(payload, "messageId") or "").strip()
    if not value:
        raise HTTPException(400, "Missing field messageId")
    # Printable ASCII only: the id is stored, looked up and logged.
    if len(value) > MAX_ID_LENGTH or not (value.isascii() and value.isprintable()):
        raise HTTPException(400, "messageId is not an Android gateway message id")
    return value


def inbound_from_payload(payload: dict[str, Any], settings: Settings, now: datetime) -> Inbound:
    """The SMS in an sms:received payload; 400 naming the field that is missing or malformed."""
    message_id = message_id_of(payload)
    # phoneNumber is the app's older name for the sender: still sent, and the only one in older versions.
    sender = (text_field(payload, "phoneNumber") or text_field(payload, "sender") or "").strip()
    if not sender:
        raise HTTPException(400, "Missing field phoneNumber or sender")
    text = text_field(payload, "message")
    if text is None:
        raise HTTPException(400, "Missing field message")
    receiver = (text_field(payload, "recipient") or "").strip() or settings.public_number
    return Inbound(NAME, message_id, sender, receiver, text, now)


def failure_code(reason: object) -> str:
    """A short error code from sms:failed's reason ("RESULT_ERROR_NO_SERVICE" becomes "NO_SERVICE")."""
    text = reason.strip() if isinstance(reason, str) else ""
    text = text.removeprefix(_RESULT_PREFIX).replace(" ", "_")
    code = "".join(ch for ch in text if ch.isascii() and (ch.isalnum() or ch == "_"))[:MAX_ERROR_CODE]
    return code or "failed"


def _event_name(event: str) -> str:
    # Only the characters of event names reach the log: it is the app's text, whatever it holds.
    return "".join(ch for ch in event[:32] if ch.isascii() and (ch.isalnum() or ch in ":-_")) or "?"


def routes(handle: InboundHandler, fast: FastAnswer | None = None) -> APIRouter:
    """POST /android/webhook: the app's signed webhooks (an SMS a family sent, reports on ours)."""
    router = APIRouter()

    @router.post(WEBHOOK_PATH, status_code=204)
    async def webhook(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
        """Receive one webhook from the gateway app: store and answer an SMS, or record a report."""
        body = await read_limited(request, ctx.settings.max_request_bytes)
        check_signature(request.headers, body, ctx.settings.android_signing_key, time.time())
        if NAME not in ctx.settings.channel_list:
            raise HTTPException(404, "The Android channel is not in HOTLINE_CHANNELS")
        event, payload = parse_event(body)
        if event == RECEIVED:
            inbound = inbound_from_payload(payload, ctx.settings, utcnow())
            # The answer (fast path or engine), then every text of it queued: once, a repeated id queues nothing.
            engine = request.app.state.engine
            handled = await answer(engine, handle, fast, ctx, inbound)
            await run_in_threadpool(queue_in_thread, engine, ctx, inbound, handled)
            return Response(status_code=204)
        status = STATUSES.get(event)
        if status is None:
            # system:ping, sms:cancelled, mms:*, app:started...: nothing for us; 2xx, or the app retries it.
            log.info("android webhook %s ignored", _event_name(event))
            return Response(status_code=204)
        message_id = message_id_of(payload)
        error = failure_code(payload.get("reason")) if status == OutboundStatus.FAILED else None
        await run_in_threadpool(apply_report, session, NAME, message_id, status, error)
        return Response(status_code=204)

    return router


def _detail(exc: APIError) -> str:
    body = exc.response if isinstance(exc.response, dict) else {}
    message = body.get("message")
    return str(message) if isinstance(message, str) and message else str(exc)


def classify(exc: APIError) -> SendResult:
    """Sort the app's refusal: 401 (wrong credentials) and other 4xx are final, 429 and 5xx are retried."""
    status = int(exc.status_code or 0)
    if status == 401:
        error = "the gateway app refused HOTLINE_ANDROID_USERNAME and HOTLINE_ANDROID_PASSWORD"
    else:
        error = f"the gateway app answered {status}: {_detail(exc)}"
    temporary = status == 429 or status >= 500 or status == 0
    return SendResult(error_code=f"http{status}", error=error[:255], temporary=temporary)


class AndroidSender:
    """Sends through the gateway app's HTTP API with the real client (android-sms-gateway), our outbox id as the
    message id: the app refuses a second message with the same id, so a resend never reaches the family twice."""

    name = NAME

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        # One client for the dispatcher's send threads: APIClient keeps only its URL and headers, and httpx.Client
        # may be shared between threads (its documentation says so).
        self.client = APIClient(
            settings.android_username,
            settings.android_password,
            base_url=settings.android_url,
            http=HttpxHttpClient(httpx.Client(timeout=timeout)),
        )

    def send(self, sms: Outgoing) -> SendResult:
        """Hand the SMS to the phone; errors come back as a SendResult, never as an exception."""
        message = Message(
            phone_numbers=[sms.to],
            text_message=TextMessage(text=sms.body),
            id=str(sms.outbox_id),
            with_delivery_report=True,
            # Like Twilio's validity period: a phone that was offline for hours drops the text, never sends it late.
            ttl=self.settings.validity_period_seconds,
        )
        try:
            self.client.send(message)
        except APIError as exc:
            if exc.status_code == 409:
                return SendResult(provider_sid=str(sms.outbox_id))  # an earlier attempt reached the phone
            return classify(exc)
        except httpx.HTTPError as exc:
            # No answer (unreachable, timed out): the phone may have the message, so the retry looks it up first.
            return SendResult(error_code="network", error=type(exc).__name__, temporary=True)
        except (ValueError, KeyError, TypeError) as exc:
            # A 2xx that is not the app's answer (a captive portal's page): whether it went out is unknown.
            return SendResult(error_code="network", error=f"unreadable answer ({type(exc).__name__})", temporary=True)
        return SendResult(provider_sid=str(sms.outbox_id))

    def own_reference(self, outbox_id: int) -> str | None:
        """The app's reports carry the id we gave the message: our outbox id."""
        return str(outbox_id)

    def find_sent(self, sms: Outgoing, since: datetime) -> str | None:
        """Ask the phone for the message by our id before resending one whose result was never recorded."""
        try:
            self.client.get_state(str(sms.outbox_id))
        except APIError as exc:
            if exc.status_code == 404:
                return None
            raise LookupFailed(f"the gateway app answered {exc.status_code}") from exc
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise LookupFailed(type(exc).__name__) from exc
        return str(sms.outbox_id)
