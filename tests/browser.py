"""A real server in a thread and headless Chromium (Debian's) driven by Playwright, for page tests."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI

CHROMIUM = "/usr/bin/chromium"
# Chromium's background services would try the closed network at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; CI (HOTLINE_REQUIRE_BROWSER=1) must have it."""
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("HOTLINE_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} missing (apt-get install chromium); .ci/run installs it")


@contextmanager
def serve(app: FastAPI, port: int) -> Iterator[str]:
    """Run the app with uvicorn in a thread; yield its base URL; stop it afterwards."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
