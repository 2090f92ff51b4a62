"""Webhook benchmark (issue #20): the real /twilio/sms against a bare signed-constant-TwiML ceiling, on SQLite and
PostgreSQL, with the production log format.

    python -m bench.webhook [--seconds 10] [--connections 16] [--only sqlite|postgres] [--workers N] [--wrk]
                            [--no-statements] [--log-dir DIR]

Each scenario runs `hotline serve` (the production command: uvicorn, --workers processes, JSON logs at INFO written
to a file) on a fresh migrated database, warms it up (HELP from every phone: the contacts exist), then measures with
a load generator on `--connections` keep-alive connections sending pre-built, pre-signed requests, each with its own
MessageSid, so the webhook does real work every time:
  (a) ceiling: the signature check and a constant TwiML reply (bench/baseline_app.py, under `hotline serve` too);
  (b) /twilio/sms with real keywords from 2,000 phones (HELP, ПОСОБИЕ, ЖӨЛӨКПУЛ 1, CHECK, ТИЛ, СТАТУС, ...), a
      phone's consecutive messages never the same text (more than 3 alike in a row is a reply loop, not answered);
  (c) complaint intake: `ЖАЛОБА <text>` from phones whose municipality is known, one complaint filed per SMS.
Server CPU per SMS: utime + stime of the server process and its children (the workers) from /proc, over the
measured load, divided by the requests served; on PostgreSQL also the CPU of the backends serving the database.
Statements and round trips per SMS of (b) and (c): bench.statements, the same mix in-process.
--wrk: the ceiling and (b) again with Debian's wrk (2 threads), to show the load generator is not the limit.
Targets (issue #20): (b)/(a) >= 0.35 with p99 <= 15 ms and <= 0.4 ms server CPU per SMS; (c)/(a) >= 0.15 with
p99 <= 30 ms."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench import cpu, statements, wrk
from bench.baseline_app import CEILING
from bench.outbox import ROOT, database
from bench.sms_mix import (
    COMPLAINT_PREPARE,
    PHONES,
    Mix,
    complaint_mix,
    environment,
    keyword_mix,
    raw_requests,
    warm_mix,
)
from tests.support import free_port

__all__ = ["environment", "server"]  # bench.admin and bench.channels start their servers with these

APP = "hotline.main:create_app"
BASELINE = "bench.baseline_app:create_baseline_app"
TARGETS = {"b": (0.35, 15.0, 0.4), "c": (0.15, 30.0, None)}  # ratio to (a), p99 ms, server CPU ms per SMS


@dataclass
class Load:
    """What a load generator measured."""

    requests: int
    errors: int
    answered: int | None  # replies with a <Message> (None: not looked at)
    seconds: float
    p50_ms: float
    p99_ms: float
    note: str = ""


@dataclass
class Result:
    """Figures of one scenario."""

    load: Load
    server_cpu: float  # seconds, server process and its workers
    db_cpu: float | None  # seconds, PostgreSQL backends of the database
    log_lines: int
    log_problems: int  # WARNING and above, or lines that are not JSON

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.load.requests / self.load.seconds

    def per_sms_ms(self, seconds: float | None) -> str:
        """CPU milliseconds per request served."""
        return "-" if seconds is None else f"{seconds * 1000 / max(self.load.requests, 1):.2f}"


@contextmanager
def server(
    factory: str, env: dict[str, str], port: int, workers: int = 1, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`hotline serve` with `workers` processes (for the ceiling, bench.serve: the same command, another app), its
    output (JSON log lines) appended to `log` or to a temporary file; stopped afterwards whatever happens."""
    with ExitStack() as stack:
        if log is None:
            log = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-server-"))) / "server.log"
        env = dict(env)
        if workers > 1:  # as hotline serve prepares it, in a folder removed afterwards
            env["PROMETHEUS_MULTIPROC_DIR"] = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-metrics-"))
        launcher = ["-m", "hotline.cli"] if factory == APP else ["-m", "bench.serve", factory]
        options = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        output = stack.enter_context(log.open("ab"))
        proc = subprocess.Popen(
            [sys.executable, *launcher, *options], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            _wait_ready(proc, port, log, ceiling=factory == BASELINE)
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path, ceiling: bool) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").splitlines()[-20:]
            sys.exit(f"the server stopped (exit {proc.returncode}); its log ends:\n" + "\n".join(tail))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                body = json.loads(response.read())
        except OSError:
            time.sleep(0.05)
            continue
        if (body.get("app") == CEILING) != ceiling:
            sys.exit(f"/healthz answered {body}: not the app this scenario measures")
        return
    sys.exit("the server did not answer /healthz within 60 s")


