"""A small local "SMS Gateway for Android" (capcom6/android-sms-gateway): the app's Local Server HTTP API and the
signed webhooks the app sends, built from its source and docs.

Sources (capcom6/android-sms-gateway @ 0cdc5d86, android-sms-gateway/docs-web @ af975373):
- routes, Basic auth, status codes: app/src/main/java/me/capcom/smsgateway/modules/localserver/WebService.kt,
  .../localserver/routes/MessagesRoutes.kt, .../localserver/routes/WebhooksRoutes.kt
- request and response JSON: .../localserver/domain/messages/PostMessageRequest.kt, .../messages/Message.kt,
  app/src/main/assets/api/swagger.json, docs/features/sending-messages.md
- webhook envelope and payloads: .../modules/webhooks/domain/WebHookEventDTO.kt, .../webhooks/EventsReceiver.kt,
  .../webhooks/payload/SmsEventPayload.kt, .../webhooks/payload/MessageEventPayload.kt, docs/features/webhooks.md
- signature: .../modules/webhooks/plugins/PayloadSingingPlugin.kt (X-Signature = hex HMAC-SHA256 of the body text
  followed by X-Timestamp, Unix seconds), key from .../webhooks/WebhooksSettings.kt
- JSON as Gson writes it (nulls left out, HTML characters escaped, dates "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" in the
  phone's zone): app/src/main/java/me/capcom/smsgateway/extensions/GsonBuilder.kt

The real python client (PyPI android-sms-gateway 4.x, APIClient(login, password, base_url=fake.url)) talks to it:
it POSTs {base_url}/messages. Paths are also served under /3rdparty/v1 (the cloud server's prefix)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

from hotline.segments import count_segments
from tests.fake_twilio import OutageServer, take_failure

APP_VERSION = "1.50.0"  # what the fake reports as the app's version (User-Agent, /health)
USER_AGENT = f"me.capcom.smsgateway/{APP_VERSION}"
SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
REALM = "Access to SMS Gateway"
CLOUD_PREFIX = "/3rdparty/v1"
WEBHOOK_EVENTS = (
    "sms:received",
    "sms:sent",
    "sms:delivered",
    "sms:failed",
    "system:ping",
    "sms:data-received",
    "mms:received",
    "mms:downloaded",
    "app:started",
    "sms:cancelled",
)
BISHKEK = timezone(timedelta(hours=6))  # the pilot phone's zone; payload dates carry the phone's offset
_NANOID_ALPHABET = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Gson's default HTML-safe escaping (GsonBuilder.disableHtmlEscaping() is not called by the app).
_GSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "=": "\\u003d",
    "'": "\\u0027",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}

Outcome = Literal["sent", "delivered", "failed"]


def nanoid(size: int = 21) -> str:
    """A NanoId like the app's ids (message, webhook event, webhook, device)."""
    return "".join(secrets.choice(_NANOID_ALPHABET) for _ in range(size))


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def gson_json(value: Any) -> bytes:
    """Serialise as the app's Gson does: compact, null fields left out, HTML characters escaped, UTF-8."""
    text = json.dumps(_drop_nulls(value), ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _GSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return text.encode()


def gson_date(moment: datetime | None = None, zone: tzinfo = BISHKEK) -> str:
    """A date as the app writes it: yyyy-MM-dd'T'HH:mm:ss.SSSXXX in the phone's zone ("Z" at UTC)."""
    local = (moment or datetime.now(UTC)).astimezone(zone)
    offset = local.strftime("%z")
    xxx = "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + xxx


def webhook_signature(signing_key: str, body: bytes, timestamp: str) -> str:
    """The app's X-Signature: lowercase hex HMAC-SHA256, keyed with the signing key, of body text + timestamp."""
    return hmac.new(signing_key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def signed_webhook(
    event: str,
    payload: dict[str, Any],
    signing_key: str,
    timestamp: int | str | None = None,
    *,
    device_id: str | None = None,
    webhook_id: str | None = None,
    event_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of one webhook POST exactly as the app sends it (WebHookEventDTO, signed)."""
    envelope = {
        "id": event_id or nanoid(),
        "webhookId": webhook_id or nanoid(),
        "event": event,
        "deviceId": device_id or nanoid(),
        "payload": payload,
    }
    body = gson_json(envelope)
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: webhook_signature(signing_key, body, stamp),
    }
    return body, headers


def _message_event(
    message_id: str, sender: str | None, recipient: str | None, sim_number: int | None, phone_number: str
) -> dict[str, Any]:
    # MessageEventPayload: phoneNumber is deprecated but still sent (recipient for outgoing, sender for incoming).
    return {
        "messageId": message_id,
        "sender": sender,
        "recipient": recipient,
        "simNumber": sim_number,
        "phoneNumber": phone_number,
    }


def sms_sent_payload(
    message_id: str,
    recipient: str,
    *,
    sender: str | None = None,
    sim_number: int | None = None,
    parts_count: int = 1,
    at: datetime | None = None,
    zone: tzinfo = BISHKEK,
) -> dict[str, Any]:
    """Payload of sms:sent (one per recipient, once all parts are sent)."""
    return _message_event(message_id, sender, recipient, sim_number, recipient) | {
        "partsCount": parts_count,
        "sentAt": gson_date(at, zone),
    }


def sms_delivered_payload(
    message_id: str,
    recipient: str,
    *,
    sender: str | None = None,
    sim_number: int | None = None,
    at: datetime | None = None,
    zone: tzinfo = BISHKEK,
) -> dict[str, Any]:
    """Payload of sms:delivered (the app sends one per delivered part)."""
    return _message_event(message_id, sender, recipient, sim_number, recipient) | {"deliveredAt": gson_date(at, zone)}


def sms_failed_payload(
    message_id: str,
    recipient: str,
    reason: str,
    *,
    sender: str | None = None,
    sim_number: int | None = None,
    at: datetime | None = None,
    zone: tzinfo = BISHKEK,
) -> dict[str, Any]:
    """Payload of sms:failed."""
    return _message_event(message_id, sender, recipient, sim_number, recipient) | {
        "failedAt": gson_date(at, zone),
        "reason": reason,
    }


def sms_received_payload(
    message_id: str,
    sender: str,
    message: str,
    *,
    recipient: str | None = None,
    sim_number: int | None = None,
    at: datetime | None = None,
    zone: tzinfo = BISHKEK,
) -> dict[str, Any]:
    """Payload of sms:received (incoming SMS; multipart texts arrive assembled)."""
    return _message_event(message_id, sender, recipient, sim_number, sender) | {
        "message": message,
        "receivedAt": gson_date(at, zone),
    }


@dataclass
class WebhookCall:
    """One webhook request the app would POST: its event, target URL (if registered), raw body and headers."""

    event: str
    url: str | None
    body: bytes
    headers: dict[str, str]
    signing_key: str

    @property
    def json(self) -> dict[str, Any]:
        """The body parsed."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    def retry(self, timestamp: int | str | None = None) -> WebhookCall:
        """The same event sent again: the app keeps the body (same id) and signs it with a fresh timestamp."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        headers = dict(self.headers)
        headers[TIMESTAMP_HEADER] = stamp
        headers[SIGNATURE_HEADER] = webhook_signature(self.signing_key, self.body, stamp)
        return WebhookCall(self.event, self.url, self.body, headers, self.signing_key)


def post_webhook(call: WebhookCall, url: str | None = None, timeout: float = 30.0) -> int:
    """POST a webhook to a live server as the app would; returns the HTTP status (the app retries unless 2xx)."""
    target = url or call.url
    if target is None:
        raise ValueError(f"no webhook registered for {call.event} and no url given")
    request = urllib.request.Request(target, data=call.body, headers=call.headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


@dataclass
class SentMessage:
    """A message the fake accepted, with the options it was sent with and its current state."""

    id: str
    text: str | None
    data_message: dict[str, Any] | None
    phone_numbers: list[str]
    sim_number: int | None
    with_delivery_report: bool
    is_encrypted: bool
    priority: int
    ttl: int | None
    valid_until: str | None
    schedule_at: str | None
    device_id: str | None
    skip_phone_validation: bool
    path: str  # the path it was POSTed to, query included
    body: dict[str, Any]  # the request JSON as received
    created_at: datetime
    state: str = "Pending"
    recipient_states: dict[str, str] = field(default_factory=dict)
    recipient_errors: dict[str, str] = field(default_factory=dict)
    states: dict[str, datetime] = field(default_factory=dict)

    @property
    def parts_count(self) -> int:
        """How many SMS parts the text takes (GSM-7 160/153, UCS-2 70/67)."""
        return count_segments(self.text).segments if self.text else 1


@dataclass
class Failure:
    """How to answer the next requests instead of serving them."""

    status: int
    message: str
    remaining: int  # -1: until recover()


class _Server(OutageServer):
    """Going down cuts kept-alive connections too, as a phone leaving Wi-Fi would."""

    daemon_threads = True


class FakeAndroid:
    """The fake phone: its credentials, accepted messages, registered webhooks, and scripted failures."""

    def __init__(
        self,
        username: str = "sms",
        password: str = "fake-pass",
        *,
        device_id: str | None = None,
        signing_key: str | None = None,
        phone_number: str | None = None,
        sim_number: int | None = 1,
        zone: tzinfo = BISHKEK,
        allow_http_webhooks: bool = False,
    ) -> None:
        self.username = username
        self.password = password
        self.device_id = device_id or nanoid()
        self.signing_key = signing_key or nanoid(8)  # the app makes an 8-character NanoId on first use
        self.phone_number = phone_number  # the SIM's own number: webhook "sender" (left out when unknown)
        self.sim_number = sim_number
        self.zone = zone
        self.allow_http_webhooks = allow_http_webhooks  # the "insecure" build; release builds want https or 127.0.0.1
        self.messages: list[SentMessage] = []
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.failures: list[Failure] = []
        self.delay_seconds = 0.0
        self.lock = threading.Lock()
        self.port = 0
        self.url = ""
        self._server: _Server | None = None

    # --- server life ---

    def start(self) -> None:
        """Listen (again) on the fake's port."""
        handler = type("Handler", (_Handler,), {"fake": self})
        server = _Server(("127.0.0.1", self.port), handler)
        self.port = server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def go_down(self) -> None:
        """Become unreachable: connections are refused (and open ones cut) until come_up()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.cut()
            self._server.server_close()
            self._server = None

    def come_up(self) -> None:
        """Be reachable again on the same URL, with the state kept."""
        if self._server is None:
            self.start()

    # --- scripting ---

    def fail_with(self, status: int, times: int = -1, message: str = "scripted failure") -> None:
        """Answer the next `times` requests (-1: all until recover()) with this HTTP status, e.g. 500 or 401."""
        with self.lock:
            self.failures.append(Failure(status, message, times))

    def recover(self) -> None:
        """Stop failing and be reachable."""
        with self.lock:
            self.failures.clear()
        self.come_up()

    def next_failure(self) -> Failure | None:
        """The scripted failure for this request, if any (used by the handler)."""
        with self.lock:
            return take_failure(self.failures)

    # --- reading what was sent ---

    def message(self, message_id: str) -> SentMessage:
        """The accepted message with this id (KeyError if none)."""
        with self.lock:
            for sent in self.messages:
                if sent.id == message_id:
                    return sent
        raise KeyError(message_id)

    def sent_to(self, phone: str) -> list[SentMessage]:
        """Accepted messages that include this recipient."""
        with self.lock:
            return [m for m in self.messages if phone in m.phone_numbers]

    def message_json(self, sent: SentMessage, include_content: bool = True) -> dict[str, Any]:
        """The message as the app's API shows it (localserver.domain.messages.Message)."""
        return {
            "id": sent.id,
            "deviceId": self.device_id,
            "state": sent.state,
            "isHashed": False,
            "isEncrypted": sent.is_encrypted,
            "scheduleAt": sent.schedule_at,
            "textMessage": {"text": sent.text} if include_content and sent.text is not None else None,
            "dataMessage": sent.data_message if include_content else None,
            "recipients": [
                {"phoneNumber": p, "state": sent.recipient_states[p], "error": sent.recipient_errors.get(p)}
                for p in sent.phone_numbers
            ],
            "states": {state: gson_date(at, self.zone) for state, at in sent.states.items()},
        }

    # --- webhooks ---

    def webhook(
        self, event: str, payload: dict[str, Any], timestamp: int | str | None = None, event_id: str | None = None
    ) -> WebhookCall:
        """One signed webhook from this phone, aimed at the URL registered for the event (if any)."""
        with self.lock:
            registered = next((w for w in self.webhooks.values() if w["event"] == event), None)
        body, headers = signed_webhook(
            event,
            payload,
            self.signing_key,
            timestamp,
            device_id=self.device_id,
            webhook_id=registered["id"] if registered else None,
            event_id=event_id,
        )
        return WebhookCall(event, registered["url"] if registered else None, body, headers, self.signing_key)

    def deliver(
        self,
        message_id: str,
        outcome: Outcome = "delivered",
        *,
        reason: str = "RESULT_ERROR_GENERIC_FAILURE",
        recipients: list[str] | None = None,
        timestamp: int | str | None = None,
    ) -> list[WebhookCall]:
        """Move a recorded message on (Sent, Delivered or Failed) and return the webhooks the app would send.

        "sent": sms:sent per recipient. "delivered": sms:sent, then sms:delivered once per part (as the app does
        for multipart texts; only with withDeliveryReport). "failed": sms:failed per recipient with `reason`."""
        sent = self.message(message_id)
        now = datetime.now(UTC)
        targets = recipients or list(sent.phone_numbers)
        state = {"sent": "Sent", "delivered": "Delivered", "failed": "Failed"}[outcome]
        if outcome == "delivered" and not sent.with_delivery_report:
            state = "Sent"
        calls: list[WebhookCall] = []
        sim = sent.sim_number or self.sim_number
        for phone in targets:
            if outcome == "failed":
                payload = sms_failed_payload(
                    sent.id, phone, reason, sender=self.phone_number, sim_number=sim, at=now, zone=self.zone
                )
                calls.append(self.webhook("sms:failed", payload, timestamp))
                continue
            payload = sms_sent_payload(
                sent.id,
                phone,
                sender=self.phone_number,
                sim_number=sim,
                parts_count=sent.parts_count,
                at=now,
                zone=self.zone,
            )
            calls.append(self.webhook("sms:sent", payload, timestamp))
            if state == "Delivered":
                for _ in range(sent.parts_count):
                    payload = sms_delivered_payload(
                        sent.id, phone, sender=self.phone_number, sim_number=sim, at=now, zone=self.zone
                    )
                    calls.append(self.webhook("sms:delivered", payload, timestamp))
        with self.lock:
            for phone in targets:
                sent.recipient_states[phone] = state
                if outcome == "failed":
                    sent.recipient_errors[phone] = reason
            sent.states.setdefault("Processed", now)
            if state == "Delivered":
                sent.states.setdefault("Sent", now)
            sent.states[state] = now
            sent.state = _overall_state(list(sent.recipient_states.values()))
        return calls

    def receive_sms(
        self, sender: str, text: str, *, timestamp: int | str | None = None, at: datetime | None = None
    ) -> WebhookCall:
        """The sms:received webhook for an incoming SMS on this phone's SIM."""
        payload = sms_received_payload(
            nanoid(), sender, text, recipient=self.phone_number, sim_number=self.sim_number, at=at, zone=self.zone
        )
        return self.webhook("sms:received", payload, timestamp)


def _overall_state(states: list[str]) -> str:
    """The message's state from its recipients' (data/entities/MessageWithRecipients.kt)."""
    for waiting in ("Pending", "Cancelling", "Cancelled", "Processed"):
        if waiting in states:
            return waiting
    if all(s == "Failed" for s in states):
        return "Failed"
    if all(s == "Delivered" for s in states):
        return "Delivered"
    return "Sent"


class _BadRequest(Exception):
    pass


def _parse_date(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise _BadRequest(f"{name} must be a date")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise _BadRequest(f"Failed to parse {name}: {value}") from error
    if parsed.tzinfo is None:  # Gson's ISO8601Utils wants an offset
        raise _BadRequest(f"Failed to parse {name}: {value} (no time zone)")
    return parsed


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAndroid
    raw_body: bytes = b""
    protocol_version = "HTTP/1.1"
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, payload: Any = None, extra: dict[str, str] | None = None) -> None:
        body = b"" if payload is None else gson_json(payload)
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _unauthorized(self) -> None:
        # Ktor's basic-auth challenge: 401, no body.
        self._send(401, None, {"WWW-Authenticate": f'Basic realm="{REALM}", charset=UTF-8'})

    def _authorised(self) -> bool:
        expected = base64.b64encode(f"{self.fake.username}:{self.fake.password}".encode()).decode()
        return hmac.compare_digest(self.headers.get("Authorization", ""), f"Basic {expected}")

    def _route(self, method: str) -> tuple[str, dict[str, str]] | None:
        """Common checks; returns the path without the cloud prefix and the query, or None once answered."""
        url = urlparse(self.path)
        path = url.path.removeprefix(CLOUD_PREFIX).rstrip("/") or "/"
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        # Read the whole body first: an early answer must not leave it in a kept-alive connection.
        self.raw_body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        with self.fake.lock:
            self.fake.requests.append((method, self.path))
        if self.fake.delay_seconds:
            time.sleep(self.fake.delay_seconds)
        if path == "/health":
            return path, query
        failure = self.fake.next_failure()
        if failure is not None:
            if failure.status == 401:
                self._unauthorized()
            else:
                self._send(failure.status, {"message": failure.message})
            return None
        if not self._authorised():
            self._unauthorized()
            return None
        return path, query

    def _read_json(self) -> Any:
        try:
            return json.loads(self.raw_body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise _BadRequest(f"Failed to convert request body: {error}") from error

    @staticmethod
    def _split(path: str, *collections: str) -> tuple[str, str | None] | None:
        for collection in collections:
            if path == collection:
                return collection, None
            if path.startswith(collection + "/") and path.count("/") == 2:
                return collection, path[len(collection) + 1 :]
        return None

    def do_GET(self) -> None:
        routed = self._route("GET")
        if routed is None:
            return
        path, query = routed
        if path == "/health":
            self._send(200, {"status": "pass", "version": APP_VERSION, "releaseId": 1, "checks": {}})
            return
        if path == "/":
            self._send(200, {"status": "ok", "model": "FakeAndroid"})
            return
        messages = self._split(path, "/message", "/messages")
        if messages is not None:
            _, message_id = messages
            if message_id is None:
                include = query.get("includeContent", "false") == "true"
                with self.fake.lock:
                    found = [m for m in self.fake.messages if not query.get("state") or m.state == query["state"]]
                found = list(reversed(found))
                offset, limit = int(query.get("offset", "0")), int(query.get("limit", "50"))
                page = [self.fake.message_json(m, include) for m in found[offset : offset + limit]]
                self._send(200, page, {"X-Total-Count": str(len(found))})
                return
            try:
                sent = self.fake.message(message_id)
            except KeyError:
                self._send(404)
                return
            self._send(200, self.fake.message_json(sent))
            return
        if self._split(path, "/webhook", "/webhooks") is not None:
            with self.fake.lock:
                listed = list(self.fake.webhooks.values())
            self._send(200, listed)
            return
        if path == "/device":
            now = gson_date(None, self.fake.zone)
            device = {"id": self.fake.device_id, "name": "Fake/Android", "createdAt": now, "updatedAt": now}
            self._send(200, [device | {"lastSeen": now}])
            return
        self._send(404)

    def do_POST(self) -> None:
        routed = self._route("POST")
        if routed is None:
            return
        path, query = routed
        try:
            if path in ("/message", "/messages"):
                self._post_message(query)
                return
            if path in ("/webhook", "/webhooks"):
                self._post_webhook()
                return
        except _BadRequest as error:
            self._send(400, {"message": str(error)})
            return
        self._send(404)

    def do_DELETE(self) -> None:
        routed = self._route("DELETE")
        if routed is None:
            return
        path, _ = routed
        messages = self._split(path, "/message", "/messages")
        if messages is not None and messages[1] is not None:
            try:
                sent = self.fake.message(messages[1])
            except KeyError:
                self._send(404)
                return
            with self.fake.lock:
                if sent.state not in ("Pending", "Cancelled"):
                    answer: tuple[int, Any] = (400, {"message": f"Message {sent.id} is not in Pending state"})
                else:
                    sent.state = "Cancelled"
                    sent.recipient_states = dict.fromkeys(sent.phone_numbers, "Cancelled")
                    sent.states.setdefault("Cancelled", datetime.now(UTC))
                    answer = (200, None)
            if answer[1] is None:
                self._send(200, self.fake.message_json(sent, include_content=False))
            else:
                self._send(*answer)
            return
        webhooks = self._split(path, "/webhook", "/webhooks")
        if webhooks is not None and webhooks[1] is not None:
            with self.fake.lock:
                self.fake.webhooks.pop(webhooks[1], None)
            self._send(204)
            return
        self._send(404)

    def _post_message(self, query: dict[str, str]) -> None:
        # PostMessageRequest.validate() and MessagesRoutes.post, in the same order.
        request = self._read_json()
        if not isinstance(request, dict):
            raise _BadRequest("Failed to convert request body to class PostMessageRequest")
        text_message, data_message, legacy = (
            request.get("textMessage"),
            request.get("dataMessage"),
            request.get("message"),
        )
        kinds = [k for k in (text_message, data_message, legacy) if k is not None]
        if not kinds:
            raise _BadRequest("Must specify exactly one of: textMessage, dataMessage, or message")
        if len(kinds) > 1:
            raise _BadRequest("Cannot specify multiple message types simultaneously")
        if legacy == "":
            raise _BadRequest("Text message is empty")
        if isinstance(data_message, dict):
            port = data_message.get("port")
            if not isinstance(port, int) or not 0 <= port <= 65535:
                raise _BadRequest("Port must be between 0 and 65535")
            if not data_message.get("data"):
                raise _BadRequest("Data message cannot be empty")
        if isinstance(text_message, dict) and text_message.get("text") == "":
            raise _BadRequest("Text message is empty")
        phone_numbers = request.get("phoneNumbers")
        if not isinstance(phone_numbers, list) or not phone_numbers:
            raise _BadRequest("Empty phone numbers list")
        sim_number = request.get("simNumber")
        if sim_number is not None and sim_number < 1:
            raise _BadRequest("SIM number cannot be less than 1")
        now = datetime.now(UTC)
        schedule_at = request.get("scheduleAt")
        if schedule_at is not None and _parse_date(schedule_at, "scheduleAt") <= now:
            raise _BadRequest("scheduleAt must be in the future")
        ttl, valid_until = request.get("ttl"), request.get("validUntil")
        if ttl is not None and valid_until is not None:
            raise _BadRequest("fields conflict: ttl and validUntil")
        if valid_until is not None and _parse_date(valid_until, "validUntil") < now:
            raise _BadRequest("message already expired")
        if ttl is not None and ttl < 0:
            raise _BadRequest("message already expired")
        device_id = request.get("deviceId")
        if device_id is not None and device_id != self.fake.device_id:
            self._send(400, {"message": "Invalid device ID"})
            return
        if isinstance(text_message, dict):
            text: str | None = str(text_message.get("text"))
        elif isinstance(legacy, str):
            text = legacy
        else:
            text = None
        sent = SentMessage(
            id=request.get("id") or nanoid(),
            text=text,
            data_message=data_message if isinstance(data_message, dict) else None,
            phone_numbers=[str(p) for p in phone_numbers],
            sim_number=sim_number,
            with_delivery_report=request.get("withDeliveryReport", True) is not False,
            is_encrypted=bool(request.get("isEncrypted") or False),
            priority=int(request.get("priority") or 0),
            ttl=ttl,
            valid_until=valid_until,
            schedule_at=schedule_at,
            device_id=device_id,
            skip_phone_validation=query.get("skipPhoneValidation") == "true",
            path=self.path,
            body=request,
            created_at=now,
            recipient_states={str(p): "Pending" for p in phone_numbers},
            states={"Pending": now},
        )
        with self.fake.lock:
            duplicate = any(m.id == sent.id for m in self.fake.messages)
            if not duplicate:
                self.fake.messages.append(sent)
        if duplicate:
            self._send(409, {"message": "Message with the same ID already exists"})
            return
        self._send(202, self.fake.message_json(sent))

    def _post_webhook(self) -> None:
        # WebhooksRoutes.post and WebHooksService.replace.
        request = self._read_json()
        if not isinstance(request, dict) or not isinstance(request.get("url"), str):
            raise _BadRequest("Failed to convert request body to class WebHookDTO")
        if request.get("deviceId") is not None and request["deviceId"] != self.fake.device_id:
            raise _BadRequest("Device ID mismatch")
        url: str = request["url"]
        parsed = urlparse(url)
        if not (
            parsed.scheme == "https"
            or (parsed.scheme == "http" and (parsed.hostname == "127.0.0.1" or self.fake.allow_http_webhooks))
        ):
            raise _BadRequest("url must start with https:// or http://127.0.0.1")
        if request.get("event") not in WEBHOOK_EVENTS:
            raise _BadRequest("Unsupported event")
        webhook = {"id": request.get("id") or nanoid(), "url": url, "event": request["event"], "source": "Local"}
        with self.fake.lock:
            self.fake.webhooks[webhook["id"]] = webhook
        self._send(201, webhook)


@contextmanager
def running_fake_android(
    username: str = "sms",
    password: str = "fake-pass",
    *,
    device_id: str | None = None,
    signing_key: str | None = None,
    phone_number: str | None = None,
    zone: tzinfo = BISHKEK,
) -> Iterator[FakeAndroid]:
    """Serve a fake SMS Gateway for Android on a free 127.0.0.1 port for the duration of the block."""
    fake = FakeAndroid(
        username, password, device_id=device_id, signing_key=signing_key, phone_number=phone_number, zone=zone
    )
    fake.start()
    try:
        yield fake
    finally:
        fake.go_down()


def main() -> None:
    """Run the fake alone: python -m tests.fake_android PORT USERNAME PASSWORD [SIGNING_KEY]."""
    import sys

    fake = FakeAndroid(sys.argv[2], sys.argv[3], signing_key=sys.argv[4] if len(sys.argv) > 4 else None)
    fake.port = int(sys.argv[1])
    fake.start()
    print(f"fake android on {fake.url}, device {fake.device_id}, signing key {fake.signing_key}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
