"""The daily retention job: old message bodies, complainants' links to their phones and old complaint texts go.

Each step works in batches of rows claimed with FOR UPDATE SKIP LOCKED (ignored on SQLite, which has one
writer), each batch its own short transaction. A row is picked only while it still holds what the step removes,
so a second run, or a second scheduler process at the same time, finds nothing more to do."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, update
from sqlmodel import Session, SQLModel, col, select

from hotline.complaints.service import DECIDED_STATUSES
from hotline.context import Context
from hotline.db import write_lock
from hotline.models import (
    Actor,
    Complaint,
    ComplaintAnswer,
    ComplaintEvent,
    DeliveryReport,
    InboundMessage,
    OutboundMessage,
    OutboundStatus,
    PollAnswer,
    PrivateCounter,
    PrivateTurn,
    RateEvent,
)
from hotline.voice.jobs import forget_recording

log = logging.getLogger(__name__)

BATCH = 1000
COMPLAINT_BATCH = 200  # each complaint of a batch adds a key prefix to match in the outbox
# Messages no dispatcher will touch again: their body and copy of the number are no longer needed to send.
FINISHED = (
    OutboundStatus.SENT,
    OutboundStatus.DELIVERED,
    OutboundStatus.UNDELIVERED,
    OutboundStatus.FAILED,
    OutboundStatus.CANCELLED,
    OutboundStatus.EXPIRED,
)
# Rate limits count today only; yesterday is kept so a day boundary in another time zone still counts right.
RATE_EVENT_DAYS = 2


@dataclass
class RetentionReport:
    """How many rows each step changed in one run (all zero when there was nothing left to do)."""

    messages_in: int = 0
    messages_out: int = 0
    identities: int = 0
    texts: int = 0
    rate_events: int = 0
    reports: int = 0
    poll_answers: int = 0

    def __bool__(self) -> bool:
        return any(
            (
                self.messages_in,
                self.messages_out,
                self.identities,
                self.texts,
                self.rate_events,
                self.reports,
                self.poll_answers,
            )
        )


def enforce_retention(session: Session, ctx: Context, now: datetime) -> RetentionReport:
    """Apply every retention setting as of `now`; commits after each batch."""
    settings = ctx.settings
    messages_before = now - timedelta(days=settings.message_retention_days)
    return RetentionReport(
        messages_in=forget_inbound_bodies(session, messages_before),
        messages_out=forget_outbound_bodies(session, messages_before),
        # The link goes first: a complaint whose text is removed must not stay linked to a phone either.
        identities=unlink_complainants(session, now - timedelta(days=settings.complainant_identity_days), now),
        texts=redact_complaints(session, now - timedelta(days=settings.complaint_text_days), now),
        rate_events=forget_rate_events(session, ctx, now) + forget_private_traces(session, ctx, now),
        reports=forget_unmatched_reports(session, messages_before),
        poll_answers=forget_poll_answer_texts(session, messages_before),
    )


def _in_batches(
    session: Session, model: type[SQLModel], conditions: list[Any], apply: Callable[[list[int]], None], batch: int
) -> int:
    """Claim the matching rows a batch at a time in id order, apply the change to each batch, commit; the count."""
    ident = col(model.id)  # type: ignore[attr-defined]
    done, after = 0, 0
    while True:
        with write_lock(session):
            query = select(ident).where(ident > after, *conditions).order_by(ident).limit(batch)
            # Rows another process holds are skipped, not waited for: it is doing the same work on them.
            ids = list(session.exec(query.with_for_update(skip_locked=True)))
            if ids:
                apply(ids)
            session.commit()
        done += len(ids)
        if len(ids) < batch:
            return done
        after = ids[-1]


def forget_inbound_bodies(session: Session, before: datetime, batch: int = BATCH) -> int:
    """Blank the body, the stored replies and any unparsed sender of SMS received before `before`."""
    conditions = [
        col(InboundMessage.received_at) < before,
        or_(
            col(InboundMessage.body) != "",
            cast(col(InboundMessage.replies), Text) != "[]",
            col(InboundMessage.unparsed_sender_encrypted).is_not(None),
        ),
    ]

    def apply(ids: list[int]) -> None:
        session.execute(
            update(InboundMessage)
            .where(col(InboundMessage.id).in_(ids))
            .values(body="", replies=[], unparsed_sender_encrypted=None)
        )

    return _in_batches(session, InboundMessage, conditions, apply, batch)


def forget_outbound_bodies(session: Session, before: datetime, batch: int = BATCH) -> int:
    """Blank the body and the copy of the number of outbox messages created before `before` and finished."""
    conditions = [
        col(OutboundMessage.created_at) < before,
        col(OutboundMessage.status).in_(FINISHED),
        or_(col(OutboundMessage.body) != "", col(OutboundMessage.recipient_encrypted) != ""),
    ]

    def apply(ids: list[int]) -> None:
        session.execute(
            update(OutboundMessage).where(col(OutboundMessage.id).in_(ids)).values(body="", recipient_encrypted="")
        )

    return _in_batches(session, OutboundMessage, conditions, apply, batch)


def _decided_before(before: datetime) -> list[Any]:
    # decided_at is set by the admin page; a complaint decided another way falls back on its last change.
    decided = func.coalesce(col(Complaint.decided_at), col(Complaint.updated_at))
    return [col(Complaint.status).in_(DECIDED_STATUSES), decided < before]


def detach_complaints(session: Session, ids: list[int]) -> None:
    """Remove every row that leads from these complaints to a phone: the complaint's contact, the SMS that
    carried its text (their bodies are the text) and the outbox updates sent about it (their keys name it)."""
    linked = select(Complaint.contact_id).where(col(Complaint.id).in_(ids), col(Complaint.contact_id).is_not(None))
    contact_ids = list(session.exec(linked.distinct()))
    session.execute(update(Complaint).where(col(Complaint.id).in_(ids)).values(contact_id=None))
    session.execute(
        update(InboundMessage).where(col(InboundMessage.complaint_id).in_(ids)).values(complaint_id=None, body="")
    )
    if contact_ids:
        # The families' own outbox rows (indexed by contact) among which the updates are found by key.
        about = or_(*(col(OutboundMessage.idempotency_key).startswith(f"complaint:{i}:") for i in ids))
        session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.contact_id).in_(contact_ids), about)
            .values(contact_id=None, recipient_encrypted="", body="")
        )


def add_events(session: Session, ids: list[int], kind: str, now: datetime, **details: Any) -> None:
    """The same system event on each complaint's trail (what retention or an erasure removed)."""
    session.add_all(ComplaintEvent(complaint_id=i, at=now, actor=Actor.SYSTEM, kind=kind, details=details) for i in ids)