async def _load(port: int, requests: list[bytes], connections: int, seconds: float) -> Load:
    queue = iter(requests)
    latencies: list[float] = []
    errors = answered = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal errors, answered
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
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            errors += not head.startswith(b"HTTP/1.1 200")
            answered += b"<Message" in body
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=1000) if len(latencies) > 1 else latencies * 999 or [0.0] * 999
    return Load(len(latencies), errors, answered, elapsed, quantiles[499] * 1000, quantiles[989] * 1000)


def load(port: int, requests: list[bytes], connections: int, seconds: float) -> Load:
    """Send the requests over `connections` keep-alive connections for `seconds` (or until they run out); every
    request sent is answered before this returns."""
    return asyncio.run(_load(port, requests, connections, seconds))


def wrk_loader(port: int, requests: list[bytes], connections: int, seconds: float) -> Load:
    """The same with wrk, 2 threads."""
    result = wrk.wrk_load(port, requests, connections, seconds, threads=2)
    note = f"wrk repeated {result.wrapped} times" if result.wrapped else ""
    return Load(result.requests, result.errors, None, result.seconds, result.p50_ms, result.p99_ms, note)


Loader = Callable[[int, list[bytes], int, float], Load]


def _log_since(log: Path, offset: int) -> tuple[int, int]:
    lines = problems = 0
    with log.open("rb") as file:
        file.seek(offset)
        for raw in file:
            lines += 1
            try:
                level = json.loads(raw).get("level")
            except ValueError:
                level = None
            problems += level not in ("DEBUG", "INFO")
    return lines, problems


def scenario(
    kind: str,
    factory: str,
    mix: Mix,
    warm: Mix,
    seconds: float,
    connections: int,
    workers: int = 1,
    prepare: str | None = None,
    loader: Loader = load,
    log_dir: Path | None = None,
    name: str = "",
) -> Result:
    """A fresh database and server; warm up (not measured), then measure the load and the server's CPU and log."""
    with ExitStack() as stack:
        url = stack.enter_context(database(kind))
        folder = log_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-webhook-")))
        log = folder / f"{kind}-{name or factory.split(':')[1]}.log"
        port = free_port()
        env = environment(url, port)
        proc = stack.enter_context(server(factory, env, port, workers, log))
        load(port, raw_requests(env, port, warm), connections, 60)
        if prepare:
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sa.text(prepare))
            engine.dispose()
        requests = raw_requests(env, port, mix)
        db_name = sa.make_url(url).database if kind == "postgres" else None
        offset = log.stat().st_size
        before, db_before = cpu.tree_cpu(proc.pid), cpu.postgres_cpu(db_name) if db_name else {}
        measured = loader(port, requests, connections, seconds)
        after, db_after = cpu.tree_cpu(proc.pid), cpu.postgres_cpu(db_name) if db_name else {}
        lines, problems = _log_since(log, offset)
    db_cpu = cpu.spent(db_before, db_after) if db_name else None
    return Result(measured, cpu.spent(before, after), db_cpu, lines, problems)


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(kind: str, results: dict[str, Result]) -> None:
    """The rows of one database, then its targets."""
    names = {
        "a": "(a) ceiling",
        "b": "(b) /twilio/sms keywords",
        "c": "(c) complaint intake",
        "a wrk": "(a) ceiling, wrk",
        "b wrk": "(b) keywords, wrk",
    }
    for key, r in results.items():
        load = r.load
        answered = "-" if load.answered is None else f"{100 * load.answered / max(load.requests, 1):.0f}%"
        print(
            f"{kind:<9} {names[key]:<26} {r.rate:>7.0f} {load.p50_ms:>7.1f} {load.p99_ms:>7.1f} {load.errors:>6} "
            f"{answered:>8} {r.per_sms_ms(r.server_cpu):>8} {r.per_sms_ms(r.db_cpu):>8} "
            f"{r.log_lines / max(load.requests, 1):>6.2f} {r.log_problems:>6} {load.note}"
        )
    for key, (ratio_target, p99_target, cpu_target) in TARGETS.items():
        for suffix in ("", " wrk"):
            if key + suffix not in results:
                continue
            r, ceiling = results[key + suffix], results["a" + suffix]
            ratio, p99 = r.rate / ceiling.rate, r.load.p99_ms
            line = (
                f"{kind:<9} {'wrk: ' if suffix else ''}({key})/(a) = {ratio:.3f} (target >= {ratio_target}: "
                f"{_met(ratio >= ratio_target)}), p99 {p99:.1f} ms (target <= {p99_target:.0f}: "
                f"{_met(p99 <= p99_target)})"
            )
            if cpu_target is not None:
                per_sms = r.server_cpu * 1000 / max(r.load.requests, 1)
                line += f", server CPU {per_sms:.2f} ms/SMS (target <= {cpu_target}: {_met(per_sms <= cpu_target)})"
            print(line)


