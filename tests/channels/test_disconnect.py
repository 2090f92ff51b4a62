"""A client that hangs up in the middle of its body (a proxy timing out, a scanner) ends its request quietly on a
real server: no 500, no traceback, nothing stored, and the server goes on answering."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from hotline.config import Settings
from hotline.models import InboundMessage
from tests.cluster import Cluster, cluster_settings, running_cluster

WEBHOOKS = ["/twilio/sms", "/android/webhook"]


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """`hotline serve` with the production log format (JSON lines), its log in a file."""
    cset = cluster_settings(settings, "http://127.0.0.1:9")
    with running_cluster(cset, tmp_path_factory.mktemp("logs")) as cluster:
        cluster.start_web(workers=1)
        yield cluster


def hang_up_mid_body(port: int, path: str) -> None:
    """Headers announcing 500 bytes, then 100 of them, then close."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: hotline.example.org\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: c2lnbmF0dXJl\r\n"
        "Content-Length: 500\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode() + b"Body=" + b"x" * 95)


def access_lines(log: str, path: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "hotline.access" and line.get("path") == path]


@pytest.mark.parametrize("path", WEBHOOKS)
def test_a_client_hanging_up_mid_body_gets_no_500_and_no_traceback(server: Cluster, engine: Engine, path: str) -> None:
    before = len(access_lines(server.log("web"), path))
    hang_up_mid_body(server.port, path)
    deadline = time.monotonic() + 10
    while len(access_lines(server.log("web"), path)) == before:
        assert time.monotonic() < deadline, "the request was never logged"
        time.sleep(0.05)
    log = server.log("web")
    (line,) = access_lines(log, path)[before:]
    assert line["status"] == 400 and line["level"] == "INFO"
    assert "Traceback" not in log and "Exception in ASGI" not in log and '"status": 500' not in log
    assert "x" * 20 not in log  # nothing of the body
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(InboundMessage)).scalar_one() == 0
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200  # and the server goes on
