"""The webhook benchmark's second load generator: Debian's wrk (C, epoll), which shows whether bench.webhook's own
asyncio generator is the limit. `python -m bench.webhook --wrk` runs the ceiling and the keyword scenario with it.

Each wrk thread sends its own share of the same pre-built, pre-signed requests, in order (bench/wrk_requests.lua),
over keep-alive connections; wrk's own latency histogram gives the percentiles."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "wrk_requests.lua"


@dataclass
class WrkResult:
    """What wrk measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers and socket errors
    wrapped: int  # times a thread ran out of fresh requests and started over (repeats of a MessageSid)


def available() -> bool:
    """True when wrk is installed (apt-get install wrk)."""
    return shutil.which("wrk") is not None


def wrk_load(port: int, requests: list[bytes], connections: int, seconds: float, threads: int = 2) -> WrkResult:
    """Send `requests` to 127.0.0.1:port with wrk for `seconds` (each thread its own share, in order)."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        prefix = Path(folder) / "requests"
        for thread in range(threads):
            Path(f"{prefix}.{thread}").write_bytes(b"".join(r + b"\0" for r in requests[thread::threads]))
        command = [
            "wrk",
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=10s",
            "--latency",
            f"--script={SCRIPT}",
            f"http://127.0.0.1:{port}/twilio/sms",
            "--",
            str(prefix),
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    return WrkResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["status_errors"] + figures["socket_errors"],
        wrapped=figures["wrapped"],
    )
