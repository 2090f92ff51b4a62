"""Real processes for the scale-out and fault tests: `hotline serve --workers N` and `hotline scheduler`, configured
through the environment as an operator does, on the test's database and a fake Twilio; signed SMS over HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.context import Context
from hotline.models import OutboundMessage, OutboundStatus, ReminderPlanned, utcnow
from hotline.reminders import importer
from hotline.reminders.schedule import PREGNANCY_DAYS
from hotline.simulator.sms import replies_from_twiml
from hotline.webhooks import sign
from tests.fake_twilio import FakeTwilio
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[1]
# Months after birth at which exactly one message is due and no other within the planner's 7-day window.
CHILD_MONTHS = [4, 6, 7, 8, 9, 10, 11, *range(13, 60)]
PREGNANCY_WEEKS = [20, 26, 30]
REFERENCE = re.compile(r"\b(\d{8})\b")  # a complaint's reference in its acknowledgement
PG_ONLY = "several web workers and schedulers at once need PostgreSQL (SQLite has one writer; run one scheduler)"


def daytime_zone(now: datetime | None = None) -> str:
    """A fixed-offset time zone in which it is about noon now: the test's "today" cannot roll over midnight while
    it runs, and no reminder waits for its hour, whatever time the suite runs at."""
    offset = 12 - (now or datetime.now(UTC)).hour  # -11 … +12 hours
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX signs: Etc/GMT-6 is UTC+6


def cluster_settings(settings: Settings, twilio_url: str, **overrides: object) -> Settings:
    """The test's settings (same database and keys) as the processes will read them."""
    values: dict[str, object] = {
        "twilio_api_url": twilio_url,
        "timezone": daytime_zone(),
        "quiet_hours_start": "00:00",  # an empty window: reminders may go at any hour of the test
        "quiet_hours_end": "00:00",
        "send_rate_segments_per_second": 400.0,
        "dispatch_interval_seconds": 0.2,
        "dispatch_batch": 20,
        "lease_seconds": 5,
        "retry_backoff_seconds": 1.0,
        "migrate_on_start": False,  # the test database is migrated; `hotline migrate` runs before a deploy
    }
    values.update(overrides)
    return settings.model_copy(update=values)


def cluster_env(settings: Settings) -> dict[str, str]:
    """HOTLINE_* variables for `settings`, and nothing from the runner's own HOTLINE_* environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "PROMETHEUS_"))}
    names = (
        "database_url",
        "public_url",
        "secret_key",
        "encryption_keys",
        "lookup_key",
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_from_number",
        "twilio_api_url",
        "timezone",
        "quiet_hours_start",
        "quiet_hours_end",
        "send_rate_segments_per_second",
        "dispatch_interval_seconds",
        "dispatch_batch",
        "lease_seconds",
        "retry_backoff_seconds",
        "migrate_on_start",
        "voice_audio_dir",
        "voice_recorded_dir",
    )
    env.update({f"HOTLINE_{name.upper()}": str(getattr(settings, name)) for name in names})
    env.update({"HOTLINE_ENV": "production", "HOTLINE_LOG_FORMAT": "json", "HOTLINE_SCHEDULER_METRICS_PORT": "0"})
    return env


@dataclass
class Cluster:
    """The processes of one test; each in its own process group, so uvicorn's workers go with their parent."""

    env: dict[str, str]
    logs: Path
    port: int = 0
    web: subprocess.Popen[bytes] | None = None
    schedulers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: Counter[str] = field(default_factory=Counter)

    @property
    def url(self) -> str:
        """Where the web server listens."""
        return f"http://127.0.0.1:{self.port}"

    def _start(self, name: str, *args: str, extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "hotline.cli", *args],
            env=self.env | (extra or {}),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_web(self, workers: int, timeout: float = 60) -> None:
        """`hotline serve --workers N`; returns when /readyz answers 200."""
        self.port = free_port()
        metrics_dir = self.logs / "metrics"
        metrics_dir.mkdir(exist_ok=True)
        self.web = self._start(
            "web",
            "serve",
            "--workers",
            str(workers),
            "--port",
            str(self.port),
            extra={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.web.poll() is None, f"the web server exited: {self.log('web')[-2000:]}"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("the web server did not get ready in time")

    def start_scheduler(self, name: str) -> None:
        """`hotline scheduler` (again, after a kill, under the same name)."""
        if name in self.schedulers:
            self.restarts[name] += 1
        self.schedulers[name] = self._start(name, "scheduler")

    def kill(self, name: str) -> None:
        """SIGKILL a scheduler: no shutdown code runs, as when the machine dies."""
        proc = self.schedulers[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def alive(self) -> list[str]:
        """The processes still running."""
        procs = {"web": self.web, **self.schedulers} if self.web else dict(self.schedulers)
        return sorted(name for name, proc in procs.items() if proc is not None and proc.poll() is None)

    def stop(self) -> None:
        """Terminate everything, then kill what is left."""
        procs = [p for p in [self.web, *self.schedulers.values()] if p is not None]
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def log(self, name: str) -> str:
        """What one process wrote (JSON log lines)."""
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def all_logs(self) -> str:
        """Every process's log."""
        return "".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))


@contextmanager
def running_cluster(settings: Settings, logs: Path) -> Iterator[Cluster]:
    """A cluster whose processes are always gone when the block ends, whatever happened in it."""
    logs.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(cluster_env(settings), logs)
    try:
        yield cluster
    finally:
        cluster.stop()


@dataclass(frozen=True)
class Posted:
    """One webhook call as Twilio saw it."""

    sid: str
    status: int
    replies: tuple[str, ...]
    started: float
    finished: float


def post_sms(client: httpx.Client, settings: Settings, sid: str, sender: str, body: str, timeout: float = 15) -> Posted:
    """Post one signed inbound SMS as Twilio does (it gives up after 15 s and calls the fallback URL)."""
    form = {"MessageSid": sid, "AccountSid": settings.twilio_account_sid, "From": sender, "To": "+996312900900"}
    form["Body"] = body
    signature = sign(settings, settings.public_url.rstrip("/") + "/twilio/sms", form)
    started = time.monotonic()
    try:
        response = client.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}, timeout=timeout)
    except httpx.HTTPError:
        return Posted(sid, 0, (), started, time.monotonic())  # no answer at all: Twilio's fallback too
    replies = tuple(replies_from_twiml(response.text)) if response.status_code == 200 else ()
    return Posted(sid, response.status_code, replies, started, time.monotonic())


