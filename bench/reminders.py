"""Reminder planner benchmark (issue #6): one planning run for one day over N enrolments.

    python -m bench.reminders [--enrolments 1000000] [--small 100000] [--database postgres|sqlite]

For each size (N and the smaller one) a throwaway migrated database is loaded with one INSERT ... SELECT per table
(PostgreSQL: generate_series; SQLite: a recursive CTE), no Python loop: 0.9 N contacts and households (one in ten
households has a second enrolment, 1% of the phones said STOP, preferred hours 07-22 so some fall in quiet hours)
and N active enrolments, ~30% pregnancies due over the next 280 days and ~70% children born over the last five
years, all enrolled six years ago (no late-enrolment rule applies). The draws are a multiplicative hash of the row
number, so both databases hold the same data (a household's second enrolment is scattered by another hash, so its
dates do not follow its first one's).

Then, each in a fresh process (so its figures are its own):
  cold:   the very first planning run, for day D-6 (its 7-day catch-up window is full of undecided messages);
  warm:   days D-5 .. D-1, untimed;
  steady: day D, timed: the window holds only the day's new messages (what the hourly job does every day).
Each timed run is plan_day plus the commit, as the scheduler's session_scope does it. Memory: the process's peak
resident set (getrusage ru_maxrss: interpreter, libraries, connection, and the run) and its growth during the run
(peak after minus peak before; before the run the peak is the RSS of the started, connected process).
Targets (steady day, N = 1,000,000): <= 30 s, <= 300 MB peak RSS, time(N) / time(N/10) <= 11."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.outbox import KEY, ROOT, database
from hotline.config import Settings
from hotline.context import build_context
from hotline.db import get_engine
from hotline.models import UTCDateTime, utcnow
from hotline.reminders.planner import plan_day

LOOKUP = os.environ.get("BENCH_LOOKUP_KEY") or secrets.token_urlsafe(32)  # shared with worker processes
TARGET_SECONDS, TARGET_MB, TARGET_RATIO = 30.0, 300.0, 11.0
HOUSEHOLD_SHARE = 0.9  # households per enrolment: one in ten households has two enrolments
LANGUAGES = ["ky"] * 6 + ["ru"] * 3 + ["uz"]
WARM_DAYS = 6


def settings_for(url: str) -> Settings:
    """Production settings; the keys come from the parent process so every worker reads the same ciphertexts."""
    return Settings(
        env="production",
        database_url=url,
        public_url="https://hotline.example.org",
        secret_key="s" * 40,
        encryption_keys=KEY,
        lookup_key=LOOKUP,
        twilio_account_sid="AC" + "d" * 32,
        twilio_auth_token=secrets.token_hex(16),
        twilio_from_number="+996312900900",
    )


def _draw(multiplier: int, size: int) -> str:
    """SQL for a pseudo-random integer in [0, size) from the row number i (the high bits of a 32-bit
    multiplicative hash: integer arithmetic only, so PostgreSQL and SQLite draw the same)."""
    return f"(((i * {multiplier}) % 4294967296) * {size} / 4294967296)"


def fill_sql(dialect: str) -> list[str]:
    """The three INSERT ... SELECT statements for a dialect."""
    if dialect == "postgresql":
        series = "generate_series(CAST(1 AS bigint), CAST(:count AS bigint)) AS s(i)"

        def pick(array: str, index: str) -> str:
            return f"(CAST(:{array} AS text[]))[1 + {index}]"

        def days(offset: str) -> str:
            return f"CAST(:today AS date) + CAST({offset} AS integer)"
    else:
        series = (
            "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :count) SELECT i FROM s) AS s"
        )

        def pick(array: str, index: str) -> str:
            return f"json_extract(:{array}, '$[' || ({index}) || ']')"

        def days(offset: str) -> str:
            return f"date(:today, printf('%+d days', {offset}))"

    pregnant = f"{_draw(2654435761, 10)} < 3"
    return [
        f"""INSERT INTO contact (phone_hash, phone_encrypted, language, opted_out_at, created_at, updated_at)
            SELECT 'bench-' || i, {pick("tokens", "i % :tokens_count")}, {pick("languages", "i % 10")},
                   CASE WHEN i % 100 = 0 THEN :enrolled END, :enrolled, :enrolled
            FROM {series}""",
        """INSERT INTO household (contact_id, send_hour, consent_at, consent_channel, created_at)
           SELECT id, 7 + id % 16, :enrolled, 'import', :enrolled FROM contact ORDER BY id""",
        f"""INSERT INTO enrolment (household_id, kind, due_date, birth_date, status, created_at, updated_at)
            SELECT :first_household + CASE WHEN i <= :households THEN i - 1 ELSE (i * 7919) % :households END,
                   CASE WHEN {pregnant} THEN 'pregnancy' ELSE 'child' END,
                   CASE WHEN {pregnant} THEN {days(f"1 + {_draw(2246822519, 280)}")} END,
                   CASE WHEN NOT ({pregnant}) THEN {days(f"-{_draw(3266489917, 1826)}")} END,
                   'active', :enrolled, :enrolled
            FROM {series}""",
    ]


def fill(engine: Engine, settings: Settings, count: int, today: date) -> float:
    """Load `count` enrolments and their households (setup, not timed by the benchmark); the seconds it took."""
    started = time.perf_counter()
    ctx = build_context(settings)
    households = max(1, round(count * HOUSEHOLD_SHARE))
    tokens = [ctx.vault.encrypt(f"+99655{n:07d}") for n in range(16)]  # a handful of ciphertexts, reused
    postgres = engine.dialect.name == "postgresql"
    arrays: dict[str, Any] = {"tokens": tokens, "languages": LANGUAGES}
    if not postgres:
        arrays = {name: json.dumps(values) for name, values in arrays.items()}
    contacts, household_rows, enrolments = (
        sa.text(sql).bindparams(sa.bindparam("enrolled", type_=UTCDateTime)) for sql in fill_sql(engine.dialect.name)
    )
    enrolled = utcnow() - timedelta(days=6 * 366)
    with engine.begin() as conn:
        conn.execute(contacts, {"count": households, "tokens_count": len(tokens), "enrolled": enrolled, **arrays})
        conn.execute(household_rows, {"enrolled": enrolled})
        first = conn.execute(sa.text("SELECT min(id) FROM household")).scalar_one()
        conn.execute(
            enrolments,
            {"count": count, "first_household": first, "households": households, "today": today, "enrolled": enrolled},
        )
    analyze(engine)
    return time.perf_counter() - started


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics (what autovacuum does after a bulk load)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def worker(url: str, first: date, last: date) -> None:
    """Plan each day from `first` to `last` in this fresh process; print JSON figures of the whole run."""
    settings = settings_for(url)
    ctx = build_context(settings)
    engine = get_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))  # the connection is part of the process, not of the run
    before = _max_rss_mb()
    started = time.perf_counter()
    totals: dict[str, int] = {"households": 0, "sent": 0, "combined": 0, "skipped": 0}
    day = first
    while day <= last:
        with Session(engine) as session:
            report = plan_day(session, ctx, day, datetime.combine(day, clock(6), ctx.tz))
            session.commit()
        for name in totals:
            totals[name] += getattr(report, name)
        day += timedelta(days=1)
    seconds = time.perf_counter() - started
    peak = _max_rss_mb()
    print(json.dumps({"seconds": seconds, "rss_before_mb": before, "rss_peak_mb": peak, **totals}), flush=True)


def run_worker(url: str, first: date, last: date) -> dict[str, float]:
    """One worker process; its figures."""
    env = dict(os.environ, BENCH_FERNET_KEY=KEY, BENCH_LOOKUP_KEY=LOOKUP)
    out = subprocess.run(
        [sys.executable, "-m", "bench.reminders", "worker", url, first.isoformat(), last.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        timeout=7200,
    ).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def describe(name: str, f: dict[str, float]) -> str:
    """One line of figures."""
    return (
        f"  {name:<7} {f['seconds']:7.2f} s, peak RSS {f['rss_peak_mb']:6.1f} MB "
        f"(+{f['rss_peak_mb'] - f['rss_before_mb']:.1f} MB over the started process's {f['rss_before_mb']:.1f} MB); "
        f"{f['households']:,.0f} households with a weekly reminder, {f['sent']:,.0f} SMS "
        f"({f['combined']:,.0f} combined), {f['skipped']:,.0f} skipped"
    )


def measure(kind: str, count: int, today: date) -> dict[str, dict[str, float]]:
    """Load `count` enrolments into a new database, then the cold run, the warm-up and the steady day."""
    with database(kind) as url:
        engine = get_engine(url)
        seconds = fill(engine, settings_for(url), count, today)
        with engine.connect() as conn:
            loaded = conn.execute(sa.text("SELECT count(*) FROM enrolment")).scalar_one()
            homes = conn.execute(sa.text("SELECT count(*) FROM household")).scalar_one()
        print(f"N = {count:,}: loaded {loaded:,} enrolments of {homes:,} households in {seconds:.1f} s")
        cold_day = today - timedelta(days=WARM_DAYS)
        cold = run_worker(url, cold_day, cold_day)
        print(describe("cold", cold) + f" [first run ever, day {cold_day}]")
        warm = run_worker(url, cold_day + timedelta(days=1), today - timedelta(days=1))
        print(f"  warm-up {warm['seconds']:7.2f} s for days {cold_day + timedelta(days=1)} .. {today - timedelta(1)}")
        analyze(engine)
        steady = run_worker(url, today, today)
        print(describe("steady", steady) + f" [day {today}]", flush=True)
        engine.dispose()
    return {"cold": cold, "steady": steady}


def main() -> None:
    """Measure both sizes, print the figures and the verdict."""
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2], date.fromisoformat(sys.argv[3]), date.fromisoformat(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enrolments", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, help="the size to compare with (default: a tenth)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    args = parser.parse_args()
    small = args.small or args.enrolments // 10
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, database {args.database}")
    print(f"command: python -m bench.reminders {' '.join(sys.argv[1:])}")
    ctx = build_context(settings_for("sqlite://"))
    today = ctx.local_day(utcnow())
    results = {n: measure(args.database, n, today) for n in (args.enrolments, small)}
    big = results[args.enrolments]["steady"]
    for run in ("steady", "cold"):
        ratio = results[args.enrolments][run]["seconds"] / results[small][run]["seconds"]
        print(f"time ratio {run} N={args.enrolments:,} / N={small:,}: {ratio:.1f}")
    ratio = big["seconds"] / results[small]["steady"]["seconds"]
    seconds, rss = big["seconds"], big["rss_peak_mb"]
    verdict = [
        f"time {seconds:.1f} s (<= {TARGET_SECONDS:.0f}: {'met' if seconds <= TARGET_SECONDS else 'MISSED'})",
        f"peak RSS {rss:.0f} MB (<= {TARGET_MB:.0f}: {'met' if rss <= TARGET_MB else 'MISSED'})",
        f"ratio {ratio:.1f} (<= {TARGET_RATIO:.0f}: {'met' if ratio <= TARGET_RATIO else 'MISSED'})",
    ]
    print(f"steady day at N={args.enrolments:,}: " + "; ".join(verdict))


if __name__ == "__main__":
    main()
