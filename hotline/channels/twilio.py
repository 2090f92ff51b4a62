"""The Twilio channel: its signed SMS webhook answered with TwiML, its delivery-status callbacks, and sending (SMS,
and calls for the voice line) through the real twilio client pointed at any base URL (the fake in tests)."""

from __future__ import annotations

import base64
import codecs
import logging
import re
import unicodedata
from datetime import datetime

import requests
from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from hotline.channels.base import FastAnswer, InboundHandler, answer, apply_report
from hotline.config import Settings
from hotline.context import Context, ContextDep
from hotline.db import SessionDep
from hotline.dialogue.inbound import Inbound
from hotline.messaging.optout import twilio_action
from hotline.messaging.sender import DeleteFailed, LookupFailed, Outgoing, SendResult
from hotline.models import OutboundStatus, utcnow
from hotline.webhooks import read_signed_form, twilio_sid

log = logging.getLogger(__name__)
NAME = "twilio"
TWILIO_API = "https://api.twilio.com"
STATUS_PATH = "/twilio/status"

# Twilio error codes (TWILIO.md): the phone said STOP; will never succeed; worth trying again later.
OPTED_OUT = {21610}
PERMANENT = {21211, 21612, 21614, 30005, 30006, 30007, 30008}
TEMPORARY = {20429, 21611, 30001, 30003, 30017, 30022}
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
CALLBACK_RING_SECONDS = 30  # how long a callback rings before Twilio gives up (no-answer)

# The client's own logger writes query strings (phone numbers) at INFO: ours keeps only warnings.
_quiet_http_log = logging.getLogger("hotline.twilio_http")
_quiet_http_log.setLevel(logging.WARNING)

# Twilio's message and call statuses mapped to ours (a report only ever moves a message forward).
STATUSES: dict[str, OutboundStatus] = {
    "accepted": OutboundStatus.SENDING,
    "scheduled": OutboundStatus.SENDING,
    "queued": OutboundStatus.SENDING,
    "sending": OutboundStatus.SENDING,
    "sent": OutboundStatus.SENT,
    "delivered": OutboundStatus.DELIVERED,
    "read": OutboundStatus.DELIVERED,
    "undelivered": OutboundStatus.UNDELIVERED,
    "failed": OutboundStatus.FAILED,
    "canceled": OutboundStatus.CANCELLED,
    # Calls (callbacks): answered and ended is delivered; nobody picked up is undelivered.
    "initiated": OutboundStatus.SENDING,
    "ringing": OutboundStatus.SENDING,
    "in-progress": OutboundStatus.SENT,
    "completed": OutboundStatus.DELIVERED,
    "busy": OutboundStatus.UNDELIVERED,
    "no-answer": OutboundStatus.UNDELIVERED,
}


TWIML_START = '<?xml version="1.0" encoding="UTF-8"?><Response>'


def _message(text: str) -> str:
    # ElementTree's escaping of text, as twilio's MessagingResponse writes it (quotes stay as they are).
    if not text:
        return "<Message />"
    return "<Message>" + text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</Message>"


def twiml(replies: list[str]) -> Response:
    """TwiML with one <Message> per reply; an empty <Response /> sends nothing. Byte for byte what twilio's
    MessagingResponse writes (tests/channels/test_twiml.py), in a tenth of its time (4 µs, not 48)."""
    xml = (TWIML_START + "".join(map(_message, replies)) + "</Response>") if replies else TWIML_START[:-1] + " />"
    # ElementTree writes a character UTF-8 cannot hold (a lone surrogate) as a character reference.
    return Response(xml.encode("utf-8", "xmlcharrefreplace"), media_type="text/xml")


def check_account(settings: Settings, form: dict[str, str]) -> None:
    """403 unless the request names our Twilio account (HOTLINE_TWILIO_ACCOUNT_SID). A valid signature proves the
    auth token, not the account: another project or sub-account holding the same token must not report or write
    into this hotline. Twilio sends AccountSid with every webhook and callback."""
    ours = settings.twilio_account_sid
    if not ours:
        if settings.development:
            return  # the simulator posts as an account of its own when none is set
        log.warning("Twilio request refused: set HOTLINE_TWILIO_ACCOUNT_SID to the account that owns the number")
        raise HTTPException(403, "HOTLINE_TWILIO_ACCOUNT_SID is not set: Twilio's requests cannot be checked")
    if form.get("AccountSid", "") != ours:
        log.warning("Twilio request for another account refused (is HOTLINE_TWILIO_ACCOUNT_SID this number's?)")
        raise HTTPException(403, "AccountSid is not this hotline's Twilio account")


async def read_twilio_form(request: Request, settings: Settings) -> dict[str, str]:
    """The form of a genuine request from our Twilio account: signed (hotline.webhooks) and naming our AccountSid;
    4xx otherwise, before anything is read from it or stored."""
    form = await read_signed_form(request, settings)
    check_account(settings, form)
    return form


