"""A small local Twilio: the Messages, Calls and Recordings resources of the 2010-04-01 API as its OpenAPI spec
describes them.

The real twilio client talks to it over HTTP (hotline.messaging.sender.BaseUrlHttpClient). Tests tell it to
answer with an error code, to fail for a while, or to answer slowly."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlparse

from hotline.segments import count_segments

API = "/2010-04-01/Accounts/"


@dataclass
class Failure:
    """How to answer the next requests instead of accepting them."""

    status: int
    code: int | None
    message: str
    remaining: int  # how many requests to fail; -1 for all


class Scripted(Protocol):
    """A scripted failure of a fake: how many more requests it answers (-1: until recovered)."""

    remaining: int


F = TypeVar("F", bound=Scripted)


def take_failure(failures: list[F]) -> F | None:
    """The failure that answers this request, counted down and dropped when used up (the caller holds the lock)."""
    if not failures:
        return None
    failure = failures[0]
    if failure.remaining > 0:
        failure.remaining -= 1
        if failure.remaining == 0:
            failures.pop(0)
    return failure


@dataclass
class FakeTwilio:
    """State of the fake: accepted messages, credentials, and scripted failures."""

    account_sid: str
    auth_token: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    recordings: dict[str, bytes] = field(default_factory=dict)  # recording sid -> MP3 bytes the fake serves
    deleted_recordings: list[str] = field(default_factory=list)  # in the order DELETE requests removed them
    failures: list[Failure] = field(default_factory=list)
    delay_seconds: float = 0.0
    lists_down: bool = False  # the Messages list answers 503 (creation still works)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    # Run with each created message before the create call is answered: Twilio may post a status callback that
    # early (see report()). Runs outside the lock, so it may create or report too.
    on_create: Callable[[dict[str, Any]], None] | None = None
    # Delivers a status callback as Twilio does, (url, form) -> HTTP status: the test signs and posts it to the app.
    post: Callable[[str, dict[str, str]], int] | None = None
    reported: list[tuple[str, str, int]] = field(default_factory=list)  # (message sid, status, HTTP answer)

    def fail(self, status: int, code: int | None = None, message: str = "scripted failure", times: int = 1) -> None:
        """Answer the next `times` creations with this error (-1: until told otherwise)."""
        with self.lock:
            self.failures.append(Failure(status, code, message, times))

    def recover(self) -> None:
        """Stop failing."""
        with self.lock:
            self.failures.clear()

    def sent_to(self, to: str) -> list[dict[str, Any]]:
        """Accepted messages for one number."""
        with self.lock:
            return [m for m in self.messages if m["to"] == to]

    def report(self, message: dict[str, Any], status: str, error: str | None = None, url: str | None = None) -> int:
        """Post a status callback for `message` to its StatusCallback (or `url`), with the fields Twilio sends."""
        assert self.post is not None, "set fake.post to deliver callbacks"
        form = {
            "AccountSid": message["account_sid"],
            "ApiVersion": "2010-04-01",
            "MessageSid": message["sid"],
            "SmsSid": message["sid"],
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message["to"],
            "From": message.get("from") or "",
        }
        if error:
            form["ErrorCode"] = error
        answer = self.post(url or message["status_callback"], form)
        with self.lock:
            self.reported.append((message["sid"], status, answer))
        return answer

    def _next_failure(self) -> Failure | None:
        with self.lock:
            return take_failure(self.failures)


def _error(status: int, code: int | None, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTwilio
    protocol_version = "HTTP/1.1"  # keep-alive, as api.twilio.com allows
    wbufsize = 64 * 1024  # headers and body leave in one write (flushed after each request) ...
    disable_nagle_algorithm = True  # ... and at once, without waiting for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self, account_sid: str) -> bool:
        expected = base64.b64encode(f"{self.fake.account_sid}:{self.fake.auth_token}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {expected}" and account_sid == self.fake.account_sid

    def _route(self, resource: str = "/Messages.json") -> str | None:
        path = urlparse(self.path).path
        if not (path.startswith(API) and path.endswith(resource)):
            self._send(404, _error(404, 20404, "The requested resource was not found"))
            return None
        account_sid = path[len(API) : -len(resource)]
        if not self._authorised(account_sid):
            self._send(401, _error(401, 20003, "Authenticate"))
            return None
        return account_sid

    def _resource(self) -> str:
        path = urlparse(self.path).path
        if path.endswith("/Calls.json"):
            return "calls"
        if "/Recordings/" in path:
            return "recording"
        return "messages"

    def _create_call(self) -> None:
        account_sid = self._route("/Calls.json")
        if account_sid is None:
            return
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
        failure = self.fake._next_failure()
        if failure is not None:
            self._send(failure.status, _error(failure.status, failure.code, failure.message))
            return
        if not form.get("To") or not form.get("From") or not form.get("Url"):
            self._send(400, _error(400, 21205, "To, From and Url are required."))
            return
        sid = "CA" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        call = {
            "account_sid": account_sid,
            "sid": sid,
            "to": form["To"],
            "from": form["From"],
            "status": "queued",
            "direction": "outbound-api",
            "start_time": now,
            "date_created": now,
            "uri": f"{API}{account_sid}/Calls/{sid}.json",
            "url": form["Url"],
            "status_callback": form.get("StatusCallback"),
            "timeout": form.get("Timeout"),
        }
        with self.fake.lock:
            self.fake.calls.append(call)
        self._send(201, {k: v for k, v in call.items() if k not in ("url", "status_callback", "timeout")})

    def _list_calls(self) -> None:
        account_sid = self._route("/Calls.json")
        if account_sid is None:
            return
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        with self.fake.lock:
            found = [c for c in self.fake.calls if not query.get("To") or c["to"] == query["To"]]
        uri = f"{API}{account_sid}/Calls.json"
        page = [{k: v for k, v in c.items() if k not in ("url", "status_callback", "timeout")} for c in found]
        self._send(
            200,
            {"calls": page, "first_page_uri": uri, "next_page_uri": None, "page": 0, "page_size": 50, "uri": uri},
        )

    def _recording(self) -> None:
        path = urlparse(self.path).path
        account_sid, _, name = path[len(API) :].partition("/Recordings/")
        if not path.startswith(API) or not self._authorised(account_sid):
            self._send(401, _error(401, 20003, "Authenticate"))
            return
        audio = self.fake.recordings.get(name.removesuffix(".mp3"))
        if audio is None or not name.endswith(".mp3"):
            self._send(404, _error(404, 20404, "The requested resource was not found"))
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(audio)))
        self.end_headers()
        self.wfile.write(audio)

    def do_DELETE(self) -> None:
        # DELETE /2010-04-01/Accounts/{AccountSid}/Recordings/{Sid}.json (DeleteRecording): 204, or 404 if unknown.
        self.fake.requests += 1
        path = urlparse(self.path).path
        account_sid, _, name = path[len(API) :].partition("/Recordings/")
        if not path.startswith(API) or not name.endswith(".json"):
            self._send(404, _error(404, 20404, "The requested resource was not found"))
            return
        if not self._authorised(account_sid):
            self._send(401, _error(401, 20003, "Authenticate"))
            return
        failure = self.fake._next_failure()
        if failure is not None:
            self._send(failure.status, _error(failure.status, failure.code, failure.message))
            return
        sid = name.removesuffix(".json")
        with self.fake.lock:
            audio = self.fake.recordings.pop(sid, None)
            if audio is not None:
                self.fake.deleted_recordings.append(sid)
        if audio is None:
            self._send(404, _error(404, 20404, f"The requested resource /Recordings/{sid}.json was not found"))
            return
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        self.fake.requests += 1
        if self._resource() == "calls":
            self._create_call()
            return
        account_sid = self._route()
        if account_sid is None:
            return
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
        if self.fake.delay_seconds:
            time.sleep(self.fake.delay_seconds)
        failure = self.fake._next_failure()
        if failure is not None:
            self._send(failure.status, _error(failure.status, failure.code, failure.message))
            return
        if not form.get("To"):
            self._send(400, _error(400, 21604, "A 'To' phone number is required."))
            return
        if not form.get("From") and not form.get("MessagingServiceSid"):
            self._send(400, _error(400, 21603, "A 'From' phone number is required."))
            return
        if not form.get("Body"):
            self._send(400, _error(400, 21602, "Message body is required."))
            return
        now = format_datetime(datetime.now(UTC), usegmt=True)
        sid = "SM" + secrets.token_hex(16)
        message: dict[str, Any] = {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": now,
            "date_sent": now,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(count_segments(form["Body"]).segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {},
            "to": form["To"],
            "uri": f"{API}{account_sid}/Messages/{sid}.json",
            "status_callback": form.get("StatusCallback"),
            "validity_period": form.get("ValidityPeriod"),
            "received_at": time.time(),
        }
        with self.fake.lock:
            self.fake.messages.append(message)
        if self.fake.on_create is not None:
            self.fake.on_create(message)
        self._send(
            201, {k: v for k, v in message.items() if k not in ("status_callback", "validity_period", "received_at")}
        )

    def do_GET(self) -> None:
        if self.path == "/_fake/received":
            # For benchmarks: when each message arrived and what it cost, to check rate limits from outside.
            with self.fake.lock:
                received = [[m["received_at"], int(m["num_segments"]), m["body"]] for m in self.fake.messages]
            self._send(200, {"received": received})
            return
        if self._resource() == "calls":
            self._list_calls()
            return
        if self._resource() == "recording":
            self._recording()
            return
        account_sid = self._route()
        if account_sid is None:
            return
        if self.fake.lists_down:
            self._send(503, _error(503, None, "Service Unavailable"))
            return
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        with self.fake.lock:
            found = [m for m in self.fake.messages if not query.get("To") or m["to"] == query["To"]]
        after = query.get("DateSent>")
        if after:
            since = datetime.fromisoformat(after.replace("Z", "+00:00"))
            found = [m for m in found if parsedate_to_datetime(m["date_sent"]) >= since.replace(microsecond=0)]
        uri = f"{API}{account_sid}/Messages.json"
        page = [
            {k: v for k, v in m.items() if k not in ("status_callback", "validity_period", "received_at")}
            for m in found
        ]
        self._send(
            200,
            {
                "messages": page,
                "end": max(len(page) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            },
        )


@contextmanager
def running_fake_twilio(account_sid: str, auth_token: str) -> Iterator[FakeTwilio]:
    """Serve a fake Twilio on a free local port for the duration of the block."""
    fake = FakeTwilio(account_sid, auth_token)
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


class OutageServer(ThreadingHTTPServer):
    """Remembers open connections, so an outage can cut the kept-alive ones too (as a crashed server would)."""

    allow_reuse_address = True
    request_queue_size = 128  # several dispatchers' threads connect at once

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.open_connections: set[socket.socket] = set()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.open_connections.discard(request)
        super().shutdown_request(request)

    def cut(self) -> None:
        for connection in list(self.open_connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FakeServer:
    """A fake Twilio's HTTP server that can be stopped and started again on the same port: an outage in which
    connections are refused, with the fake's state (accepted messages) kept across it."""

    def __init__(self, fake: FakeTwilio) -> None:
        self.fake = fake
        self.port = 0
        self.server: OutageServer | None = None
        self.start()

    def start(self) -> None:
        """Listen (again) on the fake's port."""
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        server = OutageServer(("127.0.0.1", self.port), handler)
        self.port = server.server_address[1]
        self.fake.url = f"http://127.0.0.1:{self.port}"
        self.server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        """Stop listening: new connections are refused until start()."""
        if self.server is not None:
            self.server.shutdown()
            self.server.cut()
            self.server.server_close()
            self.server = None


@contextmanager
def fake_twilio_server(account_sid: str, auth_token: str) -> Iterator[FakeServer]:
    """A fake Twilio that a test may take down and bring back (`.stop()`, `.start()`); `.fake` holds its state."""
    server = FakeServer(FakeTwilio(account_sid, auth_token))
    try:
        yield server
    finally:
        server.stop()


def main() -> None:
    """Run the fake alone (benchmarks): python -m tests.fake_twilio PORT ACCOUNT_SID AUTH_TOKEN."""
    import sys

    port, account_sid, auth_token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    fake = FakeTwilio(account_sid, auth_token)
    handler = type("Handler", (_Handler,), {"fake": fake})
    ThreadingHTTPServer.request_queue_size = 256
    ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    main()
