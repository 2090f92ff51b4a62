"""Sending one SMS: the real twilio client (any base URL through its pluggable HTTP client) or the console."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from hotline.config import ConfigError, Settings
from hotline.phones import log_phone

log = logging.getLogger(__name__)
TWILIO_API = "https://api.twilio.com"

# Twilio error codes (TWILIO.md): the phone said STOP; will never succeed; worth trying again later.
OPTED_OUT = {21610}
PERMANENT = {21211, 21612, 21614, 30005, 30006, 30007, 30008}
TEMPORARY = {20429, 21611, 30001, 30003, 30017, 30022}
CALLBACK_RING_SECONDS = 30  # how long a callback rings before Twilio gives up (no-answer)

# The client's own logger writes query strings (phone numbers) at INFO: ours keeps only warnings.
_quiet_http_log = logging.getLogger("hotline.twilio_http")
_quiet_http_log.setLevel(logging.WARNING)


@dataclass(frozen=True)
class SendResult:
    """What the provider said: a message id, or an error and whether trying again may help."""

    provider_sid: str | None = None
    error_code: str | None = None
    error: str | None = None
    temporary: bool = False
    opted_out: bool = False

    @property
    def ok(self) -> bool:
        """The provider accepted the message."""
        return self.provider_sid is not None


class LookupFailed(RuntimeError):
    """The provider could not be asked whether a message already went out (down or unreachable)."""


class DeleteFailed(RuntimeError):
    """The provider did not delete (unreachable, or an error other than "no such resource"): try again later."""


class Sender(Protocol):
    """A way to send one SMS."""

    name: str

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        """Hand one SMS to the provider."""

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """The provider id of a message with this body already sent to `to` since `since`, if any (LookupFailed if
        the provider cannot say)."""

    def call(self, to: str, url: str, status_callback: str) -> SendResult:
        """Place a call whose answered leg runs the TwiML at `url` (a callback after a missed call)."""

    def find_call(self, to: str, since: datetime) -> str | None:
        """The provider id of a call already placed to `to` since `since`, if any."""

    def delete_recording(self, sid: str) -> bool:
        """Delete a call recording: True when deleted, False when the provider no longer had it (DeleteFailed
        otherwise)."""


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
    ) -> Response:
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

    name = "twilio"

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=BaseUrlHttpClient(settings.twilio_api_url, timeout),
        )

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        """Create the message; errors come back as a SendResult, never as an exception."""
        sender = (
            {"messaging_service_sid": self.settings.twilio_messaging_service_sid}
            if self.settings.twilio_messaging_service_sid
            else {"from_": self.settings.twilio_from_number}
        )
        try:
            message = self.client.messages.create(
                to=to,
                body=body,
                status_callback=status_callback,
                validity_period=self.settings.validity_period_seconds,
                **sender,
            )
        except TwilioRestException as exc:
            return classify(exc)
        except (requests.RequestException, OSError) as exc:
            return SendResult(error_code="network", error=type(exc).__name__, temporary=True)
        return SendResult(provider_sid=str(message.sid))

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """Look the message up at the provider before resending one whose result was never recorded."""
        try:
            messages = self.client.messages.list(to=to, date_sent_after=since, limit=50)
        except (TwilioException, requests.RequestException, OSError) as exc:  # TwilioException: a list page
            raise LookupFailed(type(exc).__name__) from exc
        for message in messages:
            if message.body == body:
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


class ConsoleSender:
    """Development without Twilio: logs that a message would go out (the simulator shows the outbox)."""

    name = "console"

    def __init__(self) -> None:
        self.counter = 0

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        """Pretend to send; the body stays in the outbox, never in the log."""
        self.counter += 1
        log.info(
            "console backend: SMS of %d characters to %s not sent (no Twilio credentials)", len(body), log_phone(to)
        )
        return SendResult(provider_sid=f"CONSOLE{self.counter:026d}")

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """Nothing was really sent."""
        return None

    def call(self, to: str, url: str, status_callback: str) -> SendResult:
        """Pretend to call back."""
        self.counter += 1
        log.info("console backend: call to %s not placed (no Twilio credentials)", log_phone(to))
        return SendResult(provider_sid=f"CA{self.counter:032d}")

    def find_call(self, to: str, since: datetime) -> str | None:
        """Nothing was really placed."""
        return None

    def delete_recording(self, sid: str) -> bool:
        """Nothing is held at a provider (the simulator's recordings are made up)."""
        log.info("console backend: recording %s not deleted at Twilio (no Twilio credentials)", sid)
        return True


def make_sender(settings: Settings) -> Sender:
    """Twilio when credentials are set; the console only in development, so production never "sends" nowhere."""
    backend = settings.sms_backend
    if backend == "auto":
        backend = "twilio" if settings.twilio_account_sid else "console"
    if backend == "console" and not settings.development:
        raise ConfigError("HOTLINE_TWILIO_ACCOUNT_SID is not set: outside development, SMS must go through Twilio")
    if backend == "console":
        return ConsoleSender()
    if not settings.twilio_account_sid:
        raise ConfigError("HOTLINE_TWILIO_ACCOUNT_SID is needed to send SMS (or HOTLINE_SMS_BACKEND=console)")
    return TwilioSender(settings)
