"""What every channel shares: the engine it hands inbound messages to, and recording the delivery reports it gets."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from hotline.context import Context
from hotline.db import begin_write, write_lock
from hotline.dialogue import private
from hotline.dialogue.inbound import Handled, Inbound
from hotline.messaging.outbox import enqueue, enqueue_private_reply, record_delivery_status
from hotline.models import Contact, OutboundStatus, Purpose, utcnow
from hotline.phones import normalise_phone

log = logging.getLogger(__name__)
# The conversation engine (hotline.engine.handle), given to each channel's routes by create_app: channels sit
# below the domains and never import them.
InboundHandler = Callable[[Session, Context, Inbound], Handled]
# The hot path of the usual SMS (hotline.fastpath.FastPath.answer): its answer, or None for the InboundHandler.
FastAnswer = Callable[[Inbound], Awaitable[Handled | None]]


def handle_in_thread(engine: Engine, handle: InboundHandler, ctx: Context, inbound: Inbound) -> Handled:
    """Run the engine in a session of its own, opened and closed in the worker thread that runs it: one thread hop
    per message (a session dependency would add two)."""
    with Session(engine) as session:
        return handle(session, ctx, inbound)


async def answer(
    engine: Engine, handle: InboundHandler, fast: FastAnswer | None, ctx: Context, inbound: Inbound
) -> Handled:
    """Every channel's way to the answer: the fast path on the event loop for the usual SMS, else the engine in one
    worker thread (hotline/fastpath.py; both decide alike, whatever the transport)."""
    handled = await fast(inbound) if fast is not None else None
    return handled if handled is not None else await run_in_threadpool(handle_in_thread, engine, handle, ctx, inbound)


def queue_in_thread(engine: Engine, ctx: Context, inbound: Inbound, handled: Handled, first: int = 1) -> None:
    """queue_replies in a session of its own, for routes that hold none."""
    with Session(engine) as session:
        queue_replies(session, ctx, inbound, handled, first)


def apply_report(
    session: Session,
    transport: str,
    reference: str,
    status: OutboundStatus,
    error: str | None,
    outbox_id: int | None = None,
) -> bool:
    """Record one delivery report and commit; False when it was kept to be applied later (no message found). One
    writer at a time per message (reports of one message come together: Kannel sends two within milliseconds)."""
    with write_lock(session):
        begin_write(session)
        message = record_delivery_status(
            session,
            transport=transport,
            reference=reference,
            status=status,
            error_code=error,
            now=utcnow(),
            outbox_id=outbox_id,
        )
        session.commit()
    if message is None:
        log.info("%s report for %s (%s) kept until its send is recorded", transport, reference[:64], status)
    return message is not None


def queue_replies(session: Session, ctx: Context, inbound: Inbound, handled: Handled, first: int = 1) -> None:
    """Send an answer's texts from number `first` on through the outbox, on the channel the message came in on, and
    commit: once, even when the transport repeats its request (each text's key is the message's). The answer to STOP
    is what the phone asked for, so it is not cancelled as the phone's other messages are. An anonymous turn's
    texts name no contact (enqueue_private_reply)."""
    purpose = Purpose.STOP_CONFIRMATION if handled.keyword == "STOP" else Purpose.REPLY
    contact = session.get(Contact, handled.contact_id) if handled.contact_id else None
    # An anonymous turn's transport id is kept only keyed (the operator's records link the raw id to the phone).
    turn_id = private.turn_key(ctx, inbound.channel, inbound.message_id) if handled.private else inbound.message_id
    for number, text in enumerate(handled.replies[first - 1 :], start=first):
        key = f"reply:{inbound.channel}:{turn_id}:{number}"
        if handled.private:
            phone = normalise_phone(inbound.sender)  # a private turn's sender was a phone: the engine read it
            enqueue_private_reply(
                session,
                ctx,
                phone=phone,
                channel=inbound.channel,
                language=handled.language,
                text=text,
                key=key,
                now=inbound.received_at,
            )
        elif contact is not None:
            enqueue(session, ctx, contact=contact, text=text, purpose=purpose, key=key, now=inbound.received_at)
    session.commit()
