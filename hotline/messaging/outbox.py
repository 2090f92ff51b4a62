"""The outbox: putting messages in (idempotently), and the operators' view of it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.content import TextTooLong
from hotline.context import Context
from hotline.messaging.optout import OPTED_OUT_ERROR, TWILIO, blocked_at_twilio
from hotline.messaging.routing import outbound_transport
from hotline.models import Channel, Contact, DeliveryReport, OutboundMessage, OutboundStatus, Purpose, utcnow
from hotline.segments import SegmentCount, count_segments

PRIORITY = {
    Purpose.STOP_CONFIRMATION: 0,
    Purpose.REPLY: 0,
    Purpose.PRIVATE_REPLY: 0,
    Purpose.ALERT: 1,
    Purpose.COMPLAINT_UPDATE: 2,
    Purpose.REMINDER: 3,
    Purpose.CALLBACK: 1,  # the family is waiting by the phone
    Purpose.POLL: 4,  # poll invitations (#22) wait for everything else
}
# An immediate answer to the family's own message may go at night, and so may an alert to a health volunteer
# about a family that texted a danger sign; nothing else may.
QUIET_HOURS_EXEMPT = {Purpose.REPLY, Purpose.PRIVATE_REPLY, Purpose.STOP_CONFIRMATION, Purpose.ALERT}
# What the family itself asked for goes even after STOP: the STOP confirmation, and a call back after a missed call.
REQUESTED_BY_FAMILY = {Purpose.STOP_CONFIRMATION, Purpose.CALLBACK}


def outbound_row(
    ctx: Context,
    *,
    contact_id: int | None,
    recipient_encrypted: str,
    opted_out: bool,
    language: str,
    text: str,
    purpose: Purpose,
    key: str,
    not_before: datetime,
    expires_at: datetime | None,
    now: datetime,
    count: SegmentCount | None = None,
    channel: Channel = Channel.SMS,
    last_channel: str | None = None,
) -> dict[str, Any]:
    """The columns of a new outbox row (enqueue() adds one; the reminder planner inserts them in bulk).

    TextTooLong past the budget; a message to a phone that said STOP is kept, cancelled, never sent. A call
    (channel CALL, empty text) costs one unit of the sender's rate, like a one-segment SMS."""
    if channel == Channel.CALL:
        segments, encoding = 1, "call"
    else:
        count = count or count_segments(text)
        if count.segments > ctx.settings.max_segments:
            raise TextTooLong(
                f"{count.segments} segments (budget {ctx.settings.max_segments})",
                count.segments,
                ctx.settings.max_segments,
            )
        segments, encoding = count.segments, str(count.encoding)
    stopped = opted_out and purpose not in REQUESTED_BY_FAMILY
    return {
        "idempotency_key": key,
        "purpose": purpose,
        "channel": channel,
        "transport": outbound_transport(ctx.settings, purpose, last_channel, channel),
        "priority": PRIORITY[purpose],
        "contact_id": contact_id,
        "recipient_encrypted": recipient_encrypted,
        "language": language,
        "body": text,
        "segments": segments,
        "encoding": encoding,
        "not_before": not_before,
        "next_attempt_at": not_before,
        "expires_at": expires_at,
        "status": OutboundStatus.CANCELLED if stopped else OutboundStatus.PENDING,
        "attempts": 0,
        "last_error": "recipient opted out" if stopped else None,
        "created_at": now,
        "updated_at": now,
    }  # the other columns (lease, claim, provider sid, sent_at...) start empty


def enqueue(
    session: Session,
    ctx: Context,
    *,
    contact: Contact,
    text: str,
    purpose: Purpose,
    key: str,
    language: str | None = None,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
    channel: Channel = Channel.SMS,
) -> OutboundMessage:
    """Put one message in the outbox; a second call with the same key returns the first message unchanged."""
    now = now or utcnow()
    row = outbound_row(
        ctx,
        contact_id=contact.id,
        recipient_encrypted=contact.phone_encrypted,
        opted_out=contact.opted_out_at is not None,
        language=language or contact.language,
        text=text,
        purpose=purpose,
        key=key,
        not_before=not_before or now,
        expires_at=expires_at,
        now=now,
        channel=channel,
        last_channel=contact.last_channel,
    )
    return _insert_once(session, key, row)


