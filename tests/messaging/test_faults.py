"""Fault tests, bounded in time: killed dispatchers, two dispatchers at once, Twilio down then back."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hotline.channels.twilio import TwilioSender
from hotline.config import Settings
from hotline.context import Context, build_context
from hotline.messaging import outbox
from hotline.messaging.dispatcher import RateLimiter, dispatch_once
from hotline.models import Contact, OutboundMessage, Purpose, utcnow
from tests.fake_twilio import FakeTwilio

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 90


def fill_outbox(session: Session, ctx: Context, count: int) -> None:
    """`count` messages to 20 phones, each body unique so a duplicate send is visible."""
    contacts = []
    for i in range(20):
        phone = f"+99655510{i:04d}"
        contact = Contact(
            phone_hash=ctx.vault.lookup_hash(phone), phone_encrypted=ctx.vault.encrypt(phone), language="ru"
        )
        session.add(contact)
        contacts.append(contact)
    session.flush()
    for i in range(count):
        outbox.enqueue(
            session, ctx, contact=contacts[i % 20], text=f"message {i}", purpose=Purpose.REPLY, key=f"fault:{i}"
        )
    session.commit()


def worker_env(settings: Settings, fake: FakeTwilio) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HOTLINE_ENV": "production",
            "HOTLINE_DATABASE_URL": settings.database_url,
            "HOTLINE_PUBLIC_URL": settings.public_url,
            "HOTLINE_SECRET_KEY": settings.secret_key,
            "HOTLINE_ENCRYPTION_KEYS": settings.encryption_keys,
            "HOTLINE_LOOKUP_KEY": settings.lookup_key,
            "HOTLINE_TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
            "HOTLINE_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
            "HOTLINE_TWILIO_FROM_NUMBER": settings.twilio_from_number,
            "HOTLINE_TWILIO_API_URL": fake.url,
            "HOTLINE_SEND_RATE_SEGMENTS_PER_SECOND": "400",
            "HOTLINE_DISPATCH_INTERVAL_SECONDS": "0.05",
            "HOTLINE_DISPATCH_BATCH": "10",
            "HOTLINE_LEASE_SECONDS": "5",
        }
    )
    return env


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hotline.cli", "scheduler"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def pending(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status != "sent")
        return int(session.exec(query).one())


def assert_each_sent_once(fake: FakeTwilio, count: int) -> None:
    times = Counter(m["body"] for m in fake.messages)
    lost = [i for i in range(count) if times[f"message {i}"] == 0]
    twice = [body for body, n in times.items() if n > 1]
    assert (lost, twice) == ([], [])


def test_sigkill_at_random_moments_loses_nothing_and_sends_nothing_twice(
    settings: Settings, fake: FakeTwilio, session: Session, engine: Engine, ctx: Context
) -> None:
    count = 1500
    fill_outbox(session, ctx, count)
    fake.delay_seconds = 0.005  # a little time inside each send, where a kill hurts most
    # About 10 s of sending at 150 segments/s, so every kill below lands while work remains.
    env = worker_env(settings, fake) | {"HOTLINE_SEND_RATE_SEGMENTS_PER_SECOND": "150"}
    workers = 2 if settings.database_url.startswith("postgresql") else 1  # SQLite supports one dispatcher
    rng = random.Random(20261122)
    deadline = time.monotonic() + DEADLINE_SECONDS
    kills = 0
    while pending(engine) and time.monotonic() < deadline:
        procs = [start_worker(env) for _ in range(workers)]
        if kills < 4:
            time.sleep(rng.uniform(1.5, 3.0))  # start-up takes about a second, then kill mid-batch
            assert pending(engine), "the work ran out before the kill: raise the message count"
            for proc in procs:
                proc.send_signal(signal.SIGKILL)
            kills += 1
        else:
            while pending(engine) and time.monotonic() < deadline:
                time.sleep(0.2)
            for proc in procs:
                proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
    assert pending(engine) == 0, "not all messages were sent in time"
    assert kills == 4  # every kill landed while messages were still waiting
    assert_each_sent_once(fake, count)


def test_two_dispatchers_share_one_outbox(
    settings: Settings, fake: FakeTwilio, session: Session, engine: Engine, ctx: Context
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("two dispatchers need PostgreSQL (SKIP LOCKED); SQLite supports one, as documented")
    count = 400
    fill_outbox(session, ctx, count)
    procs = [start_worker(worker_env(settings, fake)) for _ in range(2)]
    deadline = time.monotonic() + DEADLINE_SECONDS
    while pending(engine) and time.monotonic() < deadline:
        time.sleep(0.2)
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=20)
    assert_each_sent_once(fake, count)


def test_twilio_down_for_a_while_then_back(
    settings: Settings, fake: FakeTwilio, session: Session, engine: Engine, ctx: Context
) -> None:
    count = 30
    fill_outbox(session, ctx, count)
    tctx = build_context(
        settings.model_copy(update={"twilio_api_url": fake.url, "send_rate_segments_per_second": 1000})
    )
    sender, limiter = TwilioSender(tctx.settings), RateLimiter(engine, "outage", 1000)
    fake.fail(503, None, "Service Unavailable", times=-1)
    report = dispatch_once(engine, tctx, sender, limiter, sleep=lambda _: None)
    assert report.retried == count and fake.messages == []
    fake.recover()
    with Session(engine) as fresh:
        assert outbox.retry_now(fresh, utcnow()) == count
        fresh.commit()
    assert dispatch_once(engine, tctx, sender, limiter, sleep=lambda _: None).sent == count
    assert_each_sent_once(fake, count)


def test_timeout_is_retried_without_sending_twice(
    settings: Settings, fake: FakeTwilio, session: Session, engine: Engine, ctx: Context
) -> None:
    fill_outbox(session, ctx, 1)
    tctx = build_context(settings.model_copy(update={"twilio_api_url": fake.url}))
    sender, limiter = TwilioSender(tctx.settings, timeout=0.2), RateLimiter(engine, "slow", 10)
    fake.delay_seconds = 0.6
    assert dispatch_once(engine, tctx, sender, limiter, sleep=lambda _: None).retried == 1
    with Session(engine) as fresh:
        assert fresh.exec(select(OutboundMessage)).one().last_error_code == "network"
        time.sleep(0.8)  # the slow request did reach Twilio after we gave up on it
        outbox.retry_now(fresh, utcnow())
        fresh.commit()
    fake.delay_seconds = 0
    report = dispatch_once(engine, tctx, sender, limiter, sleep=lambda _: None)
    assert (report.reconciled, report.sent) == (1, 0)
    assert_each_sent_once(fake, 1)
