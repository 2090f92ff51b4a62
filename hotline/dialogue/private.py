"""What an anonymous turn may leave behind: times to the day, counters with no serial id, transport ids keyed, and
replies sealed with a key only the transport's own id opens. Threat model and what each protects against:
docs/PRIVACY.md."""

from __future__ import annotations

import base64
from datetime import date, datetime, time

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import ColumnElement, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.models import PrivateCounter, PrivateTurn


def coarse_time(ctx: Context, now: datetime) -> datetime:
    """The start of `now`'s local day: the only time a row written in an anonymous turn carries. A day, not an hour:
    a province's hotline hears from few phones in an hour, so an hour would narrow the phones that could have
    written to a handful."""
    return datetime.combine(ctx.local_day(now), time(0), ctx.tz)


def counter_key(ctx: Context, purpose: str, *parts: str) -> str:
    """A counter's key: keyed with the secret, and with a purpose no named rate limit uses."""
    return ctx.vault.private_key(f"private:{purpose}", "\x00".join(parts))


def count(session: Session, key: str, day: date) -> int:
    """How many times a private counter was bumped on a day."""
    row = session.get(PrivateCounter, key)
    return row.count if row is not None and row.day == day else 0


def counted(key: str, day: date) -> ColumnElement[int]:
    """`count` as an expression, to read with other figures in one statement."""
    found = select(col(PrivateCounter.count)).where(col(PrivateCounter.key) == key, col(PrivateCounter.day) == day)
    return func.coalesce(found.scalar_subquery(), 0)


def bump(session: Session, key: str, day: date) -> None:
    """Count one more anonymous act in a bucket (a row of another day starts over)."""
    row = session.get(PrivateCounter, key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(PrivateCounter(key=key, day=day, count=1))
            return
        except IntegrityError:  # the same bucket's first act on another connection
            row = session.get(PrivateCounter, key, populate_existing=True)
            assert row is not None
    row.count = row.count + 1 if row.day == day else 1
    row.day = day
    session.add(row)


def turn_key(ctx: Context, channel: str, transport_id: str) -> str:
    """The keyed form of a transport's message id: the operator's own records link the raw id to the phone."""
    return ctx.vault.private_key("private:turn", f"{channel}\x00{transport_id}")


def _sealer(ctx: Context, channel: str, transport_id: str) -> Fernet:
    # A key made from the secret and the transport's raw id, which the database does not hold: a dump (even with the
    # secrets) cannot read the replies; a transport's retry, which carries the raw id, can.
    material = bytes.fromhex(ctx.vault.private_key("private:reply", f"{channel}\x00{transport_id}"))
    return Fernet(base64.urlsafe_b64encode(material[:32]))


def remembered(session: Session, ctx: Context, channel: str, transport_id: str) -> tuple[PrivateTurn, list[str]] | None:
    """The anonymous turn a transport's retry repeats, with its replies unsealed (None if it was no such turn)."""
    row = session.get(PrivateTurn, turn_key(ctx, channel, transport_id))
    if row is None:
        return None
    sealer = _sealer(ctx, channel, transport_id)
    try:
        return row, [sealer.decrypt(token.encode()).decode() for token in row.replies]
    except InvalidToken:  # keys rotated since: nothing to repeat
        return row, []


def remember(
    session: Session,
    ctx: Context,
    *,
    channel: str,
    transport_id: str,
    now: datetime,
    language: str,
    keyword: str | None,
    replies: list[str],
) -> None:
    """Keep what a retry of an anonymous turn needs: its replies sealed with a key only the transport's id opens,
    under the keyed id, with the day. The reference and PIN are never readable in the database."""
    sealer = _sealer(ctx, channel, transport_id)
    session.add(
        PrivateTurn(
            key=turn_key(ctx, channel, transport_id),
            day=ctx.local_day(now),
            language=language,
            keyword=keyword,
            replies=[sealer.encrypt(reply.encode()).decode() for reply in replies],
        )
    )
