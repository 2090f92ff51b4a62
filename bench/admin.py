"""Admin page benchmark: queue and complaint pages over HTTP with a year of complaints in the database.

    python -m bench.admin [--complaints 1000000] [--requests 300] [--database postgres|sqlite]

Loads N complaints into a throwaway database (PostgreSQL: one INSERT ... SELECT FROM generate_series; SQLite:
batched executemany), spread over every place of places.toml and the last 365 days: recent ones mostly open, older
ones mostly decided (a few stale and overdue); ~15% routed to the district, ~10% anonymous. Then a real server
(uvicorn, one worker) and three logged-in staff: a municipality officer (dara), a district supervisor
(batken-rayon) and the oblast supervisor (batken). Each sends `--requests` sequential queue requests (filters
rotated: none, status=new, overdue=1, a search word, category=bribe&page=3) and as many complaint pages (random
complaints the user may see), after a few warm-up requests. Prints p50/p95/max per user and page kind.
Target: p95 <= 150 ms for the queue and for complaint pages."""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.outbox import database
from bench.webhook import environment, server
from hotline.db import get_engine
from hotline.models import Complaint, Jurisdiction, Role, utcnow
from hotline.places import get_gazetteer
from hotline.staff.auth import create_user
from tests.support import free_port

TARGET_MS = 150.0
WARM_UP = 5
SEARCH_WORD = "взятку"  # in one phrase of eight: about 12% of complaints match
PHRASES = [
    "пособие не платят уже несколько месяцев",
    "в айыл окмоту требуют деньги за справку",
    "сотрудник грубо разговаривал с матерью",
    "семью исключили из списка без объяснения",
    "не включили в список малообеспеченных семей",
    "специалист просил взятку за оформление пособия",
    "задержка выплаты ежемесячного пособия на ребенка",
    "социальный работник не приходит на проверку",
]
DETAILS = [
    "многодетная семья",
    "мать одна воспитывает троих детей",
    "отец на заработках в России",
    "живем с пожилой бабушкой",
    "ребенок с инвалидностью",
    "обращались уже два раза",
    "документы сдали весной",
]
LANGUAGES = ["ky"] * 6 + ["ru"] * 3 + ["uz"]
# 20 slots each, so weights are easy to read.
CATEGORIES = ["not_paid"] * 7 + ["excluded"] * 5 + ["bribe"] * 3 + ["rude"] * 2 + ["other"] * 3
RECENT_STATUSES = (
    ["new"] * 5 + ["acknowledged"] * 4 + ["investigating"] * 5 + ["resolved"] * 3 + ["rejected"] + ["closed"] * 2
)
OLD_STATUSES = ["investigating"] + ["resolved"] * 10 + ["rejected"] * 3 + ["closed"] * 6
RECENT_DAYS = 30
QUEUE_VARIANTS = ["", "?status=new", "?overdue=1", f"?q={SEARCH_WORD}", "?category=bribe&page=3"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
COLUMNS = [
    "reference",
    "anonymous",
    "language",
    "text",
    "category",
    "category_guessed",
    "oblast_code",
    "district_code",
    "municipality_code",
    "jurisdiction",
    "status",
    "created_at",
    "updated_at",
    "first_answer_due",
    "resolution_due",
    "first_answered_at",
    "decided_at",
    "escalated_first_answer",
    "escalated_resolution",
    "due_at",
]


def places() -> list[tuple[str, str | None]]:
    """(district, municipality) of every place a complaint can come from; towns without municipalities: None."""
    gazetteer = get_gazetteer()
    found: list[tuple[str, str | None]] = []
    for district in gazetteer.districts:
        children = gazetteer.municipalities[district.code]
        if children:
            found.extend((district.code, m.code) for m in children)
        else:
            found.append((district.code, None))
    return found


# Inner query: the random draws, once per row (volatile functions keep the subquery from being flattened).
# Middle: the status from the age. Outer: the dates that follow from the status.
PG_FILL = f"""
INSERT INTO complaint ({", ".join(COLUMNS)}, contact_id, pin_hash, routed_reason, assignee_id)
SELECT lpad(i::text, 8, '0'), r_anon < 0.1, (CAST(:languages AS text[]))[1 + floor(r_lang * 10)::int],
       (CAST(:phrases AS text[]))[1 + (i % 8)] || ', ' || (CAST(:details AS text[]))[1 + (i % 7)]
           || ', обращение ' || i,
       (CAST(:categories AS text[]))[1 + floor(r_cat * 20)::int], r_guess < 0.7, 'batken',
       (CAST(:districts AS text[]))[place], (CAST(:municipalities AS text[]))[place],
       CASE WHEN r_juris < 0.15 THEN 'district' ELSE 'municipality' END, status, created,
       COALESCE(decided, answered, created), created + interval '7 days', created + interval '21 days',
       answered, decided, false, false,
       CASE WHEN status = 'new' THEN created + interval '7 days'
            WHEN status IN ('acknowledged', 'investigating') THEN created + interval '21 days' END,
       NULL, NULL, NULL, NULL
FROM (
    SELECT *,
           CASE WHEN status <> 'new' THEN LEAST(now_, created + interval '1 day' * (1 + floor(r_ans * 5))) END
               AS answered,
           CASE WHEN status IN ('resolved', 'rejected', 'closed')
                THEN LEAST(now_, created + interval '1 day' * (3 + floor(r_dec * 20))) END AS decided
    FROM (
        SELECT *, now_ - r_age * interval '365 days' AS created,
               CASE WHEN r_age * 365 < {RECENT_DAYS} THEN (CAST(:recent AS text[]))[1 + floor(r_status * 20)::int]
                    ELSE (CAST(:old AS text[]))[1 + floor(r_status * 20)::int] END AS status
        FROM (
            SELECT i, CAST(:now AS timestamptz) AS now_, 1 + floor(random() * :places)::int AS place,
                   random() AS r_anon, random() AS r_lang, random() AS r_cat, random() AS r_guess,
                   random() AS r_juris, random() AS r_age, random() AS r_status, random() AS r_ans, random() AS r_dec
            FROM generate_series(1, :count) AS i
        ) AS draws
    ) AS aged
) AS dated
"""


def rows(count: int, now: datetime) -> Iterator[dict[str, Any]]:
    """The same complaints as PG_FILL, drawn in Python (for SQLite)."""
    rng = random.Random(42)
    where = places()
    for i in range(1, count + 1):
        district, municipality = rng.choice(where)
        age = rng.random() * 365
        status = rng.choice(RECENT_STATUSES if age < RECENT_DAYS else OLD_STATUSES)
        created = now - timedelta(days=age)
        answered = None if status == "new" else min(now, created + timedelta(days=1 + rng.randrange(5)))
        decided = (
            min(now, created + timedelta(days=3 + rng.randrange(20)))
            if status in ("resolved", "rejected", "closed")
            else None
        )
        first_due, resolution_due = created + timedelta(days=7), created + timedelta(days=21)
        yield {
            "reference": f"{i:08d}",
            "anonymous": rng.random() < 0.1,
            "language": rng.choice(LANGUAGES),
            "text": f"{PHRASES[i % 8]}, {DETAILS[i % 7]}, обращение {i}",
            "category": rng.choice(CATEGORIES),
            "category_guessed": rng.random() < 0.7,
            "oblast_code": "batken",
            "district_code": district,
            "municipality_code": municipality,
            "jurisdiction": "district" if rng.random() < 0.15 else "municipality",
            "status": status,
            "created_at": created,
            "updated_at": decided or answered or created,
            "first_answer_due": first_due,
            "resolution_due": resolution_due,
            "first_answered_at": answered,
            "decided_at": decided,
            "escalated_first_answer": False,
            "escalated_resolution": False,
            "due_at": first_due
            if status == "new"
            else resolution_due
            if status in ("acknowledged", "investigating")
            else None,
        }


def fill(engine: Engine, count: int) -> float:
    """Bulk-load `count` complaints and refresh the planner's statistics; the seconds it took."""
    started, now = time.perf_counter(), utcnow()
    if engine.dialect.name == "postgresql":
        where = places()
        with engine.begin() as conn:
            conn.execute(
                sa.text(PG_FILL),
                {
                    "count": count,
                    "now": now,
                    "places": len(where),
                    "districts": [d for d, _ in where],
                    "municipalities": [m for _, m in where],
                    "languages": LANGUAGES,
                    "phrases": PHRASES,
                    "details": DETAILS,
                    "categories": CATEGORIES,
                    "recent": RECENT_STATUSES,
                    "old": OLD_STATUSES,
                },
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE complaint"))  # what autovacuum does after a bulk load
    else:
        table = Complaint.__table__  # type: ignore[attr-defined]
        with engine.begin() as conn:
            batch: list[dict[str, Any]] = []
            for row in rows(count, now):
                batch.append(row)
                if len(batch) == 5000:
                    conn.execute(sa.insert(table), batch)
                    batch = []
            if batch:
                conn.execute(sa.insert(table), batch)
            conn.execute(sa.text("ANALYZE"))
    return time.perf_counter() - started


@dataclass
class Staff:
    """A staff account and which complaints it may open."""

    username: str
    role: Role
    level: Jurisdiction
    area: str
    visible: str  # SQL condition on complaint
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))


