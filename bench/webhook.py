"""Webhook benchmark: the real /twilio/sms against a bare signed-constant-TwiML ceiling, on SQLite and PostgreSQL.

    python -m bench.webhook [--seconds 10] [--connections 16] [--only sqlite|postgres] [--workers N]

Each scenario runs a server (uvicorn, --workers processes, 1 by default) and a load generator with keep-alive
connections sending pre-built, pre-signed requests, each with its own MessageSid, so the webhook does real work
every time:
  (a) ceiling: signature check and a constant TwiML reply;
  (b) /twilio/sms with real keywords from 2,000 phones (HELP, ПОСОБИЕ, ЖӨЛӨКПУЛ 1, CHECK, ТИЛ, СТАТУС, ...);
  (c) complaint intake: `ЖАЛОБА <text>` from phones whose municipality is known, one complaint per SMS.
Targets: (b)/(a) >= 0.5 with p99 <= 20 ms; (c)/(a) >= 0.4 with p99 <= 30 ms."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

import sqlalchemy as sa
from cryptography.fernet import Fernet

from bench.outbox import ROOT, database
from hotline.config import Settings
from hotline.webhooks import sign
from tests.support import free_port

ACCOUNT = "AC" + "c" * 32
PHONES = [f"+996555{i:06d}" for i in range(2000)]
KEYWORDS = ["HELP", "ПОСОБИЕ", "ЖӨЛӨКПУЛ 1", "BENEFITS 2", "СТАТУС", "CHECK", "ТИЛ", "hello", "ПОМОЩЬ", "НАФАҚА 3"]


@dataclass
class Result:
    """Figures of one scenario."""

    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        return statistics.quantiles(self.latencies, n=1000)[int(q * 1000) - 1] * 1000


def environment(url: str, port: int) -> dict[str, str]:
    """Production settings with fresh secrets for one server."""
    return dict(
        os.environ,
        HOTLINE_ENV="production",
        HOTLINE_DATABASE_URL=url,
        HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOTLINE_SECRET_KEY=secrets.token_urlsafe(32),
        HOTLINE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        HOTLINE_LOOKUP_KEY=secrets.token_urlsafe(32),
        HOTLINE_TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        HOTLINE_TWILIO_ACCOUNT_SID=ACCOUNT,
        HOTLINE_MAX_COMPLAINTS_PER_DAY="1000000",
        # The database is migrated before the server starts; N workers migrating at once would race.
        HOTLINE_MIGRATE_ON_START="false",
    )


@contextmanager
def server(factory: str, env: dict[str, str], port: int, workers: int = 1) -> Iterator[None]:
    """A uvicorn server with `workers` processes, no access log; stopped afterwards whatever happens."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def build_requests(env: dict[str, str], port: int, bodies: list[tuple[str, str]]) -> list[bytes]:
    """Raw HTTP requests, each signed for its own form, as Twilio would post them."""
    settings = Settings(twilio_auth_token=env["HOTLINE_TWILIO_AUTH_TOKEN"])
    url = f"http://127.0.0.1:{port}/twilio/sms"
    built = []
    for sender, body in bodies:
        form = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": ACCOUNT,
            "From": sender,
            "To": "+996312900900",
            "Body": body,
            "NumMedia": "0",
        }
        payload = urlencode(form).encode()
        head = (
            f"POST /twilio/sms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(payload)}\r\n"
            f"X-Twilio-Signature: {sign(settings, url, form)}\r\n\r\n"
        )
        built.append(head.encode() + payload)
    return built


async def _load(port: int, requests: list[bytes], connections: int, seconds: float) -> Result:
    queue = iter(requests)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in queue:
            if time.perf_counter() > deadline:
                break
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return Result(len(latencies), errors, time.perf_counter() - started, latencies)


def load(port: int, requests: list[bytes], connections: int, seconds: float) -> Result:
    """Send the requests over `connections` keep-alive connections for `seconds` (or until they run out)."""
    return asyncio.run(_load(port, requests, connections, seconds))


def scenario(
    factory: str,
    url: str,
    bodies: list[tuple[str, str]],
    warm: list[tuple[str, str]],
    seconds: float,
    connections: int,
    prepare: str | None = None,
    workers: int = 1,
) -> Result:
    """Start a server, warm it (and the database) up, then measure."""
    port = free_port()
    env = environment(url, port)
    with server(factory, env, port, workers):
        load(port, build_requests(env, port, warm), connections, 60)
        if prepare:
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sa.text(prepare))
            engine.dispose()
        return load(port, build_requests(env, port, bodies), connections, seconds)


def main() -> None:
    """Run every scenario on each database and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--workers", type=int, default=1, help="web worker processes (as hotline serve --workers)")
    args = parser.parse_args()
    per_run = int(args.seconds * 4000)  # more requests than any scenario can serve in the time
    keywords = [(PHONES[i % len(PHONES)], KEYWORDS[i % len(KEYWORDS)]) for i in range(per_run)]
    complaints = [
        (PHONES[i % len(PHONES)], f"ЖАЛОБА пособие не платят уже {i % 12 + 1} месяцев") for i in range(per_run)
    ]
    warm = [(phone, "HELP") for phone in PHONES]
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; {args.connections} connections, "
        f"{args.seconds:.0f} s per scenario, {args.workers} worker(s)"
    )
    print(f"command: python -m bench.webhook {' '.join(sys.argv[1:])}")
    print(f"{'database':<9} {'scenario':<28} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for kind in ("sqlite", "postgres"):
        if args.only and kind != args.only:
            continue
        results = {}
        with ExitStack() as stack:
            url = stack.enter_context(database(kind))
            results["a"] = scenario(
                "bench.baseline_app:create_baseline_app",
                url,
                keywords,
                warm[:200],
                args.seconds,
                args.connections,
                workers=args.workers,
            )
        with ExitStack() as stack:
            url = stack.enter_context(database(kind))
            results["b"] = scenario(
                "hotline.main:create_app", url, keywords, warm, args.seconds, args.connections, workers=args.workers
            )
        with ExitStack() as stack:
            url = stack.enter_context(database(kind))
            results["c"] = scenario(
                "hotline.main:create_app",
                url,
                complaints,
                warm,
                args.seconds,
                args.connections,
                prepare="UPDATE contact SET municipality_code = 'dara'",
                workers=args.workers,
            )
        names = {"a": "(a) ceiling", "b": "(b) /twilio/sms keywords", "c": "(c) complaint intake"}
        for key, result in results.items():
            print(
                f"{kind:<9} {names[key]:<28} {result.rate:>7.0f} {result.percentile(0.5):>7.1f} "
                f"{result.percentile(0.99):>7.1f} {result.errors:>6}"
            )
        ratio_b, ratio_c = results["b"].rate / results["a"].rate, results["c"].rate / results["a"].rate
        p99_b, p99_c = results["b"].percentile(0.99), results["c"].percentile(0.99)
        print(
            f"{kind:<9} (b)/(a) = {ratio_b:.2f} (target >= 0.5: {'met' if ratio_b >= 0.5 else 'not met'}), "
            f"p99 {p99_b:.1f} ms (target <= 20: {'met' if p99_b <= 20 else 'not met'})"
        )
        print(
            f"{kind:<9} (c)/(a) = {ratio_c:.2f} (target >= 0.4: {'met' if ratio_c >= 0.4 else 'not met'}), "
            f"p99 {p99_c:.1f} ms (target <= 30: {'met' if p99_c <= 30 else 'not met'})"
        )


if __name__ == "__main__":
    main()