def decode_possible_base64(body: str) -> str:
    """The text of a body Twilio sent base64-encoded (it sometimes does with a long concatenated SMS); any other body
    unchanged. The rule is RapidPro courier's (handlers/utils.go DecodePossibleBase64, called by its Twilio handler
    handlers/twiml/handlers.go): line breaks removed, at least 60 characters, a multiple of 4, strict base64, and
    an incomplete last character (Twilio cuts mid-character) dropped. One change: courier keeps the decoding when
    half its characters are ASCII, which refuses every Kyrgyz or Russian text; we keep it when it is valid UTF-8
    and readable (at least 90% neither controls nor unassigned), which random base64-shaped text never is."""
    stripped = body.replace("\r", "").replace("\n", "").strip()
    if len(stripped) < 60 or len(stripped) % 4 or not _BASE64.fullmatch(stripped):
        return body
    data = base64.b64decode(stripped)
    if base64.b64encode(data).decode() != stripped:  # strict, as courier's: no stray padding bits
        return body
    try:  # final=False keeps an incomplete last character back instead of failing on it
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return body
    readable = sum(ch in "\n\r\t" or unicodedata.category(ch) not in ("Cc", "Cn", "Co", "Cs") for ch in text)
    return text if text and readable >= 0.9 * len(text) else body


def inbound_from_form(form: dict[str, str]) -> Inbound:
    """The webhook fields we need; 400 naming the field when one is missing or malformed."""
    for name in ("MessageSid", "From", "To"):
        if not form.get(name, "").strip():
            raise HTTPException(400, f"Missing field {name}")
    sid = twilio_sid(form["MessageSid"])
    if sid is None:  # ASCII letters and digits only, as Twilio's ids are (isalnum alone takes "ЅМ١٢")
        raise HTTPException(400, "MessageSid is not a Twilio message id")
    body = decode_possible_base64(form.get("Body", ""))
    action = twilio_action(body, form.get("OptOutType"))
    return Inbound(NAME, sid, form["From"], form["To"], body, utcnow(), action.value if action else None)


def status_callback_url(settings: Settings, outbox_id: int) -> str:
    """Where Twilio reports on one outbox message: our id in the URL, so the report finds its message even before
    the create call has answered. Twilio signs the whole URL, query included, so the id cannot be forged."""
    return f"{settings.public_url.rstrip('/')}{STATUS_PATH}?outbox={outbox_id}"


def outbox_id_of(request: Request) -> int | None:
    """Our outbox id from a status callback's URL (None for a callback of a message sent before it was added)."""
    raw = request.query_params.get("outbox", "")
    return int(raw) if raw.isascii() and raw.isdecimal() and len(raw) <= 18 else None


def routes(handle: InboundHandler, fast: FastAnswer | None = None) -> APIRouter:
    """POST /twilio/sms (a family's SMS, answered in TwiML) and POST /twilio/status (delivery reports)."""
    router = APIRouter()

    @router.post("/twilio/sms")
    async def inbound_sms(request: Request) -> Response:
        """Receive one SMS from Twilio and answer it: the usual SMS on the fast path, the rest by the engine."""
        ctx: Context = request.app.state.ctx  # the context without a dependency to solve on the hot path
        form = await read_twilio_form(request, ctx.settings)
        handled = await answer(request.app.state.engine, handle, fast, ctx, inbound_from_form(form))
        return twiml(handled.replies)

    @router.post(STATUS_PATH, status_code=204)
    async def delivery_status(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
        """Record a delivery status; one for a message whose send is not recorded yet is kept and applied then."""
        form = await read_twilio_form(request, ctx.settings)
        raw_sid, status = form.get("MessageSid", "").strip(), form.get("MessageStatus", "").strip()
        if not raw_sid or not status:
            raise HTTPException(400, "Missing field MessageSid or MessageStatus")
        sid = twilio_sid(raw_sid)
        if sid is None:  # only a Twilio id is looked up and logged: anything else is a forged or broken request
            raise HTTPException(400, "MessageSid is not a Twilio message id")
        mapped = STATUSES.get(status.lower())
        if mapped is None:
            log.warning("status callback %s: unknown status %s ignored", sid, status[:32])
            return Response(status_code=204)
        error = form.get("ErrorCode", "").strip()
        code = error if error.isalnum() else None
        await run_in_threadpool(apply_report, session, NAME, sid, mapped, code, outbox_id_of(request))
        return Response(status_code=204)

    return router


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The twilio library's HTTP client, pointed at another base URL (a gateway, or the fake in tests)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout, logger=_quiet_http_log)
        self.base_url = base_url.rstrip("/")

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        """Send the library's request to our base URL instead of api.twilio.com."""
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, params, data, headers, auth, timeout, allow_redirects)


def classify(exc: TwilioRestException) -> SendResult:
    """Sort a provider error into opted out, permanent or temporary (429 and 5xx are always temporary)."""
    code = int(exc.code) if exc.code else None
    text = str(exc.msg)[:255]
    if code in OPTED_OUT:
        return SendResult(error_code=str(code), error=text, opted_out=True)
    temporary = exc.status == 429 or exc.status >= 500 or code in TEMPORARY
    if code in PERMANENT:
        temporary = False
    return SendResult(error_code=str(code or exc.status), error=text, temporary=temporary)


