"""Reply loops: a carrier's bounce or another auto-responder answers each of our replies, and would be answered for
ever, each time at our cost. More than HOTLINE_LOOP_LIMIT alike messages in a row from one phone within
HOTLINE_LOOP_WINDOW_MINUTES (the same text, or texts that look automatic) pause every answer to that phone until
they have left the window; the messages are still stored. Only stored messages are counted: the turns of an
anonymous complaint leave no row (docs/PRIVACY.md), so they are never counted nor paused."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from hotline.context import Context
from hotline.metrics import REPLY_LOOP_UNANSWERED, REPLY_LOOPS
from hotline.models import InboundMessage
from hotline.phones import log_phone

log = logging.getLogger(__name__)

# What bounces and auto-replies say, in the languages families' phones and carriers use (compared casefolded).
# Specific enough that a family's own words do not match: "деньги не доставлены" is not "не доставлено".
AUTOMATIC_MARKERS = (
    "auto-reply",
    "autoreply",
    "auto reply",
    "automatic reply",
    "out of office",
    "undeliverable",
    "undelivered",
    "delivery failure",
    "delivery failed",
    "could not be delivered",
    "mailer-daemon",
    "не доставлено",
    "недоставлено",
    "автоответ",
    "автоматический ответ",
    "автоматическое сообщение",
    "жеткирилген жок",
    "автоматтык жооп",
    "yetkazilmadi",
    "yetkazib berilmadi",
    "avtojavob",
    "avtomatik javob",
)
# The newest messages of the window that are read: a flood still shows as one, and the query stays small.
SCAN = 100


def normalised(body: str) -> str:
    """The text as compared: case and spacing do not make two messages different."""
    return " ".join(body.casefold().split())


def looks_automatic(body: str) -> bool:
    """True for a text that reads like a delivery failure notice or an auto-reply."""
    text = normalised(body)
    return any(marker in text for marker in AUTOMATIC_MARKERS)


def _alike(a: str, b: str) -> bool:
    same = normalised(a)
    return (bool(same) and same == normalised(b)) or (looks_automatic(a) and looks_automatic(b))


def loop_in(bodies: list[str], limit: int) -> bool:
    """True when more than `limit` messages in a row (oldest first) are alike: the same text (a blank body, a picture
    alone, never is), or all automatic. In a row, because a family goes back and forth ("BENEFITS", "1", "BENEFITS",
    "2") where an auto-responder repeats itself."""
    run = 1
    for before, after in zip(bodies, bodies[1:], strict=False):
        run = run + 1 if _alike(before, after) else 1
        if run > limit:
            return True
    return False


# Built once (a statement built per message costs more than running it); the values are bound per message.
_EARLIER = (
    sa.select(col(InboundMessage.body))
    .where(
        col(InboundMessage.contact_id) == sa.bindparam("contact_id"),
        col(InboundMessage.received_at) >= sa.bindparam("since"),
        col(InboundMessage.received_at) <= sa.bindparam("now"),
        # This message itself, should a step have stored it already.
        sa.or_(
            col(InboundMessage.channel) != sa.bindparam("channel"),
            col(InboundMessage.message_sid) != sa.bindparam("sid"),
        ),
    )
    .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
    .limit(SCAN)
)


def pause_replies(session: Session, ctx: Context, phone: str, message: InboundMessage) -> bool:
    """True when the phone of this named message is in a reply loop: its answer is not sent (logged and counted)."""
    if message.contact_id is None:
        return False
    now, limit = message.received_at, ctx.settings.loop_limit
    since = now - timedelta(minutes=ctx.settings.loop_window_minutes)
    params = {"contact_id": message.contact_id, "since": since, "now": now}
    params |= {"channel": message.channel, "sid": message.message_sid}
    earlier = list(session.execute(_EARLIER, params).scalars())[::-1]
    if not loop_in([*earlier, message.body], limit):
        return False
    started = not loop_in(earlier, limit)
    if started:
        REPLY_LOOPS.inc()
    REPLY_LOOP_UNANSWERED.inc()
    log.warning(
        "inbound %s %s from %s: reply loop (more than %d alike in a row within %d min)%s; stored, not answered",
        message.channel,
        message.message_sid,
        log_phone(phone),
        limit,
        ctx.settings.loop_window_minutes,
        " found" if started else "",
    )
    return True
