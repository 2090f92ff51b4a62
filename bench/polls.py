"""Poll invitation planning benchmark (issue #22): a survey to every phone, N phones.

    python -m bench.polls [--phones 1000000] [--small 100000] [--database postgres|sqlite]

For each size a throwaway migrated database gets N contacts in one INSERT ... SELECT (bench/reminders.py's: 1% of
the phones said STOP; ky, ru and uz in 6:3:1), then a started poll whose audience is every phone. Timed: the
scheduler's job as it runs, one transaction per run of at most 100,000 invitations (hotline.polls.jobs), repeated
until a run plans nothing; each run commits. Reported: the total time, invitations per second, and the process's
peak resident set before and after (getrusage ru_maxrss), so the growth is what planning needed."""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bench.outbox import database
from bench.reminders import LANGUAGES, analyze, fill_sql, settings_for
from hotline.context import build_context
from hotline.db import get_engine
from hotline.models import Jurisdiction, Role, UTCDateTime, utcnow
from hotline.polls import jobs, service
from hotline.staff.auth import create_user
from tests.polls.builders import AWARE


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(kind: str, phones: int) -> dict[str, float]:
    """Fill a database with `phones` contacts, start a poll to all of them, plan every invitation; the figures."""
    with database(kind) as url:
        settings = settings_for(url)
        ctx = build_context(settings)
        engine = get_engine(url)
        tokens = [ctx.vault.encrypt(f"+99655{n:07d}") for n in range(16)]
        arrays: dict[str, object] = {"tokens": tokens, "languages": LANGUAGES}
        if engine.dialect.name != "postgresql":
            arrays = {name: json.dumps(values) for name, values in arrays.items()}
        contacts = sa.text(fill_sql(engine.dialect.name)[0]).bindparams(sa.bindparam("enrolled", type_=UTCDateTime))
        with engine.begin() as conn:
            conn.execute(contacts, {"count": phones, "tokens_count": len(tokens), "enrolled": utcnow(), **arrays})
        analyze(engine)
        now = utcnow()
        with Session(engine) as session:
            user = create_user(
                session,
                username="bench",
                password="bench password 1",
                role=Role.ADMIN,
                level=Jurisdiction.OBLAST,
                area_code="batken",
            )
            today = ctx.local_day(now)
            form = service.PollForm(
                name="Survey",
                starts=str(today - timedelta(days=1)),
                ends=str(today + timedelta(days=30)),
                audience="phones",
            )
            poll = service.save_poll(session, ctx, user, form, now, None)
            service.add_question(session, ctx, poll, AWARE)
            service.start_poll(session, poll, now)
            session.commit()
        before = _rss_mb()
        started = time.perf_counter()
        invited = runs = 0
        while True:
            with Session(engine) as session:
                report = jobs.plan_invitations(session, ctx, now)
                session.commit()
            runs += 1
            invited += report.invited
            if not report.invited:
                break
        seconds = time.perf_counter() - started
        engine.dispose()
        return {
            "phones": phones,
            "invited": invited,
            "runs": runs,
            "seconds": round(seconds, 1),
            "per_second": round(invited / seconds),
            "rss_before_mb": round(before),
            "rss_peak_mb": round(_rss_mb()),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    args = parser.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}, {args.database}")
    for size in (args.small, args.phones):
        print(json.dumps(run(args.database, size)), flush=True)


if __name__ == "__main__":
    main()