class TwilioSender:
    """Sends through the real twilio.rest.Client."""

    name = NAME

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=BaseUrlHttpClient(settings.twilio_api_url, timeout),
        )

    def send(self, sms: Outgoing) -> SendResult:
        """Create the message; errors come back as a SendResult, never as an exception."""
        sender = (
            {"messaging_service_sid": self.settings.twilio_messaging_service_sid}
            if self.settings.twilio_messaging_service_sid
            else {"from_": self.settings.twilio_from_number}
        )
        try:
            message = self.client.messages.create(
                to=sms.to,
                body=sms.body,
                status_callback=status_callback_url(self.settings, sms.outbox_id),
                validity_period=self.settings.validity_period_seconds,
                **sender,
            )
        except TwilioRestException as exc:
            return classify(exc)
        except (requests.RequestException, OSError) as exc:
            return SendResult(error_code="network", error=type(exc).__name__, temporary=True)
        return SendResult(provider_sid=str(message.sid))

    def own_reference(self, outbox_id: int) -> str | None:
        """Twilio gives each message its own SID."""
        return None

    def find_sent(self, sms: Outgoing, since: datetime) -> str | None:
        """Look the message up at the provider before resending one whose result was never recorded."""
        try:
            messages = self.client.messages.list(to=sms.to, date_sent_after=since, limit=50)
        except (TwilioException, requests.RequestException, OSError) as exc:  # TwilioException: a list page
            raise LookupFailed(type(exc).__name__) from exc
        for message in messages:
            if message.body == sms.body:
                return str(message.sid)
        return None

    def call(self, to: str, url: str, status_callback: str) -> SendResult:
        """Place a call from our number (a Messaging Service cannot call); errors come back as a SendResult."""
        if not self.settings.twilio_from_number:
            return SendResult(error_code="config", error="HOTLINE_TWILIO_FROM_NUMBER is needed to call back")
        try:
            call = self.client.calls.create(
                to=to,
                from_=self.settings.twilio_from_number,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                timeout=CALLBACK_RING_SECONDS,
            )
        except TwilioRestException as exc:
            return classify(exc)
        except (requests.RequestException, OSError) as exc:
            return SendResult(error_code="network", error=type(exc).__name__, temporary=True)
        return SendResult(provider_sid=str(call.sid))

    def find_call(self, to: str, since: datetime) -> str | None:
        """A call already placed to `to` since `since` (an earlier attempt whose answer we never heard)."""
        try:
            calls = self.client.calls.list(to=to, start_time_after=since, limit=20)
        except (TwilioException, requests.RequestException, OSError) as exc:  # TwilioException: a list page
            raise LookupFailed(type(exc).__name__) from exc
        return str(calls[0].sid) if calls else None

    def delete_recording(self, sid: str) -> bool:
        """DELETE the Recording resource; a 404 means it is already gone (deleted by hand, or an earlier attempt)."""
        try:
            self.client.recordings(sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                return False
            raise DeleteFailed(f"Twilio answered {exc.status} ({exc.code})") from exc
        except (TwilioException, requests.RequestException, OSError) as exc:
            raise DeleteFailed(type(exc).__name__) from exc
        return True


MAX_RECORDING_BYTES = 16 * 1024 * 1024  # two minutes of MP3 is about 1 MB; anything far larger is not ours


class RecordingUnavailable(Exception):
    """Twilio did not give the recording (gone, or unreachable); the message says which."""


def fetch_recording(settings: Settings, recording_sid: str, timeout: float = 15.0) -> bytes:
    """The MP3 of a recording, fetched from Twilio with the account's credentials.

    The URL is built from the recording's id and our account, never taken from a stored URL, so the app only
    ever sends its credentials to the configured Twilio API."""
    if twilio_sid(recording_sid) is None or not settings.twilio_account_sid:
        raise RecordingUnavailable("no Twilio account configured (HOTLINE_TWILIO_ACCOUNT_SID)")
    base = settings.twilio_api_url.rstrip("/") or TWILIO_API
    url = f"{base}/2010-04-01/Accounts/{settings.twilio_account_sid}/Recordings/{recording_sid}.mp3"
    try:
        response = requests.get(
            url, auth=(settings.twilio_account_sid, settings.twilio_auth_token), timeout=timeout, stream=True
        )
    except requests.RequestException as exc:
        raise RecordingUnavailable("Twilio could not be reached; try again in a minute") from exc
    with response:
        if response.status_code == 404:
            raise RecordingUnavailable("Twilio no longer has this recording")
        if response.status_code != 200:
            raise RecordingUnavailable(f"Twilio answered {response.status_code}")
        body = bytearray()
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > MAX_RECORDING_BYTES:
                raise RecordingUnavailable("the recording is larger than any two-minute call")
        return bytes(body)