def wait_for(condition: Callable[[], bool], deadline: float, what: str, every: float = 0.3) -> None:
    """Poll until `condition` holds; fail naming `what` at the deadline (time.monotonic())."""
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def unsent(engine: Engine) -> int:
    """Outbox messages not yet handed to Twilio (or given up)."""
    with Session(engine) as session:
        waiting = (OutboundStatus.PENDING, OutboundStatus.SENDING)
        return len(session.exec(select(OutboundMessage.id).where(OutboundMessage.status.in_(waiting))).all())  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Delivery:
    """The outbox against what the fake Twilio received: each message exactly once."""

    outbox: int
    received: int
    duplicates: list[tuple[str, str]]
    lost: list[str]  # idempotency keys never received (or not marked sent)


def check_delivery(engine: Engine, ctx: Context, fake: FakeTwilio) -> Delivery:
    """Match every outbox row (recipient and body) with the messages the fake accepted."""
    with fake.lock:
        received = Counter((m["to"], m["body"]) for m in fake.messages)
        sids = {m["sid"] for m in fake.messages}
    with Session(engine) as session:
        rows = session.exec(select(OutboundMessage)).all()
        expected = {(ctx.vault.decrypt(m.recipient_encrypted), m.body): m for m in rows}
    duplicates = sorted(pair for pair, n in received.items() if n > 1 or pair not in expected)
    lost = sorted(
        m.idempotency_key
        for pair, m in expected.items()
        if received[pair] == 0 or m.status != OutboundStatus.SENT or m.provider_sid not in sids
    )
    assert len(expected) == len(rows), "two outbox rows with the same recipient and body: the test cannot tell"
    return Delivery(len(rows), sum(received.values()), duplicates, lost)


def population_csv(today: date, count: int) -> bytes:
    """`count` households enrolled today, each with exactly one reminder to plan today: children of many ages and
    pregnancies. At a month's end a child's monthly message may have fallen due a day or two ago (29 Nov - 9 months
    = 28 Feb, due 28 Nov); a new enrolment still gets it (docs/REMINDERS.md), so the count holds on any day."""
    lines = ["phone,kind,date,language,municipality,send_hour,consent"]
    languages = ["ky", "ru", "uz", "en"]
    for i in range(count):
        if i % 4 == 3:
            week = PREGNANCY_WEEKS[i % len(PREGNANCY_WEEKS)]
            kind, day = "pregnancy", today + timedelta(days=PREGNANCY_DAYS - 7 * week)
        else:
            kind, day = "child", today - relativedelta(months=CHILD_MONTHS[i % len(CHILD_MONTHS)])
        lines.append(f"+99655520{i:04d},{kind},{day:%d.%m.%Y},{languages[i % 4]},,,yes")
    return ("\n".join(lines) + "\n").encode()


def populate(engine: Engine, ctx: Context, count: int, now: datetime | None = None) -> None:
    """Enrol the population through the staff importer, as a health office would."""
    now = now or utcnow()
    rows = importer.check_all(importer.read_csv(population_csv(ctx.local_day(now), count)), ctx.local_day(now))
    with Session(engine) as session:
        result = importer.write_rows(session, ctx, rows, now, "import")
        session.commit()
    assert result.new_enrolments == count


def planned(engine: Engine) -> int:
    """Reminder decisions made so far."""
    with Session(engine) as session:
        return len(session.exec(select(ReminderPlanned.id)).all())
