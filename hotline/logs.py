"""Logging in one place: JSON lines or text, a request id on every line, and one log line per HTTP request.

Never log a message body or a full phone number: `hotline.phones.log_phone` is the only form a number may take."""

from __future__ import annotations

import json
import logging
import logging.config
import re
import secrets
import time
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
# A caller's id is taken only if it cannot break a log line or a header, nor flood either.
SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Headers that may carry an id, in order: ours (set by nginx or a caller), then Twilio's per-webhook token (the same
# on Twilio's retries of one webhook, so a retry is easy to find).
ID_HEADERS = (b"x-request-id", b"i-twilio-idempotency-token")
# Probes and scrapes come every few seconds: their lines only at DEBUG, unless they fail.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
MAX_LOGGED_PATH = 200
PLAIN_TEXT = (b"content-type", b"text/plain; charset=utf-8")
# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into the JSON line.
# (uvicorn's color_message repeats the message with terminal colours.)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}

access_log = logging.getLogger("hotline.access")


def new_request_id() -> str:
    """A fresh random id (32 hex characters, like nginx's $request_id)."""
    return secrets.token_hex(16)


class RequestIdFilter(logging.Filter):
    """Puts the current request's (or job run's) id on every record; `-` in text when there is none."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add `request_id` unless the record already has one."""
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    """The human format (development): the request id in brackets."""

    def format(self, record: logging.LogRecord) -> str:
        """Format with `-` for a missing request id."""
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, request_id, then the record's extras. Every
    request writes one (the access line): the encoder is made once and the timestamp's second reused."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._encoder = json.JSONEncoder(ensure_ascii=False, default=str)
        self._second: tuple[int, str] = (-1, "")

    def timestamp(self, created: float) -> str:
        """2026-11-29T17:36:13.631Z: UTC, to the millisecond."""
        whole = int(created)
        micros = round((created - whole) * 1e6)  # rounded to the microsecond first, as datetime does
        if micros >= 1_000_000:
            whole, micros = whole + 1, micros - 1_000_000
        second, text = self._second
        if whole != second:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
            self._second = (whole, text)
        return f"{text}.{micros // 1000:03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON (non-ASCII kept readable, newlines escaped)."""
        line: dict[str, Any] = {
            "timestamp": self.timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return self._encoder.encode(line)


def logging_config(*, as_json: bool, level: str = "INFO") -> dict[str, Any]:
    """The dictConfig of every process: the CLI, `hotline scheduler`, and each uvicorn worker (uvicorn applies it
    in each worker it spawns, where a configuration made in the parent process would not exist)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": {"()": JsonFormatter}, "text": {"()": TextFormatter, "fmt": TEXT_FORMAT}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",  # stdout stays for commands' own output
                "formatter": "json" if as_json else "text",
                "filters": ["request_id"],
            }
        },
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            # uvicorn's loggers go through ours; its access log is replaced by `hotline.access` (no query strings).
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
            "httpx": {"level": "WARNING"},  # one line per in-process webhook call is noise
            # "Running job" twice every 2 s hides everything else; failures are still logged at ERROR, and
            # runs are counted in /metrics.
            "apscheduler.executors.default": {"level": "WARNING"},
        },
    }


def configure_logging(*, as_json: bool, level: str = "INFO") -> None:
    """Configure the root logger, unless something (a test runner) already did."""
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(logging_config(as_json=as_json, level=level))


def _request_id(scope: Scope) -> str:
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in ID_HEADERS:
            found.setdefault(name, value)  # the first of repeated headers
    for name in ID_HEADERS:
        candidate = found.get(name, b"").decode("latin-1")
        if SANE_ID.fullmatch(candidate):
            return candidate
    return new_request_id()


def _loggable_path(scope: Scope) -> str:
    # The raw path is still percent-encoded: a %0A in it cannot start a forged log line. No query string.
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope["path"]).encode("unicode_escape").decode()
    return path.split("?", 1)[0][:MAX_LOGGED_PATH]


class RequestContext:
    """Pure ASGI middleware: a request id for every request (X-Request-ID in and out), and one log line per request
    with method, path, status and duration. Never the body, the query string or a header's value."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request with its id set; log it when it is done."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if status is None:
                # Our own 500, so it carries the id too (Twilio's debugger shows it); the error middleware outside
                # sees the response started and only re-raises.
                await send_with_id({"type": "http.response.start", "status": 500, "headers": [PLAIN_TEXT]})
                await send_with_id({"type": "http.response.body", "body": b"Internal Server Error"})
            self._log(scope, 500, started)
            # The id stays set: the server logs the traceback next, in this same context.
            raise
        self._log(scope, status or 500, started)
        REQUEST_ID.reset(token)

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        path = _loggable_path(scope)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        level = logging.INFO
        if status >= 500:
            level = logging.WARNING
        elif path in QUIET_PATHS and status < 400:
            level = logging.DEBUG
        if not access_log.isEnabledFor(level):
            return
        method = scope["method"]
        # Made and handed on as access_log.log() would, without its walk up the stack for the caller's file and line
        # (no format shows them, and every request pays for it).
        record = access_log.makeRecord(
            access_log.name,
            level,
            __file__,
            0,
            "%s %s %d %.1fms",
            (method, path, status, duration_ms),
            None,
            extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
        )
        access_log.handle(record)
