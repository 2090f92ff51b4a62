"""Sending the outbox: claim due messages, respect the shared rate limit, record results, retry or give up.

Safe with several dispatchers on PostgreSQL (claims use SELECT ... FOR UPDATE SKIP LOCKED and a claim token);
on SQLite one dispatcher is supported. A dispatcher killed at any point loses nothing: a claimed message whose
lease runs out is claimed again, and before it is resent the provider is asked whether it already went out."""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.config import Settings
from hotline.context import Context
from hotline.db import begin_write, write_lock_of
from hotline.messaging.optout import TWILIO
from hotline.messaging.outbox import (
    QUIET_HOURS_EXEMPT,
    REQUESTED_BY_FAMILY,
    apply_kept_reports,
    in_quiet_hours,
    opt_out_at_twilio,
    report_waiting,
)
from hotline.messaging.sender import LookupFailed, Outgoing, Sender, SendResult, VoiceSender
from hotline.metrics import SEND_RESULTS, SEND_SECONDS
from hotline.models import Channel, Contact, OutboundMessage, OutboundStatus, Purpose, SenderClock, utcnow

log = logging.getLogger(__name__)
RECLAIMED = "lease_expired"  # last_error_code of a message whose earlier attempt may have reached the provider
# Earlier attempts that may have reached the provider without us hearing back: look before resending.
AMBIGUOUS = {RECLAIMED, "network"}


@dataclass
class DispatchReport:
    """What one dispatch run did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    expired: int = 0
    reconciled: int = 0
    skipped: int = 0
    reports_applied: int = 0  # delivery reports kept earlier, applied in this run


# Aim a little under the provider's limit: network jitter can bunch sends that left evenly spaced, and the
# limit must hold in any 1-second window as the provider sees it.
RATE_HEADROOM = 0.9
LATE_TOLERANCE = 0.05  # seconds a send may start after its slot before it books a new one


class RateLimiter:
    """Segments per second per sender, shared through the database by every dispatcher process."""

    def __init__(self, engine: Engine, sender: str, rate: float, headroom: float = RATE_HEADROOM) -> None:
        self.engine, self.sender, self.rate = engine, sender, rate * headroom
        clock = SenderClock.__table__  # type: ignore[attr-defined]
        with engine.begin() as conn:
            if conn.execute(sa.select(clock.c.sender).where(clock.c.sender == sender)).first() is None:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(clock).values(sender=sender, next_free=0.0))
                except IntegrityError:
                    pass  # another process made it

    def reserve(self, segments: int, now: float) -> float:
        """Book `segments` on the sender's clock in one atomic statement; return when sending may start."""
        clock = SenderClock.__table__  # type: ignore[attr-defined]
        duration = segments / self.rate
        start = sa.case((clock.c.next_free > now, clock.c.next_free), else_=now)
        with self.engine.begin() as conn:
            new_free = conn.execute(
                sa.update(clock)
                .where(clock.c.sender == self.sender)
                .values(next_free=start + duration)
                .returning(clock.c.next_free)
            ).scalar_one()
        return float(new_free) - duration