STAFF = [
    Staff(
        "officer.dara",
        Role.OFFICER,
        Jurisdiction.MUNICIPALITY,
        "dara",
        "municipality_code = 'dara' AND jurisdiction = 'municipality'",
    ),
    Staff(
        "supervisor.batken-rayon",
        Role.SUPERVISOR,
        Jurisdiction.DISTRICT,
        "batken-rayon",
        "district_code = 'batken-rayon' AND jurisdiction IN ('municipality', 'district')",
    ),
    Staff("supervisor.oblast", Role.SUPERVISOR, Jurisdiction.OBLAST, "batken", "oblast_code = 'batken'"),
]


def create_staff(engine: Engine) -> None:
    """The three accounts, through the same code the CLI uses."""
    with Session(engine) as session:
        for s in STAFF:
            create_user(session, username=s.username, password=s.password, role=s.role, level=s.level, area_code=s.area)
        session.commit()


def sample_ids(engine: Engine, staff: Staff, count: int) -> list[int]:
    """Random ids of complaints the user may see (repeated if there are fewer than `count`)."""
    with engine.connect() as conn:
        ids = [
            int(i)
            for i in conn.execute(
                sa.text(f"SELECT id FROM complaint WHERE {staff.visible} ORDER BY random() LIMIT :n"), {"n": count}
            ).scalars()
        ]
    if not ids:
        raise SystemExit(f"no complaint visible to {staff.username}: load more complaints")
    return [ids[i % len(ids)] for i in range(count)]


