"""Periodic jobs with APScheduler: `hotline scheduler` in its own process, or inside `hotline serve`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from hotline.channels.senders import make_senders, make_voice_sender, rate_of, sender_key
from hotline.complaints.escalation import escalate_overdue
from hotline.config import Settings
from hotline.context import build_context
from hotline.db import get_engine, session_scope
from hotline.messaging.dispatcher import RateLimiter, dispatch_once
from hotline.messaging.sender import VoiceSender
from hotline.metrics import instrument_jobs
from hotline.models import utcnow
from hotline.privacy.retention import enforce_retention
from hotline.reminders.planner import plan_day
from hotline.staff.auth import purge_login_failures
from hotline.voice.recordings import delete_recordings

log = logging.getLogger(__name__)
MAX_DRAIN_SECONDS = 30.0
RETENTION_HOUR = 3  # local time of the daily retention run


def build_scheduler(settings: Settings, *, blocking: bool) -> BaseScheduler:
    """A scheduler with every periodic job; each job is safe to run in two processes at once on PostgreSQL."""
    engine = get_engine(settings.database_url)
    ctx = build_context(settings)
    senders = make_senders(settings)
    twilio = senders.get("twilio")
    voice = twilio if isinstance(twilio, VoiceSender) else make_voice_sender(settings)
    if voice is not None:
        senders[voice.name] = voice  # callbacks are placed through Twilio even where its SMS is not used
    limiters = {name: RateLimiter(engine, sender_key(settings, name), rate_of(settings, name)) for name in senders}
    pool = ThreadPoolExecutor(max_workers=settings.send_concurrency, thread_name_prefix="send")

    def dispatch() -> None:
        # Drain what is due on each channel, in batches, but give the scheduler back its thread now and then.
        started = time.monotonic()
        busy = set(senders)
        while busy and time.monotonic() - started < MAX_DRAIN_SECONDS:
            for name in sorted(busy):
                report = dispatch_once(engine, ctx, senders[name], limiters[name], pool=pool)
                if report.claimed:
                    log.info("dispatch %s: %s", name, report)
                else:
                    busy.discard(name)

    def escalate() -> None:
        # Overdue complaints move up a level; safe to run in two processes (each deadline is claimed once).
        with session_scope(engine) as session:
            done = escalate_overdue(session, ctx, utcnow())
        if done:
            log.info("escalated %d overdue complaints", done)

    def plan_reminders() -> None:
        # Hourly, for today: idempotent, so a restart or a second scheduler process plans nothing twice.
        now = utcnow()
        with session_scope(engine) as session:
            report = plan_day(session, ctx, ctx.local_day(now), now)
        if report.sent or report.skipped:
            log.info("reminders planned: %s", report)

    def forget_login_failures() -> None:
        # Failures older than the throttle window no longer count: drop them rather than keep them for ever.
        with session_scope(engine) as session:
            purge_login_failures(session, utcnow())

    def delete_old_recordings() -> None:
        # Recordings the hotline let go of (short ones, old complaints) are deleted at Twilio, retried until done.
        with session_scope(engine) as session:
            if voice is None:
                return  # no Twilio account: no voice line, no recordings
            report = delete_recordings(session, voice, utcnow())
        if report.deleted or report.already_gone or report.failed:
            log.info("recordings at Twilio: %s", report)

    def apply_retention() -> None:
        # Daily: old message bodies, complainants' links and old complaint texts go (HOTLINE_*_DAYS settings).
        # Idempotent and batched; a second scheduler process skips the rows this one holds.
        with session_scope(engine) as session:
            report = enforce_retention(session, ctx, utcnow())
        if report:
            log.info("retention: %s", report)

    scheduler: BaseScheduler = (
        BlockingScheduler(timezone=settings.timezone) if blocking else BackgroundScheduler(timezone=settings.timezone)
    )
    jobs: list[tuple[Callable[[], None], dict[str, Any]]] = [
        (dispatch, {"seconds": settings.dispatch_interval_seconds}),
        (escalate, {"minutes": settings.escalation_interval_minutes}),
        (plan_reminders, {"hours": 1, "next_run_time": datetime.now(UTC)}),
        (forget_login_failures, {"hours": 1}),
        (delete_old_recordings, {"hours": 1}),
    ]
    for job, timing in jobs:
        # One running instance per process; a run missed while the last one ran is not repeated.
        scheduler.add_job(job, "interval", id=job.__name__, max_instances=1, coalesce=True, **timing)
    # At night, local time, when the hotline is quiet; started up to an hour late if the process was busy or down.
    scheduler.add_job(
        apply_retention,
        "cron",
        hour=RETENTION_HOUR,
        id=apply_retention.__name__,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    instrument_jobs(scheduler)  # runs, failures, duration and last success of every job, in /metrics
    return scheduler