def backoff(attempts: int, first: float = 30.0) -> timedelta:
    """30 s (HOTLINE_RETRY_BACKOFF_SECONDS), 1 min, 2 min … up to an hour, with jitter so retries of many messages
    spread out."""
    seconds = min(first * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def expire_overdue(session: Session, now: datetime) -> int:
    """Mark waiting messages past their expiry as expired: never sent late."""
    result = session.execute(
        sa.update(OutboundMessage)
        .where(
            col(OutboundMessage.status) == OutboundStatus.PENDING,
            col(OutboundMessage.expires_at).is_not(None),
            col(OutboundMessage.expires_at) <= now,
        )
        .values(status=OutboundStatus.EXPIRED, updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(col(OutboundMessage.status) == OutboundStatus.PENDING, col(OutboundMessage.next_attempt_at) <= now),
        sa.and_(col(OutboundMessage.status) == OutboundStatus.SENDING, col(OutboundMessage.lease_until) < now),
    )


def claim(session: Session, ctx: Context, now: datetime, limit: int, transport: str) -> str | None:
    """Take up to `limit` due messages of one channel (answers first) for this dispatcher; returns the claim token."""
    settings = ctx.settings
    quiet = in_quiet_hours(now, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end)
    # Two queries that each walk an index (one OR-ed query scans the whole table): leases that ran out, then
    # pending messages in priority order.
    reclaim = select(OutboundMessage.id).where(
        col(OutboundMessage.status) == OutboundStatus.SENDING,
        col(OutboundMessage.lease_until) < now,
        col(OutboundMessage.transport) == transport,
    )
    waiting = select(OutboundMessage.id).where(
        col(OutboundMessage.status) == OutboundStatus.PENDING,
        col(OutboundMessage.next_attempt_at) <= now,
        col(OutboundMessage.transport) == transport,
    )
    if quiet:
        reclaim = reclaim.where(col(OutboundMessage.purpose).in_(QUIET_HOURS_EXEMPT))
        waiting = waiting.where(col(OutboundMessage.purpose).in_(QUIET_HOURS_EXEMPT))
    waiting = waiting.order_by(
        col(OutboundMessage.priority), col(OutboundMessage.next_attempt_at), col(OutboundMessage.id)
    )
    ids = list(session.exec(reclaim.limit(limit).with_for_update(skip_locked=True)).all())
    if len(ids) < limit:
        ids += list(session.exec(waiting.limit(limit - len(ids)).with_for_update(skip_locked=True)).all())
    if not ids:
        session.commit()
        return None
    token = secrets.token_hex(16)
    # The due condition again: where SKIP LOCKED is not available (SQLite) a row another dispatcher claimed in
    # between is not taken twice; the token then tells which rows are ours.
    session.execute(
        sa.update(OutboundMessage)
        .where(col(OutboundMessage.id).in_(ids), _due(now))
        .values(
            status=OutboundStatus.SENDING,
            claim_token=token,
            lease_until=now + timedelta(seconds=settings.lease_seconds),
            updated_at=now,
            attempts=OutboundMessage.attempts + 1,
            last_error_code=sa.case(
                (col(OutboundMessage.status) == OutboundStatus.SENDING, RECLAIMED),
                else_=OutboundMessage.last_error_code,
            ),
        )
    )
    session.commit()
    return token


def _finish(message: OutboundMessage, status: OutboundStatus, now: datetime, **changes: object) -> None:
    message.status = status
    message.lease_until = None
    message.claim_token = None
    message.updated_at = now
    for name, value in changes.items():
        setattr(message, name, value)
    if message.purpose == Purpose.PRIVATE_REPLY and status != OutboundStatus.PENDING:
        # An anonymous complaint's answer is done with: its text (a reference, a PIN) and number go at once, and
        # its times become their day (an exact one would match the phone's other rows).
        message.body, message.recipient_encrypted = "", ""
        day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        message.created_at = message.not_before = message.next_attempt_at = message.updated_at = day
        message.sent_at = day if message.sent_at is not None else None


@dataclass
class _Job:
    message: OutboundMessage
    contact: Contact | None  # None for an anonymous complaint's answer (its row names no contact)
    to: str
    start: float = 0.0
    result: SendResult | None = None

    @property
    def outgoing(self) -> Outgoing:
        """The message as the channel sends it."""
        message = self.message
        return Outgoing(message.id or 0, self.to, message.body, message.segments, message.encoding)


@dataclass(frozen=True)
class Callbacks:
    """Where Twilio reports on the calls we place (whose answer URL runs the voice menu)."""

    call_answer: str
    call_status: str

    @classmethod
    def of(cls, public_url: str) -> Callbacks:
        """The URLs under our public base."""
        base = public_url.rstrip("/")
        return cls(f"{base}/twilio/voice", f"{base}/twilio/voice/status")


@dataclass
class _Recorder:
    """Records each send's result the moment the provider answers, in its own short transaction, so a delivery
    report never has to wait for the rest of the batch (50 messages at 1 segment/s is two minutes)."""

    engine: Engine
    settings: Settings
    report: DispatchReport
    now: datetime | None  # fixed by tests of time; the clock otherwise
    lock: threading.Lock

    def save(self, job: _Job) -> None:
        """Write one job's result (the sending threads take turns: one writer at a time, as SQLite wants)."""
        assert job.result is not None
        done = utcnow() if self.now is None else self.now
        # A delivery report may come while this is written (Kannel's within milliseconds): the message is read
        # and written in one writer's transaction, so the report's "delivered" is seen, never overwritten.
        with self.lock, write_lock_of(self.engine), Session(self.engine) as session:
            begin_write(session)
            message = session.exec(
                select(OutboundMessage).where(OutboundMessage.id == job.message.id).with_for_update()
            ).one()
            contact = session.get(Contact, message.contact_id) if message.contact_id else None
            _record(session, message, contact, job.result, done, self.settings, self.report)
            session.add(message)
            session.commit()


def _send_one(
    sender: Sender,
    limiter: RateLimiter,
    job: _Job,
    callbacks: Callbacks,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    recorder: _Recorder,
) -> None:
    # A job that missed its slot (the batch started late) books a new one instead of catching up in a burst.
    if clock() - job.start > min(LATE_TOLERANCE, 1 / limiter.rate):
        job.start = limiter.reserve(job.message.segments, clock())
    wait = job.start - clock()
    if wait > 0:
        sleep(wait)
    with SEND_SECONDS.time():
        if job.message.channel == Channel.CALL:
            if isinstance(sender, VoiceSender):
                job.result = sender.call(job.to, callbacks.call_answer, callbacks.call_status)
            else:
                job.result = SendResult(error_code="config", error=f"channel {sender.name} cannot place calls")
        else:
            job.result = sender.send(job.outgoing)
    SEND_RESULTS.labels("ok" if job.result.ok else "temporary" if job.result.temporary else "failed").inc()
    recorder.save(job)


def deliver_batch(
    engine: Engine,
    ctx: Context,
    sender: Sender,
    limiter: RateLimiter,
    token: str,
    report: DispatchReport,
    pool: ThreadPoolExecutor | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    now: datetime | None = None,
) -> None:
    """Send the messages claimed under `token`, recording each result as soon as the provider answers.

    Sends run in a few threads, each starting at its slot on the shared rate clock. No transaction is held open
    while the provider is called. If the process dies before a result is committed, its lease runs out and the
    message is reconciled with the provider, not resent."""
    settings = ctx.settings
    fixed_now = now
    now = now or utcnow()
    # Not expired on commit: the jobs' messages are read (body, id) after the commit that precedes the sends.
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(OutboundMessage, Contact)
            .join(Contact, col(OutboundMessage.contact_id) == Contact.id, isouter=True)
            .where(OutboundMessage.claim_token == token, OutboundMessage.status == OutboundStatus.SENDING)
            .order_by(col(OutboundMessage.priority), col(OutboundMessage.id))
        ).all()
        report.claimed += len(rows)
        jobs: list[_Job] = []
        for message, contact in rows:
            if message.expires_at is not None and message.expires_at <= now:
                _finish(message, OutboundStatus.EXPIRED, now)
                report.expired += 1
            elif (contact is None and message.purpose != Purpose.PRIVATE_REPLY) or (
                contact is not None and contact.opted_out_at is not None and message.purpose not in REQUESTED_BY_FAMILY
            ):
                _finish(message, OutboundStatus.CANCELLED, now, last_error="recipient opted out or erased")
                report.cancelled += 1
            elif (
                sender.name == TWILIO
                and message.channel == Channel.SMS
                and contact is not None
                and contact.twilio_blocked_at is not None
            ):
                # Twilio refuses every SMS to a phone it blocked (21610), even one the family asked for.
                blocked = "blocked at Twilio until the phone sends START"
                _finish(message, OutboundStatus.CANCELLED, now, last_error=blocked)
                report.cancelled += 1
            else:
                job = _Job(message, contact, ctx.vault.decrypt(message.recipient_encrypted))
                already = None
                if message.last_error_code in AMBIGUOUS:
                    # The last attempt may have reached the provider without our hearing back: ask first.
                    since = message.created_at - timedelta(minutes=1)
                    own = sender.own_reference(message.id or 0)
                    try:
                        if message.provider_sid is not None:
                            already = message.provider_sid  # a report named it (by our outbox id): it went out
                        elif own is not None and report_waiting(session, sender.name, own):
                            already = own  # its delivery report came while we were not listening: it went out
                        elif message.channel == Channel.CALL and isinstance(sender, VoiceSender):
                            already = sender.find_call(job.to, since)
                        else:
                            already = sender.find_sent(job.outgoing, since)
                    except LookupFailed as exc:
                        # The provider cannot say (it is down): this one waits its backoff, still to be looked up
                        # first; the rest of the batch goes on rather than waiting for the leases to run out.
                        unknown = SendResult(error_code=message.last_error_code, error=f"lookup: {exc}", temporary=True)
                        _record(session, message, contact, unknown, now, settings, report)
                        session.add(message)
                        continue
                if already is not None:
                    _finish(message, OutboundStatus.SENT, now, provider_sid=already, sent_at=now, last_error_code=None)
                    report.reconciled += 1
                else:
                    jobs.append(job)
            session.add(message)
        session.commit()
    if jobs:
        # One booking on the shared clock for the whole batch; each message gets its own slot in it.
        start = limiter.reserve(sum(job.message.segments for job in jobs), clock())
        for job in jobs:
            job.start = start
            start += job.message.segments / limiter.rate
        callbacks = Callbacks.of(settings.public_url)
        recorder = _Recorder(engine, settings, report, fixed_now, threading.Lock())
        if pool is None:
            for job in jobs:
                _send_one(sender, limiter, job, callbacks, clock, sleep, recorder)
        else:
            list(pool.map(lambda job: _send_one(sender, limiter, job, callbacks, clock, sleep, recorder), jobs))


def _record(
    session: Session,
    message: OutboundMessage,
    contact: Contact | None,
    result: SendResult,
    now: datetime,
    settings: Settings,
    report: DispatchReport,
) -> None:
    if result.ok:
        # A report may have come before the provider's answer (Twilio posts at once): it says more than "sent".
        reported = message.status not in (OutboundStatus.SENDING, OutboundStatus.PENDING)
        _finish(
            message,
            OutboundStatus(message.status) if reported else OutboundStatus.SENT,
            now,
            provider_sid=result.provider_sid,
            sent_at=now,
            last_error_code=message.last_error_code if reported else None,
            last_error=None,
        )
        report.sent += 1
        return
    changes = {"last_error_code": result.error_code, "last_error": result.error}
    if result.opted_out:
        # 21610: the phone sent STOP to Twilio, which blocks it. Record the block and cancel what waits for it.
        opt_out_at_twilio(session, contact.id if contact is not None else None, now)
        _finish(message, OutboundStatus.FAILED, now, **changes)
        report.failed += 1
    elif result.temporary and message.attempts < settings.max_send_attempts:
        retry_at = now + backoff(message.attempts, settings.retry_backoff_seconds)
        _finish(message, OutboundStatus.PENDING, now, next_attempt_at=retry_at, **changes)
        report.retried += 1
    else:
        _finish(message, OutboundStatus.FAILED, now, **changes)
        report.failed += 1
    log.warning(
        "outbound %s: %s (%s)",
        message.id,
        result.error_code,
        "retry" if message.status == OutboundStatus.PENDING else "final",
    )


def dispatch_once(
    engine: Engine,
    ctx: Context,
    sender: Sender,
    limiter: RateLimiter,
    *,
    limit: int | None = None,
    pool: ThreadPoolExecutor | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    now: datetime | None = None,
) -> DispatchReport:
    """One run of the dispatch job for one channel: expire, claim a batch of its messages, send it (`now` is for
    tests of time)."""
    report = DispatchReport()
    moment = now or utcnow()
    with Session(engine) as session:
        report.expired += expire_overdue(session, moment)
        session.commit()
        # Claim no more than the rate allows within half a lease, so leases do not run out while we wait.
        budget = max(1, int(limiter.rate * ctx.settings.lease_seconds / 2))  # this channel's rate
        size = min(limit or ctx.settings.dispatch_batch, budget)
        token = claim(session, ctx, moment, size, sender.name)
    if token is not None:
        before = report.sent + report.retried + report.failed + report.cancelled + report.expired + report.reconciled
        deliver_batch(engine, ctx, sender, limiter, token, report, pool, clock, sleep, now)
        report.claimed = (
            report.sent
            + report.retried
            + report.failed
            + report.cancelled
            + report.reconciled
            + (report.expired - before if before else report.expired)
        )
    # Delivery reports that came before their send was recorded (this batch's, or an earlier one's that came just
    # as it was committed) apply now that it is.
    with Session(engine) as session:
        report.reports_applied += apply_kept_reports(session, sender.name, moment)
        session.commit()
    return report
