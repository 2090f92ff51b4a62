"""Prometheus metrics at /metrics: outbox and voice-line state read from the database at scrape time, plus
in-process counters (webhooks, sends, scheduler jobs).

Counters live in the process that counts: with several web workers, `hotline serve` turns on prometheus_client's
multiprocess mode so /metrics sums them all; `hotline scheduler` serves its own on HOTLINE_SCHEDULER_METRICS_PORT."""

from __future__ import annotations

import functools
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.logs import REQUEST_ID
from hotline.models import (
    CallDirection,
    DeliveryReport,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    RecordingDeletion,
    VoiceCall,
    utcnow,
)

router = APIRouter()
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):
    # prometheus_client opens its files there as soon as a metric is made (just below): the folder must exist.
    Path(os.environ[MULTIPROC_ENV]).mkdir(parents=True, exist_ok=True)

WEBHOOK_REQUESTS = Counter("hotline_webhook_requests", "Webhook requests by route and HTTP status", ["route", "status"])
# Twilio waits 15 s, then answers the family from the fallback URL: the buckets are dense below that.
WEBHOOK_SECONDS = Histogram(
    "hotline_webhook_duration_seconds",
    "Time to answer a Twilio webhook",
    ["route"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15),
)
SEND_SECONDS = Histogram(
    "hotline_send_seconds", "Time to hand one SMS to the provider", buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
)
SEND_RESULTS = Counter("hotline_send_results", "Send attempts by result", ["result"])
# Not "job": Prometheus puts its own `job` label (the scrape target's) on every series.
JOB_LABELS = ["job_id"]
JOB_RUNS = Counter("hotline_job_runs", "Runs of a scheduler job", JOB_LABELS)
JOB_FAILURES = Counter("hotline_job_failures", "Runs of a scheduler job that raised an error", JOB_LABELS)
JOB_SECONDS = Histogram(
    "hotline_job_duration_seconds",
    "Time one run of a scheduler job took",
    JOB_LABELS,
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60),
)
# "max" across processes: with two schedulers, the job is fine if either of them ran it.
JOB_LAST_SUCCESS = Gauge(
    "hotline_job_last_success_timestamp_seconds",
    "Unix time a scheduler job last finished without error",
    JOB_LABELS,
    multiprocess_mode="max",
)
JOB_INTERVAL = Gauge(
    "hotline_job_interval_seconds", "How often a scheduler job runs", JOB_LABELS, multiprocess_mode="max"
)
# Reply loops (hotline/dialogue/loops.py): each loop found once, and every message left unanswered because of one.
REPLY_LOOPS = Counter(
    "hotline_reply_loops", "Reply loops found: a phone sent more alike messages than HOTLINE_LOOP_LIMIT"
)
REPLY_LOOP_UNANSWERED = Counter("hotline_reply_loop_unanswered", "Inbound messages not answered during a reply loop")
PROCESS_METRICS = (
    WEBHOOK_REQUESTS,
    WEBHOOK_SECONDS,
    SEND_SECONDS,
    SEND_RESULTS,
    JOB_RUNS,
    JOB_FAILURES,
    JOB_SECONDS,
    JOB_LAST_SUCCESS,
    JOB_INTERVAL,
    REPLY_LOOPS,
    REPLY_LOOP_UNANSWERED,
)


class WebhookMetrics:
    """Pure ASGI middleware counting and timing Twilio webhook answers (no per-request overhead elsewhere)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; count it if it is a webhook."""
        if scope["type"] != "http" or not scope["path"].startswith("/twilio/"):
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            # The matched route's template, never the raw path: a scanner's made-up paths must not each make a
            # new time series.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            counter, timer = _webhook_series(route, status)
            counter.inc()
            timer.observe(time.perf_counter() - started)


# The series of each (route, status) seen, looked up once: labels() checks and locks on every call.
_WEBHOOK_SERIES: dict[tuple[str, int], tuple[Counter, Histogram]] = {}


def _webhook_series(route: str, status: int) -> tuple[Counter, Histogram]:
    series = _WEBHOOK_SERIES.get((route, status))
    if series is None:  # a few routes (their templates, not raw paths) times a few statuses: the dict stays small
        series = (WEBHOOK_REQUESTS.labels(route, str(status)), WEBHOOK_SECONDS.labels(route))
        _WEBHOOK_SERIES[(route, status)] = series
    return series


