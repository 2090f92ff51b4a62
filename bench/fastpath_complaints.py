"""CPU per named complaint intake in-process (#20): the webhook's fast path (FastPath.answer, on an event loop) against
the engine's path (handle, in a fresh session as a request has), on SQLite and PostgreSQL.

    python -m bench.fastpath_complaints [--phones 400] [--database sqlite|postgres|both]

A throwaway migrated database gets 2 x N known phones whose village is remembered (each said HELP once, then its
municipality set); each phone sends one complaint ("ЖАЛОБА ...", filed at once), half through each path, one after the
other (no concurrency: this is CPU per SMS, not throughput). Reported per SMS: this process's CPU (time.process_time,
every thread), wall time, and on PostgreSQL the CPU of the database's backends (from /proc)."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from bench.cpu import postgres_cpu, spent
from bench.outbox import database
from bench.reminders import settings_for
from hotline.context import build_context
from hotline.db import get_engine
from hotline.dialogue.inbound import Inbound
from hotline.engine import handle
from hotline.fastpath import FastPath
from hotline.models import Complaint, utcnow
from tests.factories import OUR_NUMBER, new_sid

BODY = "ЖАЛОБА пособие на ребенка не платят уже три месяца"


def _phone(n: int) -> str:
    return f"+99655{n:07d}"


def _measure(work: Callable[[], None], database_name: str | None) -> tuple[float, float, float]:
    backends = postgres_cpu(database_name) if database_name else {}
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    db = spent(backends, postgres_cpu(database_name)) if database_name else 0.0
    return cpu, wall, db


def run(kind: str, phones: int) -> dict[str, Any]:
    """The figures of one database."""
    with database(kind) as url:
        ctx = build_context(settings_for(url))
        engine = get_engine(url)
        now = utcnow()
        with Session(engine) as session:
            for n in range(2 * phones + 20):
                handle(session, ctx, Inbound("twilio", new_sid(), _phone(n), OUR_NUMBER, "ПОМОЩЬ", now))
            session.execute(sa.text("UPDATE contact SET municipality_code = 'dara'"))
            session.commit()
        at = now + timedelta(minutes=1)
        path = FastPath(ctx, engine)
        loop = asyncio.new_event_loop()
        name = engine.url.database if kind == "postgres" else None

        def fast(numbers: range) -> None:
            async def each() -> None:
                for n in numbers:
                    sms = Inbound("twilio", new_sid(), _phone(n), OUR_NUMBER, BODY, at)
                    assert await path.answer(sms) is not None, "the fast path stood aside"

            loop.run_until_complete(each())

        def slow(numbers: range) -> None:
            for n in numbers:
                with Session(engine) as session:
                    handle(session, ctx, Inbound("twilio", new_sid(), _phone(n), OUR_NUMBER, BODY, at))

        fast(range(2 * phones, 2 * phones + 10))  # warm up: connections, caches, compiled statements
        slow(range(2 * phones + 10, 2 * phones + 20))
        figures: dict[str, Any] = {"database": kind, "phones": phones}
        for label, work in (("fast", lambda: fast(range(phones))), ("engine", lambda: slow(range(phones, 2 * phones)))):
            cpu, wall, db = _measure(work, name)
            figures[label] = {
                "cpu_us_per_sms": round(cpu / phones * 1e6),
                "wall_us_per_sms": round(wall / phones * 1e6),
                "db_cpu_us_per_sms": round(db / phones * 1e6) if name else None,
            }
        with Session(engine) as session:
            filed = session.execute(sa.select(sa.func.count()).select_from(Complaint)).scalar_one()
        assert filed == 2 * phones + 20, filed
        loop.run_until_complete(path.aclose())
        loop.close()
        figures["ratio_cpu"] = round(figures["engine"]["cpu_us_per_sms"] / figures["fast"]["cpu_us_per_sms"], 1)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--phones", type=int, default=400)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    for kind in kinds:
        print(json.dumps(run(kind, args.phones)))


if __name__ == "__main__":
    main()
