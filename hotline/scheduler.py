"""Periodic jobs with APScheduler: `hotline scheduler` in its own process, or inside `hotline serve`. Each domain's
scheduled work is in its jobs.py, named for what it does; the job's id is that name."""

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
from sqlmodel import Session

from hotline.channels.senders import make_senders, make_voice_sender, rate_of, sender_key
from hotline.complaints import jobs as complaint_jobs
from hotline.config import Settings
from hotline.context import build_context
from hotline.db import get_engine, session_scope
from hotline.messaging.dispatcher import RateLimiter, dispatch_once
from hotline.messaging.sender import VoiceSender
from hotline.metrics import instrument_jobs
from hotline.models import utcnow
from hotline.polls import jobs as poll_jobs
from hotline.polls.jobs import InvitationReport
from hotline.privacy import jobs as privacy_jobs
from hotline.privacy.jobs import RetentionReport
from hotline.reminders import jobs as reminder_jobs
from hotline.reminders.run import PlanReport
from hotline.staff import jobs as staff_jobs
from hotline.voice import jobs as voice_jobs
from hotline.voice.jobs import DeletionReport

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

    def dispatch_outbox() -> None:
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

    def run(job: Callable[[Session], object]) -> Callable[[], None]:
        # Every other job: one transaction, its report logged when it did something. Each is safe in two scheduler
        # processes at once (it claims its rows), and idempotent.
        def once() -> None:
            with session_scope(engine) as session:
                report = job(session)
            if report:
                log.info("%s: %s", job.__name__, report)

        once.__name__ = job.__name__
        return once

    def escalate_overdue(session: Session) -> int:
        return complaint_jobs.escalate_overdue(session, ctx, utcnow())

    def forget_abandoned_anonymous(session: Session) -> int:
        return complaint_jobs.forget_abandoned_anonymous(session, ctx, utcnow())

    def plan_reminders(session: Session) -> PlanReport:
        return reminder_jobs.plan_reminders(session, ctx, utcnow())

    def plan_poll_invitations(session: Session) -> InvitationReport:
        return poll_jobs.plan_invitations(session, ctx, utcnow())

    def purge_login_failures(session: Session) -> int:
        return staff_jobs.purge_login_failures(session, utcnow())

    def delete_recordings(session: Session) -> DeletionReport:
        # No Twilio account: no voice line, no recordings.
        return voice_jobs.delete_recordings(session, voice, utcnow()) if voice else DeletionReport()

    def enforce_retention(session: Session) -> RetentionReport:
        return privacy_jobs.enforce_retention(session, ctx, utcnow())

    scheduler: BaseScheduler = (
        BlockingScheduler(timezone=settings.timezone) if blocking else BackgroundScheduler(timezone=settings.timezone)
    )
    # One name each, the same as the function it runs (the job_id label of /metrics).
    jobs: list[tuple[Callable[[], None], dict[str, Any]]] = [
        (dispatch_outbox, {"seconds": settings.dispatch_interval_seconds}),
        (run(escalate_overdue), {"minutes": settings.escalation_interval_minutes}),
        # Often: an anonymous draft left behind sits next to the phone's contact until it goes.
        (run(forget_abandoned_anonymous), {"minutes": 10}),
        (run(plan_reminders), {"hours": 1, "next_run_time": datetime.now(UTC)}),
        (run(purge_login_failures), {"hours": 1}),
        (run(plan_poll_invitations), {"minutes": 5}),  # a started poll's invitations, 100 000 a run at most
        (run(delete_recordings), {"hours": 1}),
    ]
    for job, timing in jobs:
        # One running instance per process; a run missed while the last one ran is not repeated.
        scheduler.add_job(job, "interval", id=job.__name__, max_instances=1, coalesce=True, **timing)
    # At night, local time, when the hotline is quiet; started up to an hour late if the process was busy or down.
    retention = run(enforce_retention)
    scheduler.add_job(
        retention,
        "cron",
        hour=RETENTION_HOUR,
        id=retention.__name__,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    instrument_jobs(scheduler)  # runs, failures, duration and last success of every job, in /metrics
    return scheduler
