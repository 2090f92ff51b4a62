"""The scheduler runs the dispatch job: what `make run` (in-process) and `hotline scheduler` rely on."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.context import build_context
from hotline.main import create_app
from hotline.messaging import outbox
from hotline.models import Contact, OutboundMessage, Purpose
from hotline.scheduler import build_scheduler
from tests.support import make_settings


def test_in_process_scheduler_delivers_the_outbox(settings: Settings, session: Session, tmp_path: Path) -> None:
    dev = make_settings(
        settings.database_url,
        tmp_path,
        env="development",
        twilio_account_sid="",
        scheduler_in_process=True,
        dispatch_interval_seconds=0.1,
        send_rate_segments_per_second=100,
    )
    ctx = build_context(dev)
    contact = Contact(phone_hash="s" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ky")
    session.add(contact)
    session.flush()
    # An answer, exempt from quiet hours, so the test passes at any hour of the day.
    outbox.enqueue(session, ctx, contact=contact, text="Салам", purpose=Purpose.REPLY, key="sched:1")
    session.commit()
    with TestClient(create_app(dev)):  # the lifespan starts the scheduler with the console backend
        deadline = time.monotonic() + 10
        status = "pending"
        while status == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
            session.expire_all()
            status = str(session.exec(select(OutboundMessage)).one().status)
    message = session.exec(select(OutboundMessage)).one()
    assert message.status == "sent" and (message.provider_sid or "").startswith("CONSOLE")


def test_production_without_twilio_refuses_to_pretend(settings: Settings, tmp_path: Path) -> None:
    from hotline.channels.senders import make_senders
    from hotline.config import ConfigError

    try:
        make_senders(make_settings(settings.database_url, tmp_path, twilio_account_sid=""))
    except ConfigError as exc:
        assert "HOTLINE_TWILIO_ACCOUNT_SID" in str(exc)
    else:
        raise AssertionError("a production dispatcher without Twilio must not start")


def test_every_periodic_job_is_registered(settings: Settings) -> None:
    scheduler = build_scheduler(settings, blocking=False)
    # Each job is named for what it does, as the function it runs in its domain's jobs.py.
    assert {job.id for job in scheduler.get_jobs()} == {
        "dispatch_outbox",
        "escalate_overdue",
        "forget_abandoned_anonymous",
        "plan_reminders",
        "plan_poll_invitations",
        "purge_login_failures",
        "delete_recordings",
        "enforce_retention",
    }
