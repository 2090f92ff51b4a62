"""Middleware benchmark: what the request id, the access log line and the webhook metrics cost per request.

    python -m bench.middleware [--requests 20000] [--rounds 5] [--multiprocess]

Drives the ASGI stack in process, no server and no sockets: a constant inner app (a TwiML answer, the route set as
the router sets it) for POST /twilio/sms with Twilio's headers, alone and inside the middlewares create_app() puts
around every request. Logging is the production configuration (`hotline serve`: JSON lines at INFO, one access line
per request), written to /dev/null. --multiprocess measures prometheus_client's multiprocess mode, which `hotline
serve --workers N` turns on for N > 1. Prints CPU µs per request (the fastest round) and each layer's share of a
~400 µs keyword SMS (docs/BENCHMARKS.md); the target is under 5 % for logs and metrics together."""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_US = 400.0  # a keyword SMS's server time, the budget the middlewares' share is measured against
BODY = b'<?xml version="1.0" encoding="UTF-8"?><Response><Message>Salam</Message></Response>'
FORM = b"MessageSid=SM" + b"a" * 32 + b"&From=%2B996555123456&Body=HELP"
# What Twilio sends behind nginx (header names lower-cased, as servers hand them to the app).
HEADERS = [
    (b"host", b"hotline.example.org"),
    (b"x-real-ip", b"54.172.60.1"),
    (b"x-forwarded-for", b"54.172.60.1"),
    (b"x-forwarded-proto", b"https"),
    (b"content-length", str(len(FORM)).encode()),
    (b"content-type", b"application/x-www-form-urlencoded"),
    (b"x-twilio-signature", b"k1qMmR1dRtHuhD+3xF2VqgIUH0M="),
    (b"i-twilio-idempotency-token", b"0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"),
    (b"accept", b"*/*"),
    (b"user-agent", b"TwilioProxy/1.1"),
    (b"cache-control", b"max-age=259200"),
]


@dataclass(frozen=True)
class Route:
    """What the router leaves in the scope: the matched route, by its path template."""

    path: str


ROUTE = Route("/twilio/sms")


async def constant(scope: Scope, receive: Receive, send: Send) -> None:
    """The inner app: reads the body, answers constant TwiML."""
    scope["route"] = ROUTE
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/xml")]})
    await send({"type": "http.response.body", "body": BODY})


async def receive() -> Message:
    return {"type": "http.request", "body": FORM, "more_body": False}


async def send(message: Message) -> None:
    return None


def scope() -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/twilio/sms",
        "raw_path": b"/twilio/sms",
        "root_path": "",
        "query_string": b"",
        "headers": HEADERS,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def per_request(app: ASGIApp, requests: int, rounds: int) -> float:
    """The fastest round's µs per request (the machine's other work only ever adds)."""
    for _ in range(200):  # warm: label children, loggers, caches
        await app(scope(), receive, send)
    samples = []
    for _ in range(rounds):
        started = time.thread_time()  # CPU time: another process taking the core does not count
        for _ in range(requests):
            await app(scope(), receive, send)
        samples.append((time.thread_time() - started) / requests * 1e6)
    return min(samples)


def production_logging() -> None:
    """`hotline serve`'s logging (JSON, INFO), its handler writing to /dev/null instead of stderr."""
    from hotline.logs import logging_config

    logging.config.dictConfig(logging_config(as_json=True, level="INFO"))
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # open for the process's life


def main() -> None:
    """Print µs per request for each layer and its share of a keyword SMS."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--multiprocess", action="store_true", help="prometheus_client's multiprocess mode")
    args = parser.parse_args()
    if args.multiprocess:  # before prometheus_client is imported: its metrics pick their storage then
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-metrics-")
    production_logging()
    from hotline.headers import SecurityHeaders
    from hotline.logs import RequestContext
    from hotline.metrics import WebhookMetrics
    from hotline.staff.web import StaffSessions

    stacks: list[tuple[str, Any]] = [
        ("inner app alone", constant),
        ("+ WebhookMetrics", WebhookMetrics(constant)),
        ("+ RequestContext (id, JSON access line)", RequestContext(WebhookMetrics(constant))),
        (
            "+ StaffSessions, SecurityHeaders (all)",
            SecurityHeaders(StaffSessions(RequestContext(WebhookMetrics(constant)), secret_key="x" * 32)),
        ),
    ]
    mode = "multiprocess" if args.multiprocess else "single process"
    print(f"python {sys.version.split()[0]} on {platform.machine()}, {args.requests} requests x {args.rounds} rounds")
    print(f"production logging (JSON, INFO), prometheus_client {mode}")
    base = 0.0
    logs_and_metrics = 0.0
    for name, app in stacks:
        us = asyncio.run(per_request(app, args.requests, args.rounds))
        base = base or us
        extra = us - base
        if name.startswith("+ RequestContext"):
            logs_and_metrics = extra
        print(f"{name:42} {us:7.1f} µs/request  (+{extra:5.1f} µs, {extra / REQUEST_US:5.1%} of {REQUEST_US:.0f} µs)")
    target = 0.05 * REQUEST_US
    verdict = "under" if logs_and_metrics < target else "OVER"
    print(f"logs and metrics: {logs_and_metrics:.1f} µs per request, {verdict} the 5 % target ({target:.0f} µs)")


if __name__ == "__main__":
    main()