def unlink_complainants(session: Session, before: datetime, now: datetime, batch: int = COMPLAINT_BATCH) -> int:
    """Complaints decided before `before` lose their link to the family's phone; the text stays."""
    conditions = [col(Complaint.contact_id).is_not(None), *_decided_before(before)]

    def apply(ids: list[int]) -> None:
        detach_complaints(session, ids)
        add_events(session, ids, "identity_removed", now, reason="retention")

    return _in_batches(session, Complaint, conditions, apply, batch)


def redact_complaints(session: Session, before: datetime, now: datetime, batch: int = COMPLAINT_BATCH) -> int:
    """Complaints decided before `before` lose their text, recording (queued for deletion at Twilio), answers'
    texts and notes; the record of what, where, when and how it was decided stays for statistics and audits."""
    conditions = [
        or_(col(Complaint.text) != "", col(Complaint.recording_sid).is_not(None)),
        *_decided_before(before),
    ]

    def apply(ids: list[int]) -> None:
        detach_complaints(session, ids)
        recorded = select(Complaint.recording_sid).where(col(Complaint.id).in_(ids))
        for sid in list(session.exec(recorded.where(col(Complaint.recording_sid).is_not(None)))):
            forget_recording(session, sid or "", "retention", now)  # the voice goes from Twilio too
        session.execute(
            update(Complaint).where(col(Complaint.id).in_(ids)).values(text="", recording_sid=None, recording_url=None)
        )
        session.execute(update(ComplaintAnswer).where(col(ComplaintAnswer.complaint_id).in_(ids)).values(text=""))
        notes = session.exec(
            select(ComplaintEvent).where(col(ComplaintEvent.complaint_id).in_(ids), ComplaintEvent.kind == "note")
        )
        for note in notes:
            if "text" in note.details:
                note.details = {"chars": len(str(note.details["text"])), "redacted": True}
                session.add(note)
        add_events(session, ids, "text_removed", now, reason="retention")

    return _in_batches(session, Complaint, conditions, apply, batch)


def forget_rate_events(session: Session, ctx: Context, now: datetime, batch: int = BATCH) -> int:
    """Drop rate-limit rows of past days: they no longer count, and some are keyed by a phone's hash."""
    first_kept = ctx.local_day(now) - timedelta(days=RATE_EVENT_DAYS - 1)

    def apply(ids: list[int]) -> None:
        session.execute(delete(RateEvent).where(col(RateEvent.id).in_(ids)))

    return _in_batches(session, RateEvent, [col(RateEvent.day) < first_kept], apply, batch)


def forget_private_traces(session: Session, ctx: Context, now: datetime) -> int:
    """Drop the private counters and remembered anonymous turns of past days (no longer needed for a limit or a
    transport's retry; some are keyed by a phone, and a holder of the secrets could test a number against them)."""
    first_kept = ctx.local_day(now) - timedelta(days=RATE_EVENT_DAYS - 1)
    with write_lock(session):
        removed = 0
        for table in (PrivateCounter, PrivateTurn):
            result = session.execute(delete(table).where(col(table.day) < first_kept))
            removed += int(getattr(result, "rowcount", 0) or 0)
        session.commit()
    return removed


def forget_unmatched_reports(session: Session, before: datetime, batch: int = BATCH) -> int:
    """Drop delivery reports kept since before `before` that never found their message (sent by another system on
    the same account, or forged): a message recorded since would have taken its report at once."""

    def apply(ids: list[int]) -> None:
        session.execute(delete(DeliveryReport).where(col(DeliveryReport.id).in_(ids)))

    return _in_batches(session, DeliveryReport, [col(DeliveryReport.received_at) < before], apply, batch)


def forget_poll_answer_texts(session: Session, before: datetime, batch: int = BATCH) -> int:
    """Blank the text of poll answers given before `before`, as a message's body (#22): the chosen answer, place and
    language stay for the results; an open answer's words go."""

    def apply(ids: list[int]) -> None:
        session.execute(update(PollAnswer).where(col(PollAnswer.id).in_(ids)).values(text=""))

    conditions = [col(PollAnswer.answered_at) < before, col(PollAnswer.text) != ""]
    return _in_batches(session, PollAnswer, conditions, apply, batch)
