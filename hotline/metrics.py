"""Prometheus metrics at /metrics: outbox state read from the database at scrape time, plus in-process counters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.models import OutboundMessage, OutboundStatus, utcnow

router = APIRouter()

WEBHOOK_REQUESTS = Counter("hotline_webhook_requests", "Webhook requests by route and HTTP status", ["route", "status"])
SEND_SECONDS = Histogram(
    "hotline_send_seconds", "Time to hand one SMS to the provider", buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
)
SEND_RESULTS = Counter("hotline_send_results", "Send attempts by result", ["result"])


class WebhookMetrics:
    """Pure ASGI middleware counting Twilio webhook answers by status (no per-request overhead elsewhere)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; count it if it is a webhook."""
        if scope["type"] != "http" or not scope["path"].startswith("/twilio/"):
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            WEBHOOK_REQUESTS.labels(scope["path"], str(status)).inc()


class OutboxCollector(Collector):
    """Outbox figures every process agrees on, because they come from the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Messages by status, how many are due now, and how long the oldest due one has waited."""
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
            oldest = session.exec(select(func.min(OutboundMessage.next_attempt_at)).where(*due_filter)).one()
        by_status = GaugeMetricFamily("hotline_outbox_messages", "Outbound messages by status", labels=["status"])
        for status in OutboundStatus:
            by_status.add_metric([status.value], float(counts.get(status.value, 0)))
        yield by_status
        yield GaugeMetricFamily("hotline_outbox_due", "Messages due to be sent now", value=float(due))
        waited = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "hotline_outbox_oldest_due_seconds", "How long the oldest due message waited", value=max(waited, 0.0)
        )


def registry_for(engine: Engine) -> CollectorRegistry:
    """A registry with the outbox collector and the process's own counters."""
    registry = CollectorRegistry()
    registry.register(OutboxCollector(engine))
    for metric in (WEBHOOK_REQUESTS, SEND_SECONDS, SEND_RESULTS):
        registry.register(metric)
    return registry


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    registry: Any = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
