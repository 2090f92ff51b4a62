"""Poll invitations planned into the outbox (every few minutes): each phone of a started poll's audience gets one
invitation, in batches, never twice, even with two schedulers at once.

How: the poll's row is claimed (FOR UPDATE SKIP LOCKED: a second scheduler plans another poll, or nothing), then
its audience is walked in contact-id order a chunk at a time, minus the phones already invited (an anti-join on
the unique (poll, contact) index); each chunk's invitations and outbox rows go in with one multi-row INSERT per
table in one savepoint, as the reminder planner does. If a chunk meets a unique key anyway (the key of an earlier
outbox message), it is written again one phone per savepoint, so the others still land. Quiet hours, opt-out, the
channel's rate and expiry are the outbox's (hotline/messaging/outbox.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.channels.senders import rate_of
from hotline.content import Rendered
from hotline.context import Context
from hotline.messaging.outbox import in_quiet_hours, outbound_row, quiet_hours_end
from hotline.messaging.routing import outbound_transport, reply_number
from hotline.models import Channel, Contact, OutboundMessage, Poll, PollInvitation, PollStatus, Purpose
from hotline.polls.service import audience_select, question_context, questions_of
from hotline.reminders.run import insert_rows

CHUNK = 1000  # phones per chunk: one savepoint, two multi-row INSERTs
MAX_PER_RUN = 100_000  # invitations one run plans before it gives the scheduler back (the next run goes on)


@dataclass
class InvitationReport:
    """What one planning run did."""

    invited: int = 0
    polls: dict[int, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.invited)


def plan_invitations(
    session: Session, ctx: Context, now: datetime, *, max_per_run: int = MAX_PER_RUN, chunk: int = CHUNK
) -> InvitationReport:
    """Put the invitations of every started poll with an audience into the outbox, up to max_per_run."""
    report = InvitationReport()
    due = select(Poll.id).where(
        Poll.status == PollStatus.STARTED, Poll.audience != "", Poll.starts_at <= now, Poll.ends_at > now
    )
    for poll_id in list(session.exec(due.order_by(col(Poll.id)))):
        if report.invited >= max_per_run:
            break
        claimed = session.exec(select(Poll).where(Poll.id == poll_id).with_for_update(skip_locked=True)).first()
        if claimed is None or claimed.status != PollStatus.STARTED:
            continue  # another scheduler is planning it
        planned = _plan_poll(session, ctx, claimed, now, max_per_run - report.invited, chunk)
        if planned:
            report.polls[poll_id or 0] = planned
            report.invited += planned
    return report


def _plan_poll(session: Session, ctx: Context, poll: Poll, now: datetime, limit: int, chunk: int) -> int:
    questions = questions_of(session, poll.id or 0)
    if not questions:
        return 0
    settings = ctx.settings
    not_before = now
    if in_quiet_hours(now, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end):
        not_before = quiet_hours_end(now, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end)
    texts: dict[str, Rendered] = {}
    invited = sa.exists().where(
        col(PollInvitation.poll_id) == poll.id, col(PollInvitation.contact_id) == col(Contact.id)
    )
    columns = (
        col(Contact.id),
        col(Contact.language),
        col(Contact.opted_out_at),
        col(Contact.phone_encrypted),
        col(Contact.last_channel),
    )
    done, after = 0, 0
    while done < limit:
        query = audience_select(poll, *columns).where(col(Contact.id) > after, ~invited)
        rows = session.execute(query.order_by(col(Contact.id)).limit(min(chunk, limit - done))).all()
        if not rows:
            break
        invitations: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        for contact_id, language, opted_out_at, phone_encrypted, last_channel in rows:
            text = texts.get(language)
            if text is None:
                context = question_context(questions[0], language)
                reply_to = reply_number(settings)
                text = texts[language] = ctx.texts.render("polls/invitation", language, reply_to=reply_to, **context)
            key = f"poll:{poll.id}:{contact_id}"
            invitations.append(
                {"poll_id": poll.id, "contact_id": contact_id, "outbound_key": key, "misses": 0, "created_at": now}
            )
            messages.append(
                outbound_row(
                    ctx,
                    contact_id=contact_id,
                    recipient_encrypted=phone_encrypted,
                    opted_out=opted_out_at is not None,
                    language=language,
                    text=text.text,
                    purpose=Purpose.POLL,
                    key=key,
                    not_before=not_before,
                    expires_at=poll.ends_at,
                    now=now,
                    count=text.count,
                    last_channel=last_channel,
                )
            )
        try:
            with session.begin_nested():
                insert_rows(session, PollInvitation, invitations)
                insert_rows(session, OutboundMessage, messages)
            done += len(rows)
        except IntegrityError:
            done += _one_by_one(session, invitations, messages)
        after = rows[-1][0]
    return done


def _one_by_one(session: Session, invitations: list[dict[str, Any]], messages: list[dict[str, Any]]) -> int:
    # Each phone in its own savepoint: one that conflicts is left out, the others land.
    landed = 0
    for invitation, message in zip(invitations, messages, strict=True):
        try:
            with session.begin_nested():
                session.execute(sa.insert(PollInvitation), [invitation])
                session.execute(sa.insert(OutboundMessage), [message])
            landed += 1
        except IntegrityError:
            continue
    return landed


@dataclass(frozen=True)
class Preview:
    """What starting a poll will send, before it is started: phones, segments, and how long the channel takes."""

    phones: int
    by_language: dict[str, int]
    segments: int
    segments_by_language: dict[str, int]
    channel: str
    hours: float


def preview(session: Session, ctx: Context, poll: Poll) -> Preview:
    """Phones the poll's audience invites that are not invited yet, by language, and the SMS segments it costs."""
    questions = questions_of(session, poll.id or 0)
    if not poll.audience or not questions:
        return Preview(0, {}, 0, {}, "", 0.0)
    invited = sa.exists().where(
        col(PollInvitation.poll_id) == poll.id, col(PollInvitation.contact_id) == col(Contact.id)
    )
    query = (
        audience_select(poll, col(Contact.language), sa.func.count()).where(~invited).group_by(col(Contact.language))
    )
    counts = {str(language): int(n) for language, n in session.execute(query)}
    per_language: dict[str, int] = {}
    for language, n in counts.items():
        context = question_context(questions[0], language)
        rendered = ctx.texts.render("polls/invitation", language, reply_to=reply_number(ctx.settings), **context)
        per_language[language] = rendered.count.segments * n
    segments = sum(per_language.values())
    channel = outbound_transport(ctx.settings, Purpose.POLL, None, Channel.SMS)
    hours = segments / rate_of(ctx.settings, channel) / 3600
    return Preview(sum(counts.values()), counts, segments, per_language, channel, hours)