def enqueue_private_reply(
    session: Session, ctx: Context, *, phone: str, channel: str, language: str, text: str, key: str, now: datetime
) -> OutboundMessage:
    """Queue the answer to a message of an anonymous complaint: the row names no contact (the number only encrypted,
    to send it) and loses its text and number once it is sent, so the outbox cannot link the phone to the complaint."""
    row = outbound_row(
        ctx,
        contact_id=None,
        recipient_encrypted=ctx.vault.encrypt(phone),
        opted_out=False,  # the engine gives no answer to a phone that said STOP
        language=language,
        text=text,
        purpose=Purpose.PRIVATE_REPLY,
        key=key,
        not_before=now,
        expires_at=None,
        now=now,
        last_channel=channel,
    )
    return _insert_once(session, key, row)


def _insert_once(session: Session, key: str, row: dict[str, Any]) -> OutboundMessage:
    existing = session.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).first()
    if existing is not None:
        return existing
    message = OutboundMessage(**row)
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        # A concurrent caller with the same key won: return its message.
        return session.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).one()
    return message


def cancel_pending(session: Session, contact_id: int, reason: str, now: datetime) -> int:
    """Cancel every message still waiting for a contact (after STOP), except the STOP confirmation itself."""
    result = session.execute(
        update(OutboundMessage)
        .where(
            col(OutboundMessage.contact_id) == contact_id,
            col(OutboundMessage.status) == OutboundStatus.PENDING,
            col(OutboundMessage.purpose).not_in(REQUESTED_BY_FAMILY),
        )
        .values(status=OutboundStatus.CANCELLED, last_error=reason, updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def opt_out_at_twilio(session: Session, contact_id: int | None, now: datetime) -> None:
    """Twilio refused or reported a message with 21610: the phone is blocked there and opted out here, and what
    waits for it is cancelled (hotline.messaging.optout)."""
    contact = session.get(Contact, contact_id) if contact_id else None
    if contact is None:  # an anonymous complaint's answer names no contact
        return
    blocked_at_twilio(contact, now)
    session.add(contact)
    cancel_pending(session, contact.id or 0, f"recipient opted out at Twilio ({OPTED_OUT_ERROR})", now)


def counts_by_status(session: Session) -> dict[str, int]:
    """How many messages are in each status (the CLI and /metrics show this)."""
    rows = session.exec(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status))
    return {str(status): int(n) for status, n in rows}


def retry_now(session: Session, now: datetime) -> int:
    """Make every message waiting for a retry due at once (after an outage is fixed)."""
    result = session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.status) == OutboundStatus.PENDING, col(OutboundMessage.next_attempt_at) > now)
        .values(next_attempt_at=now, updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def cancel_by_key(session: Session, key: str, now: datetime) -> bool:
    """Cancel one waiting message by its idempotency key; False if none is waiting."""
    result = session.execute(
        update(OutboundMessage)
        .where(col(OutboundMessage.idempotency_key) == key, col(OutboundMessage.status) == OutboundStatus.PENDING)
        .values(status=OutboundStatus.CANCELLED, last_error="cancelled by operator", updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(moment: datetime, tz: ZoneInfo, start: str, end: str) -> bool:
    """True between `start` and `end` local time (a window that may cross midnight)."""
    local = moment.astimezone(tz).time()
    begin, finish = _clock(start), _clock(end)
    if begin <= finish:
        return begin <= local < finish
    return local >= begin or local < finish


def quiet_hours_end(moment: datetime, tz: ZoneInfo, start: str, end: str) -> datetime:
    """When the quiet hours that contain `moment` end (the moment itself outside them)."""
    if not in_quiet_hours(moment, tz, start, end):
        return moment
    local = moment.astimezone(tz)
    finish = _clock(end)
    candidate = local.replace(hour=finish.hour, minute=finish.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


# A report only ever moves a message forward: sending, then sent, then a final status.
_RANK = {OutboundStatus.PENDING: 0, OutboundStatus.SENDING: 1, OutboundStatus.SENT: 2}  # anything else is final (3)


def _rank(status: OutboundStatus) -> int:
    return _RANK.get(status, 3)


def _apply(
    session: Session, message: OutboundMessage, status: OutboundStatus, error_code: str | None, now: datetime
) -> None:
    # Through a Messaging Service, 21610 comes only in a report, never at send time.
    if error_code == OPTED_OUT_ERROR and message.transport == TWILIO:
        opt_out_at_twilio(session, message.contact_id, now)
    # "queued"/"sending" never move a message: only the dispatcher's claim makes one sending (with a lease), and a
    # pending message made sending without one would never be claimed again.
    if status != OutboundStatus.SENDING and _rank(status) > _rank(OutboundStatus(message.status)):
        message.status = status
        if error_code:
            message.last_error_code = error_code[:16]
        if message.purpose != Purpose.PRIVATE_REPLY:  # an anonymous answer's times stay its day
            message.updated_at = now


def record_delivery_status(
    session: Session,
    *,
    transport: str,
    reference: str,
    status: OutboundStatus,
    error_code: str | None,
    now: datetime,
    keep_unknown: bool = True,
    outbox_id: int | None = None,
) -> OutboundMessage | None:
    """Apply a channel's delivery report to its message; repeats and late arrivals change nothing. The message is
    found by our own outbox id when the report carries it (Twilio's callback URL does), so a report that comes
    before the send call has even returned still finds it; else by the provider's id. A report that finds nothing
    is kept and applied when its send is recorded: None."""
    # Read with the row locked (the caller began as a writer on SQLite: db.begin_write): two reports of one message
    # come within milliseconds, and one decided on a stale read would write "sent" over the other's "delivered".
    locked = select(OutboundMessage).with_for_update().execution_options(populate_existing=True)
    message = None
    if outbox_id is not None:
        message = session.exec(locked.where(OutboundMessage.id == outbox_id)).first()
    if message is not None and message.transport != transport:
        message = None
    if message is None:
        message = session.exec(
            locked.where(OutboundMessage.provider_sid == reference[:64], OutboundMessage.transport == transport)
        ).first()
    if message is None:
        if not keep_unknown:
            return None
        session.add(
            DeliveryReport(
                transport=transport,
                reference=reference[:64],
                status=status,
                error_code=error_code[:16] if error_code else None,
                received_at=now,
            )
        )
        return None
    if message.provider_sid is None and status != OutboundStatus.PENDING:
        message.provider_sid = reference[:64]  # the provider has it: a resend after a lost answer is not needed
    _apply(session, message, status, error_code, now)
    session.add(message)
    return message


def apply_kept_reports(session: Session, transport: str, now: datetime, limit: int = 1000) -> int:
    """Apply the kept reports whose message has since been recorded as sent (then forget them).

    Kannel and the Android gateway report within milliseconds, before the dispatcher has recorded the batch; a
    report is then kept, and every dispatch run, after its batch, applies what has found its message (one indexed
    join on a table that is normally empty). One that comes just as a batch is committed waits for the next run."""
    rows = session.exec(
        select(DeliveryReport, OutboundMessage)
        .join(
            OutboundMessage,
            sa.and_(
                col(OutboundMessage.transport) == col(DeliveryReport.transport),
                col(OutboundMessage.provider_sid) == col(DeliveryReport.reference),
            ),
        )
        .where(col(DeliveryReport.transport) == transport)
        .order_by(col(DeliveryReport.received_at), col(DeliveryReport.id))
        .limit(limit)
    ).all()
    for report, message in rows:
        _apply(session, message, OutboundStatus(report.status), report.error_code, now)
        session.add(message)
        session.delete(report)
    return len(rows)


def report_waiting(session: Session, transport: str, reference: str) -> bool:
    """True when a delivery report already came for this reference (the message went out)."""
    found = session.exec(
        select(DeliveryReport.id).where(DeliveryReport.transport == transport, DeliveryReport.reference == reference)
    ).first()
    return found is not None