def main() -> None:
    """Run every scenario on each database and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--workers", type=int, default=1, help="web worker processes (hotline serve --workers)")
    parser.add_argument("--wrk", action="store_true", help="also run (a) and (b) with Debian's wrk")
    parser.add_argument("--no-statements", action="store_true", help="skip statements and round trips per SMS")
    parser.add_argument("--log-dir", type=Path, help="keep the servers' logs here (default: a temporary folder)")
    args = parser.parse_args()
    if args.wrk and not wrk.available():
        sys.exit("--wrk: wrk is not installed (apt-get install wrk)")
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    per_run = int(args.seconds * 6000)  # more requests than any scenario can serve in the time
    keywords, complaints, warm = keyword_mix(per_run), complaint_mix(per_run), warm_mix()
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; {args.connections} connections, "
        f"{args.seconds:g} s per scenario, {args.workers} worker(s), {len(PHONES)} phones; "
        "server: hotline serve, JSON logs at INFO to a file"
    )
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    print(f"command: python -m bench.webhook {' '.join(sys.argv[1:])}; commit {commit.stdout.strip() or '?'}")
    print(
        f"{'database':<9} {'scenario':<26} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'answered':>8} "
        f"{'CPU ms':>8} {'db CPU':>8} {'log/SMS':>6} {'warn':>6}"
    )
    run = functools.partial(
        scenario, seconds=args.seconds, connections=args.connections, workers=args.workers, log_dir=args.log_dir
    )
    for kind in ("sqlite", "postgres"):
        if args.only and kind != args.only:
            continue
        results = {
            "a": run(kind, BASELINE, keywords, warm[:200], name="a"),
            "b": run(kind, APP, keywords, warm, name="b"),
            "c": run(kind, APP, complaints, warm, prepare=COMPLAINT_PREPARE, name="c"),
        }
        if args.wrk:
            results["a wrk"] = run(kind, BASELINE, keywords, warm[:200], loader=wrk_loader, name="a-wrk")
            results["b wrk"] = run(kind, APP, keywords, warm, loader=wrk_loader, name="b-wrk")
        report(kind, results)
        if not args.no_statements:
            for counted in statements.measure(kind):
                print(counted.line())
        sys.stdout.flush()
    print(
        "CPU ms: server process and workers per request served; db CPU: PostgreSQL backends of the database; "
        "log/SMS: server log lines per request; warn: lines at WARNING or above (or not JSON) while measuring"
    )


if __name__ == "__main__":
    main()
