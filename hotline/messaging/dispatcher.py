"""Sending the outbox: claim due messages, respect the shared rate limit, record results, retry or give up.

Safe with several dispatchers on PostgreSQL (claims use SELECT ... FOR UPDATE SKIP LOCKED and a claim token);
on SQLite one dispatcher is supported. A dispatcher killed at any point loses nothing: a claimed message whose
lease runs out is claimed again, and before it is resent the provider is asked whether it already went out."""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.messaging.outbox import QUIET_HOURS_EXEMPT, cancel_pending, in_quiet_hours
from hotline.messaging.sender import Sender, SendResult
from hotline.metrics import SEND_RESULTS, SEND_SECONDS
from hotline.models import Contact, OutboundMessage, OutboundStatus, SenderClock, utcnow

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


class RateLimiter:
    """Segments per second per sender, shared through the database by every dispatcher process."""

    def __init__(self, engine: Engine, sender: str, rate: float) -> None:
        self.engine, self.sender, self.rate = engine, sender, rate
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


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … up to an hour, with jitter so retries of many messages spread out."""
    seconds = min(30 * 2 ** max(attempts - 1, 0), 3600)
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


def claim(session: Session, ctx: Context, now: datetime, limit: int) -> list[tuple[int, str]]:
    """Take up to `limit` due messages (answers first) for this dispatcher; returns (id, claim token) pairs."""
    settings = ctx.settings
    query = select(OutboundMessage.id, OutboundMessage.status).where(_due(now))
    if in_quiet_hours(now, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end):
        query = query.where(col(OutboundMessage.purpose).in_(QUIET_HOURS_EXEMPT))
    query = query.order_by(col(OutboundMessage.priority), col(OutboundMessage.next_attempt_at), col(OutboundMessage.id))
    rows = session.exec(query.limit(limit).with_for_update(skip_locked=True)).all()
    claimed = []
    lease = now + timedelta(seconds=settings.lease_seconds)
    for message_id, status in rows:
        token = secrets.token_hex(8)
        values: dict[str, object] = {
            "status": OutboundStatus.SENDING,
            "claim_token": token,
            "lease_until": lease,
            "updated_at": now,
            "attempts": OutboundMessage.attempts + 1,
        }
        if status == OutboundStatus.SENDING:
            values["last_error_code"] = RECLAIMED
        # The due condition again: where SKIP LOCKED is not available (SQLite) a row another dispatcher
        # claimed in between is not taken twice.
        result = session.execute(
            sa.update(OutboundMessage).where(col(OutboundMessage.id) == message_id, _due(now)).values(**values)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append((int(message_id or 0), token))
    session.commit()
    return claimed


def _finish(message: OutboundMessage, status: OutboundStatus, now: datetime, **changes: object) -> None:
    message.status = status
    message.lease_until = None
    message.claim_token = None
    message.updated_at = now
    for name, value in changes.items():
        setattr(message, name, value)


def deliver(
    engine: Engine,
    ctx: Context,
    sender: Sender,
    limiter: RateLimiter,
    message_id: int,
    token: str,
    report: DispatchReport,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    now: datetime | None = None,
) -> None:
    """Send one claimed message and record what happened."""
    settings = ctx.settings
    with Session(engine) as session:
        message = session.get(OutboundMessage, message_id)
        if message is None or message.claim_token != token or message.status != OutboundStatus.SENDING:
            report.skipped += 1  # another dispatcher took it over after our lease ran out
            return
        contact = session.get(Contact, message.contact_id) if message.contact_id else None
        now = now or utcnow()
        if message.expires_at is not None and message.expires_at <= now:
            _finish(message, OutboundStatus.EXPIRED, now)
            report.expired += 1
        elif contact is None or (contact.opted_out_at is not None and message.purpose != "stop_confirmation"):
            _finish(message, OutboundStatus.CANCELLED, now, last_error="recipient opted out or erased")
            report.cancelled += 1
        else:
            to = ctx.vault.decrypt(message.recipient_encrypted)
            already = None
            if message.last_error_code in AMBIGUOUS:
                # The last attempt died after claiming: it may have reached the provider. Ask before resending.
                already = sender.find_sent(to, message.body, message.created_at - timedelta(minutes=1))
            if already is not None:
                _finish(message, OutboundStatus.SENT, now, provider_sid=already, sent_at=now, last_error_code=None)
                report.reconciled += 1
            else:
                start = limiter.reserve(message.segments, clock())
                if start > clock():
                    sleep(start - clock())
                callback = f"{settings.public_url.rstrip('/')}/twilio/status"
                with SEND_SECONDS.time():
                    result = sender.send(to, message.body, callback)
                SEND_RESULTS.labels("ok" if result.ok else "temporary" if result.temporary else "failed").inc()
                _record(session, message, contact, result, now, settings.max_send_attempts, report)
        session.add(message)
        session.commit()


def _record(
    session: Session,
    message: OutboundMessage,
    contact: Contact,
    result: SendResult,
    now: datetime,
    max_attempts: int,
    report: DispatchReport,
) -> None:
    if result.ok:
        _finish(
            message,
            OutboundStatus.SENT,
            now,
            provider_sid=result.provider_sid,
            sent_at=now,
            last_error_code=None,
            last_error=None,
        )
        report.sent += 1
        return
    changes = {"last_error_code": result.error_code, "last_error": result.error}
    if result.opted_out:
        # 21610: the phone sent STOP to Twilio. Record it as ours too and cancel what waits for it.
        contact.opted_out_at = contact.opted_out_at or now
        session.add(contact)
        cancel_pending(session, contact.id or 0, "recipient opted out (21610)", now)
        _finish(message, OutboundStatus.FAILED, now, **changes)
        report.failed += 1
    elif result.temporary and message.attempts < max_attempts:
        _finish(message, OutboundStatus.PENDING, now, next_attempt_at=now + backoff(message.attempts), **changes)
        report.retried += 1
    else:
        _finish(message, OutboundStatus.FAILED, now, **changes)
        report.failed += 1
    log.warning(
        "outbound %s: %s (%s)", message.id, result.error_code, "retry" if message.status == "pending" else "final"
    )


def dispatch_once(
    engine: Engine,
    ctx: Context,
    sender: Sender,
    limiter: RateLimiter,
    *,
    limit: int | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    now: datetime | None = None,
) -> DispatchReport:
    """One run of the dispatch job: expire, claim a batch, send it (`now` is for tests of time)."""
    report = DispatchReport()
    now = now or utcnow()
    with Session(engine) as session:
        report.expired += expire_overdue(session, now)
        session.commit()
        # Claim no more than the rate allows within half a lease, so leases do not run out while we wait.
        budget = max(1, int(ctx.settings.send_rate_segments_per_second * ctx.settings.lease_seconds / 2))
        claimed = claim(session, ctx, now, min(limit or ctx.settings.dispatch_batch, budget))
    report.claimed = len(claimed)
    for message_id, token in claimed:
        deliver(engine, ctx, sender, limiter, message_id, token, report, clock, sleep, now)
    return report