def log_in(client: httpx.Client, staff: Staff) -> None:
    """The login form as a browser fills it; the session cookie stays in the client."""
    page = client.get("/admin/login")
    match = CSRF.search(page.text)
    if page.status_code != 200 or not match:
        raise SystemExit(f"login page: HTTP {page.status_code}, no CSRF token")
    response = client.post(
        "/admin/login",
        data={"username": staff.username, "password": staff.password, "csrf_token": match.group(1)},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise SystemExit(f"login of {staff.username}: HTTP {response.status_code}")


@dataclass
class Timings:
    """Latencies in milliseconds, and requests that did not answer 200."""

    ms: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, other: Timings) -> None:
        """Pool another set in."""
        self.ms.extend(other.ms)
        self.errors += other.errors

    def pct(self, q: float) -> float:
        """Nearest-rank percentile."""
        ordered = sorted(self.ms)
        return ordered[max(0, min(len(ordered) - 1, int(round(q * len(ordered) + 0.5)) - 1))]


def measure(client: httpx.Client, paths: list[str]) -> Timings:
    """Sequential GETs, each timed until its body is read."""
    timings = Timings()
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        timings.ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            timings.errors += 1
    return timings


def main() -> None:
    """Load, start, log in, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="per user and page kind")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, database {args.database}")
    print(f"command: python -m bench.admin {' '.join(sys.argv[1:])}")
    with ExitStack() as stack:
        url = stack.enter_context(database(args.database))
        engine = get_engine(url)
        seconds = fill(engine, args.complaints)
        with engine.connect() as conn:
            loaded = conn.execute(sa.text("SELECT count(*) FROM complaint")).scalar_one()
        print(f"complaints loaded: {loaded:,} in {seconds:.1f} s ({loaded / seconds:,.0f}/s)")
        create_staff(engine)
        ids = {s.username: sample_ids(engine, s, args.requests + WARM_UP) for s in STAFF}
        engine.dispose()
        port = free_port()
        env = environment(url, port) | {
            "HOTLINE_COOKIE_SECURE": "false",
            "HOTLINE_MIGRATE_ON_START": "false",
            "HOTLINE_SIMULATOR": "false",
        }
        stack.enter_context(server("hotline.main:create_app", env, port))
        results: dict[tuple[str, str], Timings] = {}
        variants: dict[tuple[str, str], Timings] = {}
        for s in STAFF:
            client = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60))
            log_in(client, s)
            queue = [f"/admin/queue{QUEUE_VARIANTS[i % len(QUEUE_VARIANTS)]}" for i in range(args.requests)]
            measure(client, [f"/admin/queue{v}" for v in QUEUE_VARIANTS])  # warm-up
            results[s.username, "queue"] = Timings()
            for variant in QUEUE_VARIANTS:
                paths = [p for p in queue if p == f"/admin/queue{variant}"]
                variants[s.username, variant or "(none)"] = timed = measure(client, paths)
                results[s.username, "queue"].add(timed)
            pages = [f"/admin/complaints/{i}" for i in ids[s.username]]
            measure(client, pages[:WARM_UP])
            results[s.username, "complaint"] = measure(client, pages[WARM_UP:])
    print(f"{'user':<24} {'page':<10} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'errors':>6}")
    for (user, kind), t in results.items():
        print(
            f"{user:<24} {kind:<10} {len(t.ms):>8} {t.pct(0.5):>7.1f} {t.pct(0.95):>7.1f} {max(t.ms):>7.1f} "
            f"{t.errors:>6}"
        )
    print("queue p95 by filter (ms):")
    print(f"  {'user':<24} " + " ".join(f"{v or '(none)':>22}" for v in QUEUE_VARIANTS))
    for s in STAFF:
        cells = " ".join(f"{variants[s.username, v or '(none)'].pct(0.95):>22.1f}" for v in QUEUE_VARIANTS)
        print(f"  {s.username:<24} {cells}")
    for kind in ("queue", "complaint"):
        pooled = Timings()
        for (_, k), t in results.items():
            if k == kind:
                pooled.add(t)
        p95 = pooled.pct(0.95)
        print(
            f"overall {kind} pages: p95 {p95:.1f} ms over {len(pooled.ms)} requests, {pooled.errors} errors "
            f"(target <= {TARGET_MS:.0f} ms: {'met' if p95 <= TARGET_MS and not pooled.errors else 'missed'})"
        )


if __name__ == "__main__":
    main()
