"""Outbox benchmark: dispatch N pending messages through the real twilio client to a fake Twilio over HTTP.

    python -m bench.outbox [--messages 100000] [--database sqlite|postgres] [--window-messages 1500]

Prints (a) messages/s of one dispatcher process with the rate limit set high, and (b) with the limit at 50
segments/s shared by two dispatcher processes, the largest number of segments the fake received in any
1-second window (must not exceed 50)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from hotline.channels.twilio import TwilioSender
from hotline.config import Settings
from hotline.context import build_context
from hotline.db import get_engine
from hotline.messaging.dispatcher import RateLimiter, dispatch_once
from hotline.models import Contact, OutboundMessage, utcnow
from tests.support import free_port, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "AC" + "b" * 32
TOKEN = os.environ.get("BENCH_TWILIO_TOKEN") or secrets.token_hex(16)  # shared with worker processes
PG_ADMIN = os.environ.get("HOTLINE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def fake_twilio() -> Iterator[str]:
    """The fake Twilio in its own process, so it does not share the dispatcher's CPU time slice."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_twilio", str(port), ACCOUNT, TOKEN], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A throwaway, migrated database."""
    with tempfile.TemporaryDirectory() as folder:
        with throwaway_database(PG_ADMIN if kind == "postgres" else None, Path(folder)) as url:
            yield url


def settings_for(url: str, api: str, rate: float) -> Settings:
    """Production-like settings pointing at the fake."""
    return Settings(
        env="production",
        database_url=url,
        public_url="https://hotline.example.org",
        secret_key="s" * 40,
        encryption_keys=KEY,
        lookup_key="l" * 40,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_from_number="+996312900900",
        twilio_api_url=api,
        send_rate_segments_per_second=rate,
        dispatch_batch=200,
        lease_seconds=300,
    )


KEY = os.environ.get("BENCH_FERNET_KEY") or Fernet.generate_key().decode()


def fill(settings: Settings, count: int, segments_text: str = "Эскертме: {i}") -> None:
    """Bulk-insert `count` pending messages to 1,000 phones (setup, not timed)."""
    ctx = build_context(settings)
    engine = get_engine(settings.database_url)
    now = utcnow()
    with engine.begin() as conn:
        contacts = [
            {
                "phone_hash": ctx.vault.lookup_hash(f"+99655{i:07d}"),
                "phone_encrypted": ctx.vault.encrypt(f"+99655{i:07d}"),
                "language": "ky",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(1000)
        ]
        conn.execute(sa.insert(Contact.__table__), contacts)  # type: ignore[attr-defined]
        ids = [row[0] for row in conn.execute(sa.text("SELECT id, phone_encrypted FROM contact ORDER BY id"))]
        tokens: dict[int, str] = dict(conn.execute(sa.text("SELECT id, phone_encrypted FROM contact")).all())
        batch = []
        for i in range(count):
            contact_id = ids[i % len(ids)]
            batch.append(
                {
                    "idempotency_key": f"bench:{i}",
                    "purpose": "reply",
                    "priority": 0,
                    "contact_id": contact_id,
                    "recipient_encrypted": tokens[contact_id],
                    "language": "ky",
                    "body": segments_text.format(i=i),
                    "segments": 1,
                    "encoding": "UCS-2",
                    "not_before": now,
                    "next_attempt_at": now,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == 5000:
                conn.execute(sa.insert(OutboundMessage.__table__), batch)  # type: ignore[attr-defined]
                batch = []
        if batch:
            conn.execute(sa.insert(OutboundMessage.__table__), batch)  # type: ignore[attr-defined]


def worker(url: str, api: str, rate: float) -> None:
    """One dispatcher process: dispatch until nothing is due, print JSON figures."""
    settings = settings_for(url, api, rate)
    ctx = build_context(settings)
    engine = get_engine(url)
    sender, limiter = TwilioSender(settings), RateLimiter(engine, "bench-sender", rate)
    pool = ThreadPoolExecutor(max_workers=settings.send_concurrency)
    sent, started = 0, time.perf_counter()
    idle_since = None
    while True:
        report = dispatch_once(engine, ctx, sender, limiter, pool=pool)
        sent += report.sent
        if report.claimed == 0:
            idle_since = idle_since or time.perf_counter()
            if time.perf_counter() - idle_since > 1.0:
                break
            time.sleep(0.05)
        else:
            idle_since = None
    elapsed = time.perf_counter() - started - 1.0
    print(json.dumps({"sent": sent, "seconds": elapsed}), flush=True)


def run_workers(url: str, api: str, rate: float, processes: int) -> list[dict[str, float]]:
    """Start dispatcher processes on the same outbox and collect what each reports."""
    env = dict(os.environ, BENCH_FERNET_KEY=KEY, BENCH_TWILIO_TOKEN=TOKEN)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.outbox", "worker", url, api, str(rate)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=3600)
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def max_window(api: str, window: float = 1.0) -> tuple[int, int]:
    """The most segments the fake received in any `window`-second span, and how many messages in all."""
    with urllib.request.urlopen(f"{api}/_fake/received") as response:
        received = sorted(json.loads(response.read())["received"])
    best, start = 0, 0
    total = 0
    for end in range(len(received)):
        total += received[end][1]
        while received[end][0] - received[start][0] >= window:
            total -= received[start][1]
            start += 1
        best = max(best, total)
    return best, len(received)


def main() -> None:
    """Run both measurements and print them."""
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--window-messages", type=int, default=1500, help="messages for the rate-limit test")
    parser.add_argument("--limit", type=float, default=50.0, help="segments per second for the rate-limit test")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, database {args.database}")
    print(f"command: python -m bench.outbox {' '.join(sys.argv[1:])}")
    with ExitStack() as stack:
        url = stack.enter_context(database(args.database))
        api = stack.enter_context(fake_twilio())
        fill(settings_for(url, api, 1e6), args.messages)
        [one] = run_workers(url, api, 1e6, 1)
        rate = one["sent"] / one["seconds"]
        print(
            f"(a) one dispatcher, limit high: {one['sent']:.0f} messages in {one['seconds']:.1f} s = "
            f"{rate:.0f} messages/s (target >= 300: {'met' if rate >= 300 else 'NOT met'})"
        )
    with ExitStack() as stack:
        url = stack.enter_context(database("postgres" if args.database == "postgres" else "sqlite"))
        api = stack.enter_context(fake_twilio())
        fill(settings_for(url, api, args.limit), args.window_messages)
        results = run_workers(url, api, args.limit, 2)
        best, total = max_window(api)
        print(
            f"(b) two dispatchers sharing a limit of {args.limit:.0f} segments/s: {total} messages "
            f"({', '.join(str(int(r['sent'])) for r in results)} per process); largest in any 1-second window: "
            f"{best} segments ({'within' if best <= args.limit else 'OVER'} the limit)"
        )


if __name__ == "__main__":
    main()