class DatabaseCollector(Collector):
    """Figures every process agrees on, because they come from the database; each query walks an index."""

    def __init__(self, engine: Engine, channels: tuple[str, ...] = ("twilio",)) -> None:
        self.engine = engine
        self.channels = channels

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Database up, outbox by status, due and oldest wait, and the voice line's last day."""
        try:
            families = list(self._read())
        except SQLAlchemyError:
            # /metrics still answers (with the process's counters), so "database down" is not "server down".
            yield GaugeMetricFamily("hotline_database_up", "1 when the database answered this scrape", value=0.0)
            return
        yield GaugeMetricFamily("hotline_database_up", "1 when the database answered this scrape", value=1.0)
        yield from families

    def _read(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        with Session(self.engine) as session:
            counts = dict(
                session.exec(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all()
            )
            due_filter = (
                col(OutboundMessage.status) == OutboundStatus.PENDING,
                col(OutboundMessage.next_attempt_at) <= now,
            )
            due = session.exec(select(func.count()).select_from(OutboundMessage).where(*due_filter)).one()
            due_by_channel = dict(
                session.exec(
                    select(OutboundMessage.transport, func.count())
                    .where(*due_filter)
                    .group_by(OutboundMessage.transport)
                ).all()
            )
            reports_waiting = session.exec(select(func.count()).select_from(DeliveryReport)).one()
            oldest = session.exec(select(func.min(OutboundMessage.next_attempt_at)).where(*due_filter)).one()
            callbacks = session.exec(
                select(func.count())
                .select_from(OutboundMessage)
                .where(
                    col(OutboundMessage.status).in_([OutboundStatus.PENDING, OutboundStatus.SENDING]),
                    OutboundMessage.purpose == Purpose.CALLBACK,
                )
            ).one()
            calls = dict(
                session.exec(
                    select(VoiceCall.direction, func.count())
                    .where(col(VoiceCall.started_at) >= now - timedelta(days=1))
                    .group_by(VoiceCall.direction)
                ).all()
            )
            # Recordings queued for deletion at Twilio and not yet confirmed.
            recordings = session.exec(select(func.count()).select_from(RecordingDeletion)).one()
        by_status = GaugeMetricFamily("hotline_outbox_messages", "Outbound messages by status", labels=["status"])
        for status in OutboundStatus:
            by_status.add_metric([status.value], float(counts.get(status.value, 0)))
        yield by_status
        yield GaugeMetricFamily("hotline_outbox_due", "Messages due to be sent now", value=float(due))
        # One channel's backlog (Kannel down, the Android phone offline) shows on its own.
        by_channel = GaugeMetricFamily(
            "hotline_outbox_due_by_channel", "Messages due to be sent now, by channel", labels=["channel"]
        )
        for channel in self.channels:
            by_channel.add_metric([channel], float(due_by_channel.get(channel, 0)))
        yield by_channel
        yield GaugeMetricFamily(
            "hotline_delivery_reports_waiting",
            "Delivery reports kept because their message's send was not recorded (or is unknown)",
            value=float(reports_waiting),
        )
        waited = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "hotline_outbox_oldest_due_seconds", "How long the oldest due message waited", value=max(waited, 0.0)
        )
        yield GaugeMetricFamily(
            "hotline_voice_callbacks_waiting", "Missed-call callbacks queued and not yet placed", value=float(callbacks)
        )
        by_direction = GaugeMetricFamily(
            "hotline_voice_calls_last_day",
            "Calls started in the last 24 hours by direction (hotline.models.CallDirection)",
            labels=["direction"],
        )
        for direction in sorted({d.value for d in CallDirection} | set(calls)):
            by_direction.add_metric([direction], float(calls.get(direction, 0)))
        yield by_direction
        yield GaugeMetricFamily(
            "hotline_recordings_to_delete",
            "Recordings the hotline let go of that Twilio has not yet confirmed deleted",
            value=float(recordings),
        )


def registry_for(engine: Engine, channels: tuple[str, ...] = ("twilio",)) -> CollectorRegistry:
    """The web server's registry: the database figures, and the counters of this process (or of every worker)."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(engine, channels))
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # sums what each worker wrote in the shared folder
    else:
        for metric in PROCESS_METRICS:
            registry.register(metric)
    return registry


def process_registry() -> CollectorRegistry:
    """This process's own counters only: what `hotline scheduler` serves (sends and jobs happen there)."""
    registry = CollectorRegistry()
    for metric in PROCESS_METRICS:
        registry.register(metric)
    return registry


def prepare_multiprocess_dir() -> Path:
    """Before web workers start: an empty folder for their counters (stale files would add old counts)."""
    folder = Path(os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="hotline-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # only prometheus_client's own files, whatever folder was given
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)  # the workers inherit it before they import prometheus_client
    return folder


def timed_job(name: str, job: Callable[[], None]) -> Callable[[], None]:
    """The job, counted and timed; each run's log lines share an id (`job-<name>-<hex>`)."""

    @functools.wraps(job)
    def run() -> None:
        token = REQUEST_ID.set(f"job-{name}-{secrets.token_hex(4)}")
        started = time.perf_counter()
        JOB_RUNS.labels(name).inc()
        try:
            job()
        except Exception:
            JOB_FAILURES.labels(name).inc()
            raise  # APScheduler logs it and runs the job again at the next interval
        else:
            JOB_LAST_SUCCESS.labels(name).set(time.time())
        finally:
            JOB_SECONDS.labels(name).observe(time.perf_counter() - started)
            REQUEST_ID.reset(token)

    return run


def instrument_jobs(scheduler: Any) -> None:
    """Wrap every job of an APScheduler scheduler (before it starts) with `timed_job`, and publish its interval."""
    for job in scheduler.get_jobs():
        job.modify(func=timed_job(job.id, job.func))
        # Series at zero from the start, so rate() and "no success yet" alerts work before the first run.
        JOB_RUNS.labels(job.id)
        JOB_FAILURES.labels(job.id)
        period = job_period(job.trigger)
        if period is not None:
            JOB_INTERVAL.labels(job.id).set(period)


def job_period(trigger: Any) -> float | None:
    """Seconds between two runs of an APScheduler trigger: an interval's, or the gap between a cron's next two."""
    interval = getattr(trigger, "interval", None)
    if isinstance(interval, timedelta):
        return interval.total_seconds()
    first = trigger.get_next_fire_time(None, datetime.now(UTC))
    second = trigger.get_next_fire_time(first, first + timedelta(microseconds=1)) if first else None
    return (second - first).total_seconds() if first and second else None


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    registry: Any = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
