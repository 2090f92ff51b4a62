"""Fault tests with the real processes (issue #8): PostgreSQL restarted under inbound load, a whole `hotline
scheduler` killed mid-dispatch and restarted, the fake Twilio unreachable for a while. Each is bounded in time, kills
its processes at the end, and (the restart) always brings PostgreSQL back. tests/messaging/test_faults.py covers the
dispatcher alone: kills at random moments on a full outbox, two dispatchers, Twilio answering 503, timeouts."""

from __future__ import annotations

import logging
import random
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hotline.config import Settings
from hotline.context import build_context
from hotline.main import create_app
from hotline.models import Complaint, InboundMessage, OutboundMessage, ReminderPlanned
from hotline.webhooks import sign
from tests.cluster import (
    PG_ONLY,
    REFERENCE,
    Posted,
    check_delivery,
    cluster_settings,
    planned,
    populate,
    post_sms,
    running_cluster,
    unsent,
    wait_for,
)
from tests.fake_twilio import FakeServer
from tests.messaging.test_faults import fill_outbox

DEADLINE_SECONDS = 90
PG_DOWN_SECONDS = 2.0  # short: other tests share this server
RECOVERY_LIMIT_SECONDS = 10.0


def test_database_outage_is_a_clean_503(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """No database behind the app (any backend runs this): 503 with Retry-After, so Twilio calls the fallback URL,
    logged in one line without the SQL or the message, not a 500 with a traceback."""
    down = settings.model_copy(
        update={
            "database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nothing",  # nobody listens on port 1
            "migrate_on_start": False,
            "encryption_keys": Fernet.generate_key().decode(),
        }
    )
    form = {"MessageSid": "SM" + secrets.token_hex(16), "From": "+996555123456", "To": "+996312900900"}
    form["AccountSid"] = settings.twilio_account_sid
    form["Body"] = "ЖАЛОБА секретный текст"
    signature = sign(down, down.public_url + "/twilio/sms", form)
    with caplog.at_level(logging.INFO), TestClient(create_app(down), raise_server_exceptions=False) as client:
        started = time.monotonic()
        response = client.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
        elapsed = time.monotonic() - started
        ready = client.get("/readyz")
    assert (response.status_code, response.headers["retry-after"], ready.status_code) == (503, "5", 503)
    assert elapsed < 5
    warnings = [r for r in caplog.records if r.name == "hotline.probes" and r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["database unavailable, answered 503: OperationalError"]
    assert not any(r.exc_info for r in caplog.records)
    assert "секретный" not in caplog.text and "INSERT" not in caplog.text


def test_a_database_host_that_never_answers_is_a_503_before_twilio_gives_up(settings: Settings) -> None:
    """A partition or a hung server: the TCP connection opens but nothing answers. connect_timeout (5 s) turns that
    into a 503 well inside Twilio's 15 s, instead of a request held until Twilio gives up (any backend runs this)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes the handshake; nobody ever reads or writes
        port = silent.getsockname()[1]
        hung = settings.model_copy(
            update={
                "database_url": f"postgresql+psycopg://postgres@127.0.0.1:{port}/hotline",
                "migrate_on_start": False,
            }
        )
        form = {"MessageSid": "SM" + secrets.token_hex(16), "From": "+996555123456", "To": "+996312900900"}
        form["AccountSid"] = settings.twilio_account_sid
        form["Body"] = "HELP"
        signature = sign(hung, hung.public_url + "/twilio/sms", form)
        with TestClient(create_app(hung), raise_server_exceptions=False) as client:
            started = time.monotonic()
            response = client.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
            elapsed = time.monotonic() - started
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert 4 < elapsed < 12, f"answered after {elapsed:.1f} s"


def received(twilio: FakeServer, count: int) -> Callable[[], bool]:
    """True once the fake Twilio has accepted `count` messages."""
    return lambda: len(twilio.fake.messages) >= count


def postgres(action: str) -> None:
    """Stop or start this machine's PostgreSQL cluster (the brief allows it only here, always started again)."""
    version = min(path.name for path in Path("/etc/postgresql").iterdir())
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    if action == "stop":
        command += ["-m", "fast"]
    subprocess.run(command, check=action == "start", capture_output=True, timeout=60)


def postgres_running() -> bool:
    return " online " in subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout


class Prober:
    """Connects to PostgreSQL every 50 ms from the start of the block: when it first accepts connections again."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.first_connection = 0.0
        self.thread = threading.Thread(target=self.probe, daemon=True)

    def probe(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                psycopg.connect(self.url, connect_timeout=1).close()
            except psycopg.OperationalError:
                time.sleep(0.05)
                continue
            self.first_connection = time.monotonic()
            return

    def __enter__(self) -> Prober:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.thread.join(timeout=60)
        assert self.first_connection, "PostgreSQL did not come back within a minute"


class Load:
    """Families texting in from `threads` phones at once, each its own dialogue, until stopped. A message that does
    not get 200 is sent again with the same MessageSid (as Twilio redelivers) until it does."""

    def __init__(self, client: httpx.Client, settings: Settings, threads: int) -> None:
        self.client, self.settings = client, settings
        self.stopping = threading.Event()
        self.posts: list[Posted] = []
        self.acks: list[str] = []
        self.lock = threading.Lock()
        self.workers = [threading.Thread(target=self.family, args=(n,)) for n in range(threads)]

    def family(self, n: int) -> None:
        rng = random.Random(n)
        round_ = 0
        while not self.stopping.is_set():
            phone = f"+9967004{n:02d}{round_:03d}"
            round_ += 1
            texts = ["ЖАЛОБА меня исключили из списка", "2", "1"] if rng.random() < 0.5 else ["ПОСОБИЕ", "1"]
            for step, text in enumerate(texts):
                sid = f"SM{n:04d}{round_:06d}{step:02d}" + "0" * 20
                while True:
                    posted = post_sms(self.client, self.settings, sid, phone, text)
                    with self.lock:
                        self.posts.append(posted)
                    if posted.status == 200:
                        break
                    time.sleep(0.2)  # a 503 says Retry-After; the test tries sooner to measure recovery
                if text == "1" and texts[0].startswith("ЖАЛОБА"):
                    with self.lock:
                        self.acks.append(posted.replies[-1])

    def __enter__(self) -> Load:
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for worker in self.workers:
            worker.join(timeout=60)


@pytest.mark.timeout(DEADLINE_SECONDS + 60)
def test_postgres_restart_under_load(settings: Settings, engine: Engine, twilio: FakeServer, tmp_path: Path) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("restarts the PostgreSQL server under load: a PostgreSQL matter")
    deadline = time.monotonic() + DEADLINE_SECONDS
    cset = cluster_settings(settings, twilio.fake.url, send_rate_segments_per_second=40.0)
    ctx = build_context(cset)
    with Session(engine) as session:
        fill_outbox(session, ctx, 300)  # ~8 s of sending at 40/s: the restart lands mid-dispatch
    with running_cluster(cset, tmp_path / "logs") as cluster:
        cluster.start_scheduler("scheduler-1")
        cluster.start_scheduler("scheduler-2")
        cluster.start_web(workers=2)
        with httpx.Client(base_url=cluster.url) as client, Load(client, settings, threads=8) as load:
            time.sleep(2)
            down = time.monotonic()
            try:
                postgres("stop")
                time.sleep(PG_DOWN_SECONDS)
            finally:
                with Prober(settings.database_url) as prober:
                    postgres("start")  # returns a while after the server accepts connections
            up = prober.first_connection
            time.sleep(6)
        wait_for(lambda: unsent(engine) == 0, deadline, "the outbox to drain after the restart")
        assert cluster.alive() == ["scheduler-1", "scheduler-2", "web"]
        web_log = cluster.log("web")

    statuses = Counter(p.status for p in load.posts)
    failed = [p for p in load.posts if p.status != 200]
    assert set(statuses) == {200, 503}, statuses  # 503 while down; never a 500, never no answer
    assert max(p.finished - p.started for p in failed) < 5  # answered at once, not hung
    after = [p for p in load.posts if p.started >= up and p.status == 200]
    recovery = min(p.finished for p in after) - up
    last_failure = max(p.finished for p in failed) - up
    assert recovery < RECOVERY_LIMIT_SECONDS and last_failure < RECOVERY_LIMIT_SECONDS

    sids = {p.sid for p in load.posts}
    answered = {p.sid: p.replies for p in load.posts if p.status == 200}
    assert set(answered) == sids  # every message was answered in the end (the retries)
    with Session(engine) as session:
        stored = {m.message_sid: tuple(m.replies) for m in session.exec(select(InboundMessage))}
        references = sorted(c.reference for c in session.exec(select(Complaint)))
    assert stored == answered  # one row per message, holding the answer the family got: nothing half-saved
    acknowledged = [found.group(1) for ack in load.acks if (found := REFERENCE.search(ack))]
    assert references == sorted(acknowledged) and len(acknowledged) == len(load.acks)
    assert len(set(references)) == len(references)

    delivery = check_delivery(engine, ctx, twilio.fake)
    assert (delivery.duplicates, delivery.lost, delivery.received) == ([], [], 300)
    assert "Traceback" not in web_log and "меня исключили" not in web_log
    print(
        f"\npostgres restart: down {up - down:.1f} s (stop, {PG_DOWN_SECONDS} s, start); {len(load.posts)} posts, "
        f"{statuses[503]} answered 503 (the first {min(p.started for p in failed) - down:.1f} s after the stop, the "
        f"last {last_failure:+.1f} s from the first connection accepted again), first 200 {recovery:.1f} s after it; "
        f"{len(references)} complaints; outbox 300 sent once "
        f"(duplicates {len(delivery.duplicates)}, lost {len(delivery.lost)})"
    )


@pytest.mark.timeout(DEADLINE_SECONDS + 60)
def test_scheduler_killed_mid_dispatch_and_restarted(
    settings: Settings, engine: Engine, twilio: FakeServer, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip(PG_ONLY)
    households = 200
    deadline = time.monotonic() + DEADLINE_SECONDS
    cset = cluster_settings(settings, twilio.fake.url, send_rate_segments_per_second=40.0)
    ctx = build_context(cset)
    populate(engine, ctx, households)  # about 330 segments: 8 s of sending at 40/s
    kills: list[tuple[str, int]] = []
    with running_cluster(cset, tmp_path / "logs") as cluster:
        cluster.start_scheduler("scheduler-1")
        cluster.start_scheduler("scheduler-2")
        for name, after in (("scheduler-1", 30), ("scheduler-2", 90), ("scheduler-1", 150)):
            wait_for(received(twilio, after), deadline, f"{after} messages sent", every=0.05)
            cluster.kill(name)
            kills.append((name, unsent(engine)))
            cluster.start_scheduler(name)
        wait_for(
            lambda: planned(engine) == households and unsent(engine) == 0,
            deadline,
            "every reminder planned and sent after the kills",
        )
        assert cluster.alive() == ["scheduler-1", "scheduler-2"]
    assert all(waiting > 0 for _, waiting in kills), kills  # each kill landed while messages were waiting
    delivery = check_delivery(engine, ctx, twilio.fake)
    assert (delivery.duplicates, delivery.lost, delivery.received) == ([], [], households)
    with Session(engine) as session:
        plans = session.exec(select(ReminderPlanned)).all()
        reclaimed = session.exec(select(OutboundMessage).where(col(OutboundMessage.attempts) > 1)).all()
    assert len({(p.enrolment_id, p.code) for p in plans}) == len(plans) == households
    print(
        f"\nscheduler kills: {[f'{name} with {waiting} unsent' for name, waiting in kills]}; {households} reminders "
        f"sent once (duplicates 0, lost 0), {len(reclaimed)} taken again after a kill"
    )


def test_twilio_unreachable_then_back(settings: Settings, engine: Engine, twilio: FakeServer, tmp_path: Path) -> None:
    """Connections refused (and kept-alive ones cut) for 6 s while the schedulers send: every message is retried
    with backoff and goes exactly once when Twilio is back, with nobody running `hotline outbox retry`."""
    count = 200
    deadline = time.monotonic() + DEADLINE_SECONDS
    cset = cluster_settings(settings, twilio.fake.url, send_rate_segments_per_second=40.0)
    ctx = build_context(cset)
    with Session(engine) as session:
        fill_outbox(session, ctx, count)  # 5 s of sending at 40/s
    schedulers = 2 if engine.dialect.name == "postgresql" else 1  # one on SQLite, as documented
    with running_cluster(cset, tmp_path / "logs") as cluster:
        for n in range(schedulers):
            cluster.start_scheduler(f"scheduler-{n + 1}")
        wait_for(received(twilio, 40), deadline, "the first messages sent", every=0.05)
        twilio.stop()
        stopped_at, sent_before = time.monotonic(), len(twilio.fake.messages)
        time.sleep(6)
        twilio.start()
        back = time.monotonic()
        wait_for(lambda: unsent(engine) == 0, deadline, "the outbox to drain after the outage", every=0.1)
        drained = time.monotonic() - back
        logs = cluster.all_logs()
    delivery = check_delivery(engine, ctx, twilio.fake)
    assert (delivery.duplicates, delivery.lost, delivery.received) == ([], [], count)
    assert sent_before < count  # the outage began while messages were waiting
    with Session(engine) as session:
        retried = session.exec(select(OutboundMessage).where(col(OutboundMessage.attempts) > 1)).all()
    assert retried, "no message met the outage"
    assert "(retry)" in logs and "Traceback" not in logs  # a lookup that cannot reach Twilio no longer aborts a batch
    print(
        f"\ntwilio down {back - stopped_at:.1f} s: {len(retried)} messages retried, all {count} sent once "
        f"{drained:.1f} s after it was back (duplicates 0, lost 0)"
    )


@pytest.fixture(autouse=True, scope="module")
def postgres_left_running() -> Iterator[None]:
    """Whatever happens here, this machine's PostgreSQL is up at the end."""
    yield
    if shutil.which("pg_lsclusters") and not postgres_running():
        postgres("start")
