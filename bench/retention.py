"""Retention benchmark: the daily job over a large message history.

    python -m bench.retention [--messages 1000000] [--database postgres|sqlite]

Loads N received SMS and N/2 sent ones (delivered), spread evenly over the last 180 days, into a throwaway
database, then times `enforce_retention` with the default settings (message texts kept 90 days): the **first** run
(half the history past the limit at once), the same run **again** (nothing left: the cost of finding that out), and
the **next day** (one day's worth). Target: the next-day run well under a minute at 1,000,000 messages."""

from __future__ import annotations

import argparse
import platform
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bench.outbox import KEY, database
from hotline.config import Settings
from hotline.context import build_context
from hotline.db import get_engine
from hotline.privacy.jobs import enforce_retention

HISTORY_DAYS = 180
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

_SERIES = {
    "postgresql": "SELECT g AS x FROM generate_series(1, :n) AS g",
    "sqlite": "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < :n) SELECT x FROM s",
}
_AT = {
    "postgresql": "CAST(:start AS timestamptz) + x * :step * INTERVAL '1 second'",
    "sqlite": "strftime('%Y-%m-%d %H:%M:%f', :start, '+' || (x * :step) || ' seconds')",
}


def fill(engine: sa.Engine, messages: int) -> None:
    """Bulk-insert the history (setup, not timed)."""
    dialect = engine.dialect.name
    series, at = _SERIES[dialect], _AT[dialect]
    start = (NOW - timedelta(days=HISTORY_DAYS)).replace(tzinfo=None).isoformat(sep=" ")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO inboundmessage (message_sid, receiver_encrypted, body, received_at, language, replies) "
                f"SELECT 'SM' || x, 'x', 'ПОСОБИЕ ' || x, {at}, 'ky', '[\"Пособия: 1 ...\"]' FROM ({series}) AS t"
            ),
            {"n": messages, "start": start, "step": HISTORY_DAYS * 86400 / messages},
        )
        conn.execute(
            sa.text(
                "INSERT INTO outboundmessage (idempotency_key, purpose, channel, priority, recipient_encrypted, "
                "language, body, segments, encoding, not_before, status, attempts, next_attempt_at, created_at, "
                "updated_at) "
                f"SELECT 'bench:' || x, 'reminder', 'sms', 3, 'x', 'ky', 'Эскертме ' || x, 1, 'UCS-2', {at}, "
                f"'delivered', 1, {at}, {at}, {at} FROM ({series}) AS t"
            ),
            {"n": messages // 2, "start": start, "step": HISTORY_DAYS * 86400 / (messages // 2)},
        )
        if dialect == "postgresql":
            conn.execute(sa.text("ANALYZE inboundmessage"))
            conn.execute(sa.text("ANALYZE outboundmessage"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    args = parser.parse_args()
    with database(args.database) as url:
        settings = Settings(
            env="production", database_url=url, secret_key="s" * 40, encryption_keys=KEY, lookup_key="l" * 40
        )
        ctx = build_context(settings)
        engine = get_engine(settings.database_url)
        started = time.monotonic()
        fill(engine, args.messages)
        print(
            f"{args.database}, {platform.node()}: loaded {args.messages:,} SMS in, {args.messages // 2:,} out "
            f"in {time.monotonic() - started:.1f} s"
        )
        print("| run | rows blanked (in / out) | time |\n| --- | --- | --- |")
        for label, now in (("first", NOW), ("again", NOW), ("next day", NOW + timedelta(days=1))):
            with Session(engine) as session:
                started = time.monotonic()
                report = enforce_retention(session, ctx, now)
                took = time.monotonic() - started
            print(f"| {label} | {report.messages_in:,} / {report.messages_out:,} | {took:.1f} s |")
        engine.dispose()


if __name__ == "__main__":
    main()
