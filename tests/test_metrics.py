"""/metrics: webhooks counted by route and status, scheduler jobs, the outbox and the voice line from the database,
and one sum over several web workers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from sqlalchemy import text
from sqlmodel import Session

from hotline.config import Settings
from hotline.context import build_context
from hotline.db import get_engine
from hotline.main import create_app
from hotline.messaging import outbox
from hotline.metrics import process_registry
from hotline.models import Contact, DeliveryReport, Purpose
from hotline.scheduler import build_scheduler
from tests.factories import post_form, sms_form
from tests.support import free_port, make_settings, throwaway_database
from tests.voice.phone import Phone


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(name) + (re.escape("{" + wanted + "}") if labels else "") + r" (\S+)"
    found = re.search(r"^" + pattern + r"$", exposition, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_a_signed_webhook_is_counted_and_timed_by_route_and_status(client: TestClient, settings: Settings) -> None:
    before = client.get("/metrics").text
    assert post_form(client, settings, sms_form("HELP")).status_code == 200
    assert client.post("/twilio/no-such-hook").status_code in (404, 405)
    after = client.get("/metrics").text
    counted, ok = "hotline_webhook_requests_total", {"route": "/twilio/sms", "status": "200"}
    assert sample(after, counted, **ok) == sample(before, counted, **ok) + 1
    timed = "hotline_webhook_duration_seconds_count"
    assert sample(after, timed, route="/twilio/sms") == sample(before, timed, route="/twilio/sms") + 1
    # A made-up path is counted under one label, not its own: scanners cannot grow the series without bound.
    assert "/twilio/no-such-hook" not in after
    assert 'hotline_webhook_requests_total{route="unmatched"' in after


def test_voice_line_and_database_figures(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"voice_callback": True}))) as client:
        Phone(client, settings).dial()  # a missed call: rejected, and a callback queued
        exposition = client.get("/metrics").text
    assert sample(exposition, "hotline_database_up") == 1
    assert sample(exposition, "hotline_voice_callbacks_waiting") == 1
    assert sample(exposition, "hotline_voice_calls_last_day", direction="rejected") == 1
    assert sample(exposition, "hotline_voice_calls_last_day", direction="inbound") == 0
    assert sample(exposition, "hotline_outbox_messages", status="pending") == 1


def test_each_channel_s_backlog_and_the_reports_kept_show(settings: Settings, session: Session) -> None:
    both = settings.model_copy(update={"channels": "kannel,twilio", "kannel_secret": "k" * 40})
    ctx = build_context(both)
    contact = Contact(phone_hash="h" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ky")
    contact.last_channel = "kannel"
    session.add(contact)
    session.flush()
    for key in ("a", "b"):
        outbox.enqueue(session, ctx, contact=contact, text="Салам", purpose=Purpose.REPLY, key=key)
    session.add(DeliveryReport(transport="kannel", reference="999", status="delivered"))
    session.commit()
    with TestClient(create_app(both)) as client:
        exposition = client.get("/metrics").text
    assert sample(exposition, "hotline_outbox_due_by_channel", channel="kannel") == 2
    assert sample(exposition, "hotline_outbox_due_by_channel", channel="twilio") == 0
    assert sample(exposition, "hotline_delivery_reports_waiting") == 1


def test_metrics_answer_while_the_database_is_down(tmp_path: Path) -> None:
    broken = make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path, migrate_on_start=False)
    with TestClient(create_app(broken)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert sample(response.text, "hotline_database_up") == 0
    assert "hotline_outbox_due" not in response.text


def test_a_failing_job_shows_in_job_metrics(tmp_path: Path) -> None:
    # A real failure, not a mock: the table the hourly clean-up job works on is gone.
    with throwaway_database(None, tmp_path) as url:
        scheduler = build_scheduler(make_settings(url, tmp_path), blocking=False)
        with get_engine(url).begin() as conn:
            conn.execute(text("DROP TABLE loginfailure"))
        before = generate_latest(process_registry()).decode()
        # The registry is the process's: another test's scheduler may have recorded a success already.
        started = time.time()
        scheduler.start()
        try:
            scheduler.get_job("purge_login_failures").modify(next_run_time=datetime.now(UTC))
            deadline = time.monotonic() + 15
            job = {"job_id": "purge_login_failures"}
            while time.monotonic() < deadline:
                after = generate_latest(process_registry()).decode()
                failed = sample(after, "hotline_job_failures_total", **job) > sample(
                    before, "hotline_job_failures_total", **job
                )
                planned = sample(after, "hotline_job_last_success_timestamp_seconds", job_id="plan_reminders")
                if failed and planned >= started:
                    break
                time.sleep(0.1)
        finally:
            scheduler.shutdown(wait=True)
    assert sample(after, "hotline_job_runs_total", **job) == sample(before, "hotline_job_runs_total", **job) + 1
    assert sample(after, "hotline_job_failures_total", **job) == sample(before, "hotline_job_failures_total", **job) + 1
    assert sample(after, "hotline_job_interval_seconds", **job) == 3600
    for every in scheduler.get_jobs():  # interval or cron: each has the period the "stale job" alert needs
        assert sample(after, "hotline_job_interval_seconds", job_id=every.id) > 0, every.id
    # The job that plans reminders ran at start and succeeded: its last success is this run's.
    assert sample(after, "hotline_job_last_success_timestamp_seconds", job_id="plan_reminders") >= started


def test_several_workers_report_one_sum_and_log_json(env: Settings, tmp_path: Path) -> None:
    port = free_port()
    folder = tmp_path / "prometheus"
    environment = {
        **os.environ,
        "HOTLINE_MIGRATE_ON_START": "false",
        "HOTLINE_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }
    command = [sys.executable, "-c", "from hotline.cli import app; app()", "serve", "--port", str(port)]
    command += ["--workers", "2"]
    server = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert server.poll() is None, server.communicate()[1]
        for _ in range(10):  # unsigned: 403, each on a new connection so both workers may take some
            assert httpx.post(f"{base}/twilio/sms", data={"Body": "x"}, timeout=5).status_code == 403
        for _ in range(3):  # whichever worker answers the scrape, the sum is the same
            exposition = httpx.get(f"{base}/metrics", timeout=5).text
            assert sample(exposition, "hotline_webhook_requests_total", route="/twilio/sms", status="403") == 10
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines()]
    loggers = {line["logger"] for line in lines}
    assert "uvicorn.error" in loggers and "hotline.access" in loggers and "uvicorn.access" not in loggers
    assert sum(1 for line in lines if line.get("path") == "/twilio/sms" and line.get("status") == 403) == 10
