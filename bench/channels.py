"""Channels benchmark (issue #14): SMS through a real Kannel beside Twilio, on SQLite or PostgreSQL, in one run.

    .venv/bin/python -m bench.channels [--messages 500] [--database sqlite|postgres] [--sequential 100]
                                       [--kannel-log-level 0]

Everything runs here on 127.0.0.1 and stops by itself: the hotline (uvicorn, one worker, its own process), Debian's
bearerbox and smsbox with Kannel's fake SMSC, fakesmsc playing every phone (tests/kannel.py), the fake Twilio
(tests/fake_twilio.py) and a throwaway database. Figures printed:
  (1) through Kannel: N keyword SMS (ЖАРДАМ, ПОМОЩЬ, HELP, ПОСОБИЕ, ЁРДАМ) from N phones, all sent at once by
      fakesmsc -> bearerbox -> smsbox -> GET /kannel/sms -> reply -> smsbox -> bearerbox -> fakesmsc: messages/s from
      the first send to the last reply, latency per message from its send to its reply (p50/p95/p99); then
      --sequential messages one at a time (nothing queued: the latency of one SMS).
  (2) the same requests straight to /kannel/sms with httpx, in Kannel's query format, over as many connections as
      Kannel opened in (1), and one at a time: what Kannel adds is the difference to (1).
  (3) the outbox: N pending rows on the kannel transport sent by dispatch_once with KannelSender (rate limit high)
      through smsbox's sendsms to the phones, then N rows on the twilio transport with TwilioSender to the fake
      Twilio; messages/s of the dispatcher, and a check that every message arrived (and Kannel's delivery reports);
      before them, 50 sendsms requests one at a time, for what Kannel's interface takes when idle.
CPU time per message of each process is printed for each bulk phase, from /proc."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import sqlalchemy as sa

from bench.outbox import ACCOUNT, TOKEN, database, fake_twilio
from bench.webhook import environment
from hotline.channels.kannel import KannelSender
from hotline.channels.twilio import TwilioSender
from hotline.config import Settings
from hotline.context import build_context
from hotline.db import get_engine
from hotline.messaging.dispatcher import RateLimiter, dispatch_once
from hotline.messaging.sender import Outgoing, Sender, SendResult
from hotline.models import Contact, DeliveryReport, OutboundMessage, utcnow
from hotline.phones import InvalidPhone, normalise_phone
from tests.kannel import FakePhone, Kannel, KannelConfig, kannel_available, running_kannel
from tests.support import free_port

ROOT = Path(__file__).resolve().parent.parent
SHORT_NUMBER = "7575"
KEYWORDS = ["ЖАРДАМ", "ПОМОЩЬ", "HELP", "ПОСОБИЕ", "ЁРДАМ"]  # Kyrgyz, Russian, English, Russian, Uzbek
# Each phase texts from its own block of numbers, so every SMS comes from a phone the hotline has not seen in this
# run (a burst after a radio announcement) and a reply is matched to its SMS by the phone it goes to.
WARM, KANNEL_ONE, DIRECT_ONE, KANNEL_BURST, DIRECT_BURST = "99670", "99677", "99655", "99622", "99650"
OUTBOX_PHONES = "996705"  # 1,000 contacts the outbox rows go to
OUTBOX_CONTACTS = 1000
WARM_MESSAGES = 30
SENDSMS_ALONE = 50  # sendsms requests timed one at a time
# fakesmsc reads its connection to bearerbox only after a line on stdin, or after a second of silence (it polls
# stdin with a 1 s select): FakePhone pokes it with an empty line every 0.1 s while a test waits, which would round
# every latency up to 100 ms. Here a thread pokes every millisecond, so a reply is read within ~1 ms of arriving.
POKE_SECONDS = 0.001
WORKER_DEADLINE = 900.0  # seconds a dispatcher worker may run at most


def numbers(prefix: str, count: int) -> list[str]:
    """`count` phone numbers in Kannel's form (digits, no +): prefix and a 0-padded serial to 12 digits."""
    width = 12 - len(prefix)
    return [f"{prefix}{i:0{width}d}" for i in range(count)]


def check_numbers(count: int) -> None:
    """Refuse a run whose numbers the hotline would not take as phones (it would store them and answer nothing)."""
    blocks = [(prefix, count) for prefix in (KANNEL_ONE, DIRECT_ONE, KANNEL_BURST, DIRECT_BURST)]
    for prefix, size in [*blocks, (WARM, 2 * WARM_MESSAGES), (OUTBOX_PHONES, OUTBOX_CONTACTS)]:
        for number in (numbers(prefix, 1)[0], numbers(prefix, size)[-1]):
            try:
                normalise_phone(number)
            except InvalidPhone:
                sys.exit(f"{number} is not a valid Kyrgyz number: use fewer --messages")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


def spread(values: list[float]) -> str:
    """p50/p95/p99 in milliseconds."""
    if not values:
        return "no values"
    p50, p95, p99 = (percentile(values, q) for q in (0.5, 0.95, 0.99))
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"


class TimedPhone(FakePhone):
    """FakePhone that notes when each SMS reached the phones (the moment its fakesmsc line was read)."""

    def __init__(self, kannel: Kannel, log_path: Path) -> None:
        super().__init__(kannel, log_path)
        self.first_reply: dict[str, float] = {}  # phone -> when the first SMS to it arrived (time.monotonic)
        self.log: list[tuple[float, str, str]] = []  # (when, phone, text) of every SMS, concatenated parts joined

    def _take_line(self, line: str) -> None:
        before = len(self._messages)
        super()._take_line(line)
        # _read stamps _last_line_at just before handing the line over; a concatenated SMS counts when its last
        # part arrives, as on a real phone.
        for message in self._messages[before:]:
            self.first_reply.setdefault(message.receiver, self._last_line_at)
            self.log.append((self._last_line_at, message.receiver, message.text))

    def poke(self) -> None:
        """Make fakesmsc read what bearerbox sent it now (an empty line, which it ignores otherwise)."""
        self._poke()

    def wait_for_replies(self, phones: int, deadline: float) -> bool:
        """Wait until `phones` phones have had an SMS, or until time.monotonic() reaches `deadline`."""
        return self.wait_until(lambda: len(self.first_reply) >= phones, deadline - time.monotonic())

    def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait (at most `timeout` s) until done() holds; it is checked whenever an SMS arrives."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
            return True


@contextmanager
def poking(phone: TimedPhone) -> Iterator[None]:
    """Keep fakesmsc reading its connection for the whole run (see POKE_SECONDS)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(POKE_SECONDS):
            phone.poke()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


@contextmanager
def serve(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """The hotline under uvicorn (one process, no access log) in its own process, so that its CPU and GIL are not
    shared with this process, which times replies; stopped afterwards whatever happens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "hotline.main:create_app", "--host", "127.0.0.1"]
        + ["--port", str(port), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(400):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the hotline did not start") from None
                time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and all its threads so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(database_name: str) -> float:
    """CPU time of the PostgreSQL backends serving our throwaway database (their title names it: other databases on
    the same server, a test suite's for example, are not counted; nor are the server's own background processes)."""
    total = 0.0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database_name} " in title:
            total += cpu_seconds(int(cmdline.parent.name))
    return total


@dataclass
class Processes:
    """The processes whose CPU time a phase is charged (by pid), for a per-message figure."""

    pids: dict[str, int]
    postgres: str | None  # the throwaway database's name on PostgreSQL
    start: dict[str, float] = field(default_factory=dict)

    def snapshot(self) -> dict[str, float]:
        """CPU seconds of each process now."""
        times = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        times["bench"] = time.process_time()  # this process: the httpx client, FakePhone's reader, the poker
        if self.postgres:
            times["postgres"] = postgres_cpu_seconds(self.postgres)
        return times

    def begin(self) -> None:
        """Start charging a phase."""
        self.start = self.snapshot()

    def per_message(self, count: int) -> str:
        """CPU milliseconds per message since begin(), per process."""
        end = self.snapshot()
        parts = [f"{name} {(end[name] - self.start[name]) * 1000 / max(count, 1):.2f}" for name in end]
        return "CPU ms/message: " + ", ".join(parts)


def server_connections(port: int) -> int:
    """Established TCP connections to the hotline's port right now (the server's side, from /proc/net/tcp).

    Counted by the client's address: the kernel hands the table out a page at a time, and a table that changes
    between two pages repeats rows."""
    suffix = f":{port:04X}"
    clients = set()
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            columns = line.split()
            if columns[1].endswith(suffix) and columns[3] == "01":
                clients.add(columns[2])
    return len(clients)


@contextmanager
def counting_connections(port: int) -> Iterator[list[int]]:
    """Sample the connections to the hotline every 20 ms; the list holds the largest count seen."""
    peak = [0]
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], server_connections(port))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join(5)


def direct_url(base: str, secret: str, sender: str, text: str) -> str:
    """The request smsbox makes for one SMS (as its access log shows it, mo-recode on: UTF-8, coding 0)."""
    return (
        f"{base}/kannel/sms?secret={secret}&id={uuid.uuid4()}&from={sender}&to={SHORT_NUMBER}"
        f"&text={quote(text, safe='')}&coding=0&charset=UTF-8&time={int(time.time())}&smsc=fake"
    )


@dataclass
class Phase:
    """What one way of sending N keyword SMS measured."""

    sent: int
    answered: int
    seconds: float  # first send to last reply
    latencies: list[float]  # per message, send to reply, seconds

    @property
    def rate(self) -> float:
        """Messages answered per second."""
        return self.answered / self.seconds if self.seconds > 0 else 0.0


def through_kannel(phone: TimedPhone, senders: list[str], timeout: float, *, one_at_a_time: bool) -> Phase:
    """Each sender texts a keyword through Kannel; wait for every reply (bounded by `timeout`)."""
    sent_at: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    before = len(phone.first_reply)  # every sender is new: the phase is over when each has had its reply
    for i, sender in enumerate(senders):
        sent_at[sender] = time.monotonic()
        phone.send(sender, SHORT_NUMBER, KEYWORDS[i % len(KEYWORDS)])
        if one_at_a_time:
            phone.wait_for_replies(before + i + 1, deadline)
    phone.wait_for_replies(before + len(senders), deadline)
    answered = {s: phone.first_reply[s] for s in senders if s in phone.first_reply}
    latencies = [answered[s] - sent_at[s] for s in answered]
    seconds = (max(answered.values()) - min(sent_at.values())) if answered else 0.0
    return Phase(len(senders), len(answered), seconds, latencies)


def direct_one_at_a_time(base: str, secret: str, senders: list[str]) -> Phase:
    """The same requests straight to the hotline, one after the other on one keep-alive connection."""
    latencies = []
    with httpx.Client(timeout=30.0) as client:
        first = time.monotonic()
        for i, sender in enumerate(senders):
            url = direct_url(base, secret, sender, KEYWORDS[i % len(KEYWORDS)])
            started = time.monotonic()
            try:
                response = client.get(url)
            except httpx.HTTPError:
                continue  # counted as unanswered
            if response.status_code == 200 and response.text:
                latencies.append(time.monotonic() - started)
        seconds = time.monotonic() - first
    return Phase(len(senders), len(latencies), seconds, latencies)


async def _direct_burst(base: str, secret: str, senders: list[str], connections: int) -> Phase:
    urls = iter([direct_url(base, secret, s, KEYWORDS[i % len(KEYWORDS)]) for i, s in enumerate(senders)])
    # One client per connection: a single httpx pool of hundreds of connections costs the client more CPU per
    # request (it scans its connections) than the hotline spends answering, on the same 2 cores. verify=False: plain
    # HTTP, and each client would otherwise load the CA bundle (16 ms of CPU). Made before the clock starts.
    limits = httpx.Limits(max_connections=1)
    clients = [httpx.AsyncClient(limits=limits, timeout=60.0, verify=False) for _ in range(connections)]
    latencies: list[float] = []
    started = time.monotonic()

    async def connection(client: httpx.AsyncClient) -> None:
        async with client:
            for url in urls:
                response = await client.get(url)
                if response.status_code == 200 and response.text:
                    latencies.append(time.monotonic() - started)

    await asyncio.gather(*(connection(client) for client in clients), return_exceptions=True)
    return Phase(len(senders), len(latencies), max(latencies, default=0.0), latencies)


def direct_burst(base: str, secret: str, senders: list[str], connections: int) -> Phase:
    """The same requests straight to the hotline, all queued at once over `connections` keep-alive connections
    (like smsbox, which opens a connection per request it has waiting); latency counts from the burst's start,
    as for the phones, who all texted at once."""
    return asyncio.run(_direct_burst(base, secret, senders, connections))


def fill_outbox(settings: Settings, count: int) -> None:
    """Insert 1,000 contacts and `count` pending one-segment messages to them on each of kannel and twilio."""
    ctx = build_context(settings)
    engine = get_engine(settings.database_url)
    now = utcnow()
    phones = ["+" + number for number in numbers(OUTBOX_PHONES, OUTBOX_CONTACTS)]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Contact.__table__),  # type: ignore[attr-defined]
            [
                {
                    "phone_hash": ctx.vault.lookup_hash(phone),
                    "phone_encrypted": ctx.vault.encrypt(phone),
                    "language": "ky",
                    "created_at": now,
                    "updated_at": now,
                }
                for phone in phones
            ],
        )
        hashes = [ctx.vault.lookup_hash(phone) for phone in phones]
        contact = Contact.__table__  # type: ignore[attr-defined]
        rows = conn.execute(sa.select(contact.c.id, contact.c.phone_encrypted).where(contact.c.phone_hash.in_(hashes)))
        contacts = list(rows.all())
        for transport in ("kannel", "twilio"):
            batch = []
            for i in range(count):
                contact_id, token = contacts[i % len(contacts)]
                batch.append(
                    {
                        "idempotency_key": f"bench:{transport}:{i}",
                        "purpose": "reminder",
                        "channel": "sms",
                        "transport": transport,
                        "priority": 1,
                        "contact_id": contact_id,
                        "recipient_encrypted": token,
                        "language": "ky",
                        "body": outbox_body(transport, i),
                        "segments": 1,
                        "encoding": "UCS-2",
                        "not_before": now,
                        "next_attempt_at": now,
                        "status": "pending",
                        "attempts": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                if len(batch) == 5000:
                    conn.execute(sa.insert(OutboundMessage.__table__), batch)  # type: ignore[attr-defined]
                    batch = []
            if batch:
                conn.execute(sa.insert(OutboundMessage.__table__), batch)  # type: ignore[attr-defined]


def outbox_body(transport: str, i: int) -> str:
    """A one-segment UCS-2 reminder, unique per row so that each arrival can be checked off."""
    return f"Эскертме {i}: эртең эмдөө ({transport})"


class TimedSender:
    """A channel's sender that notes how long each send waited for the transport's answer."""

    def __init__(self, inner: Sender) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds: list[float] = []
        self._lock = threading.Lock()

    def send(self, sms: Outgoing) -> SendResult:
        """Send through the channel, timed."""
        started = time.monotonic()
        result = self.inner.send(sms)
        with self._lock:
            self.seconds.append(time.monotonic() - started)
        return result

    def own_reference(self, outbox_id: int) -> str | None:
        """The channel's own answer."""
        return self.inner.own_reference(outbox_id)

    def find_sent(self, sms: Outgoing, since: datetime) -> str | None:
        """The channel's own answer."""
        return self.inner.find_sent(sms, since)


def worker(transport: str, expected: int) -> None:
    """One dispatcher process (settings from HOTLINE_* variables): dispatch until `expected` messages are done or
    nothing is due for 5 s; print JSON figures with time.monotonic() stamps (system-wide, so comparable)."""
    settings = Settings()
    ctx = build_context(settings)
    engine = get_engine(settings.database_url)
    sender = TimedSender(KannelSender(settings) if transport == "kannel" else TwilioSender(settings))
    limiter = RateLimiter(engine, f"bench-{transport}", 1e6)  # the limit set high: the channel's own speed
    pool = ThreadPoolExecutor(max_workers=settings.send_concurrency)
    totals = {"sent": 0, "retried": 0, "failed": 0}
    started, cpu_started = time.monotonic(), time.process_time()
    finished, idle_since = started, None
    while time.monotonic() - started < WORKER_DEADLINE:
        report = dispatch_once(engine, ctx, sender, limiter, pool=pool)
        for key in totals:
            totals[key] += getattr(report, key)
        if report.claimed:
            finished, idle_since = time.monotonic(), None
            continue
        idle_since = idle_since or time.monotonic()
        if totals["sent"] + totals["failed"] >= expected:
            # All sent: go on running as the scheduler does (every dispatch run applies the delivery reports kept
            # while their batch was being recorded) until the reports have had 3 s to come in.
            if report.reports_applied:
                idle_since = time.monotonic()
            if time.monotonic() - idle_since > 3.0:
                break
            time.sleep(0.2)
            continue
        if time.monotonic() - idle_since > 5.0:
            break  # retries wait their backoff (30 s and more): report them rather than wait
        time.sleep(0.05)
    pool.shutdown()
    figures = {
        **totals,
        "started": started,
        "finished": finished,
        "cpu": time.process_time() - cpu_started,
        "send_p50": percentile(sender.seconds, 0.5) if sender.seconds else 0.0,
        "send_p95": percentile(sender.seconds, 0.95) if sender.seconds else 0.0,
        "send_mean": sum(sender.seconds) / len(sender.seconds) if sender.seconds else 0.0,
    }
    print(json.dumps(figures), flush=True)


def run_worker(env: dict[str, str], transport: str, expected: int) -> dict[str, float]:
    """Start a dispatcher process on one transport and return what it reports."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.channels", "worker", transport, str(expected)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        timeout=WORKER_DEADLINE + 60,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def count_status(url: str, transport: str, status: str) -> int:
    """How many outbox rows of a transport have a status."""
    table = OutboundMessage.__table__  # type: ignore[attr-defined]
    with get_engine(url).connect() as conn:
        query = sa.select(sa.func.count()).where(table.c.transport == transport, table.c.status == status)
        return int(conn.execute(query).scalar_one())


def sends(run: dict[str, float], count: int) -> str:
    """How long one send waited for the transport, and the dispatcher process's CPU per message."""
    return (
        f"one send waited p50 {run['send_p50']:.1f} ms, p95 {run['send_p95']:.1f} ms for the transport's answer "
        f"({run['sent'] / max(run['finished'] - run['started'], 1e-9) * run['send_mean']:.1f} sends in flight "
        f"on average); dispatcher process CPU {run['cpu'] * 1000 / max(count, 1):.2f} ms/message"
    )


def count_kept_reports(url: str, transport: str) -> int:
    """Delivery reports the hotline kept because their message's send was not recorded yet (and not yet applied)."""
    table = DeliveryReport.__table__  # type: ignore[attr-defined]
    with get_engine(url).connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(table.c.transport == transport)).scalar_one())


def fake_twilio_bodies(api: str) -> list[str]:
    """The bodies of every message the fake Twilio accepted."""
    with urllib.request.urlopen(f"{api}/_fake/received") as response:
        return [str(item[2]) for item in json.loads(response.read())["received"]]


def main() -> None:
    """Run the three measurements and print them."""
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=500, help="SMS per burst and outbox rows per transport")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sequential", type=int, default=100, help="SMS sent one at a time, each way")
    parser.add_argument(
        "--kannel-log-level",
        type=int,
        default=0,
        choices=range(5),
        help="bearerbox/smsbox log-level (0 debug, Kannel's default, as in docs/CHANNELS.md's configuration)",
    )
    args = parser.parse_args()
    if not kannel_available():
        sys.exit("Kannel missing: apt-get install kannel kannel-extras")
    n, k = args.messages, args.sequential
    if n < 1 or k < 1:
        sys.exit("--messages and --sequential must be at least 1")
    check_numbers(max(n, k))
    # Everything shares the machine's cores: the load average says whether something else was running too.
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, database {args.database}, "
        f"Kannel log-level {args.kannel_log_level}, load average {os.getloadavg()[0]:.2f} before the run"
    )
    print(f"command: python -m bench.channels {' '.join(sys.argv[1:])}")
    with ExitStack() as stack:
        url = stack.enter_context(database(args.database))
        api = stack.enter_context(fake_twilio())
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        # An empty reply-couldnotfetch, as in production: a failed request sends the family nothing.
        # As docs/CHANNELS.md configures production: smsbox asks again when the hotline answers 503 (a report that
        # meets SQLite's one writer at a busy moment is then not lost).
        config = KannelConfig(
            default_sender=SHORT_NUMBER,
            reply_couldnotfetch="",
            max_messages=3,
            log_level=args.kannel_log_level,
            http_request_retry=5,
            http_queue_delay=1,
        )
        secret = secrets.token_urlsafe(32)
        env = environment(url, port)
        env.update(
            HOTLINE_CHANNELS="kannel,twilio",
            HOTLINE_KANNEL_SECRET=secret,
            HOTLINE_KANNEL_SENDSMS_URL=f"http://127.0.0.1:{config.sendsms_port}/cgi-bin/sendsms",
            HOTLINE_KANNEL_USERNAME=config.sendsms_username,
            HOTLINE_KANNEL_PASSWORD=config.sendsms_password,
            HOTLINE_KANNEL_FROM=SHORT_NUMBER,
            HOTLINE_TWILIO_ACCOUNT_SID=ACCOUNT,
            HOTLINE_TWILIO_AUTH_TOKEN=TOKEN,
            HOTLINE_TWILIO_API_URL=api,
            HOTLINE_TWILIO_FROM_NUMBER="+996312900900",
            # No quiet hours: the run may be at night, and reminders wait out quiet hours.
            HOTLINE_QUIET_HOURS_START="00:00",
            HOTLINE_QUIET_HOURS_END="00:00",
            HOTLINE_DISPATCH_BATCH="200",
        )
        server = stack.enter_context(serve(env, port))
        kannel = stack.enter_context(running_kannel(work, f"{base}/kannel/sms?secret={secret}", config=config))
        phone = TimedPhone(kannel, kannel.workdir / "fakesmsc-bench.log")
        kannel.phones.append(phone)  # stopped with Kannel
        phone.connect()
        stack.enter_context(poking(phone))
        assert kannel.bearerbox.process and kannel.smsbox.process and phone.process
        pids = {
            "hotline": server.pid,
            "bearerbox": kannel.bearerbox.process.pid,
            "smsbox": kannel.smsbox.process.pid,
            "fakesmsc": phone.process.pid,
        }
        procs = Processes(pids, postgres=sa.engine.make_url(url).database if args.database == "postgres" else None)
        timeout = 60.0 + n / 10

        # Warm up (not measured): the server's first requests, its pool's connections, Kannel's connection to it.
        warm = through_kannel(phone, numbers(WARM, WARM_MESSAGES), 60.0, one_at_a_time=True)
        direct_one_at_a_time(base, secret, numbers(WARM, 2 * WARM_MESSAGES)[WARM_MESSAGES:])
        if warm.answered != WARM_MESSAGES:
            sys.exit(f"warm-up: {warm.answered}/{WARM_MESSAGES} replies through Kannel; see {kannel.workdir}")

        one = through_kannel(phone, numbers(KANNEL_ONE, k), timeout, one_at_a_time=True)
        print(f"(1) through Kannel, one at a time: {one.answered}/{one.sent} replies; {spread(one.latencies)}")
        one_direct = direct_one_at_a_time(base, secret, numbers(DIRECT_ONE, k))
        print(
            f"(2) straight to /kannel/sms, one at a time: {one_direct.answered}/{one_direct.sent} replies; "
            f"{spread(one_direct.latencies)}"
        )
        if one.latencies and one_direct.latencies:
            added = percentile(one.latencies, 0.5) - percentile(one_direct.latencies, 0.5)
            added95 = percentile(one.latencies, 0.95) - percentile(one_direct.latencies, 0.95)
            print(f"    Kannel adds per SMS, one at a time: p50 {added:+.1f} ms, p95 {added95:+.1f} ms")

        procs.begin()
        with counting_connections(port) as peak:
            burst = through_kannel(phone, numbers(KANNEL_BURST, n), timeout, one_at_a_time=False)
        print(
            f"(1) through Kannel, {n} SMS at once from {n} phones: {burst.answered}/{burst.sent} replies in "
            f"{burst.seconds:.2f} s = {burst.rate:.0f} messages/s; {spread(burst.latencies)}; smsbox opened up to "
            f"{peak[0]} connections to the hotline"
        )
        print(f"    {procs.per_message(n)}")
        connections = min(max(peak[0], 1), n)
        procs.begin()
        burst_direct = direct_burst(base, secret, numbers(DIRECT_BURST, n), connections)
        print(
            f"(2) straight to /kannel/sms, {n} requests at once over {connections} connections: "
            f"{burst_direct.answered}/{burst_direct.sent} replies in {burst_direct.seconds:.2f} s = "
            f"{burst_direct.rate:.0f} messages/s; {spread(burst_direct.latencies)}"
        )
        print(f"    {procs.per_message(n)}")
        if burst.latencies and burst_direct.latencies:
            print(
                f"    Kannel's difference in the burst: {burst.rate - burst_direct.rate:+.0f} messages/s, "
                f"p50 {percentile(burst.latencies, 0.5) - percentile(burst_direct.latencies, 0.5):+.1f} ms, "
                f"p95 {percentile(burst.latencies, 0.95) - percentile(burst_direct.latencies, 0.95):+.1f} ms"
            )

        settings = Settings(
            database_url=url,
            encryption_keys=env["HOTLINE_ENCRYPTION_KEYS"],
            lookup_key=env["HOTLINE_LOOKUP_KEY"],
            secret_key=env["HOTLINE_SECRET_KEY"],
        )
        # sendsms alone, one SMS at a time and without a delivery report: what Kannel's interface costs when idle.
        before_alone, alone = len(phone.log), []
        for i, number in enumerate(numbers(OUTBOX_PHONES, SENDSMS_ALONE)):
            started = time.monotonic()
            response = kannel.send_sms("+" + number, outbox_body("alone", i), sender=SHORT_NUMBER)
            if response.status_code == 202:
                alone.append(time.monotonic() - started)
        phone.wait_until(lambda: len(phone.log) - before_alone >= SENDSMS_ALONE, timeout)
        print(f"(3) Kannel's sendsms alone, one at a time: {len(alone)}/{SENDSMS_ALONE} accepted; {spread(alone)}")
        fill_outbox(settings, n)
        expected = {outbox_body("kannel", i) for i in range(n)}
        on_phone = len(phone.log)
        procs.begin()
        kannel_run = run_worker(env, "kannel", n)
        phone.wait_until(lambda: len(phone.log) - on_phone >= n, timeout)
        arrivals = phone.log[on_phone:]
        got = {text for _, _, text in arrivals} & expected
        dispatch_seconds = kannel_run["finished"] - kannel_run["started"]
        last = max((when for when, _, _ in arrivals), default=kannel_run["started"])
        print(
            f"(3) outbox on kannel (KannelSender -> sendsms): {kannel_run['sent']:.0f} sent in "
            f"{dispatch_seconds:.2f} s "
            f"= {kannel_run['sent'] / max(dispatch_seconds, 1e-9):.0f} messages/s "
            f"({kannel_run['retried']:.0f} retried, {kannel_run['failed']:.0f} failed); "
            f"the phones got {len(got)}/{n} ({len(arrivals)} SMS), the last {last - kannel_run['started']:.2f} s "
            f"after the first send"
        )
        # Kannel reports each message twice (8: accepted by the SMSC, 1: delivered) to /kannel/dlr. Wait until all
        # are delivered, or until the count has not moved for 3 s (a report the hotline kept is never applied).
        deadline = time.monotonic() + timeout
        delivered, changed_at = count_status(url, "kannel", "delivered"), time.monotonic()
        while delivered < n and time.monotonic() < deadline and time.monotonic() - changed_at < 3.0:
            time.sleep(0.1)
            now_delivered = count_status(url, "kannel", "delivered")
            if now_delivered != delivered:
                delivered, changed_at = now_delivered, time.monotonic()
        kept = count_kept_reports(url, "kannel")
        print(f"    {sends(kannel_run, n)}")
        print(
            f"    delivery reports: {delivered}/{n} delivered {changed_at - kannel_run['started']:.1f} s after the "
            f"first send; {count_status(url, 'kannel', 'sent')} still 'sent', {kept} reports kept unapplied"
        )
        print(f"    {procs.per_message(n)}")
        procs.begin()
        twilio_run = run_worker(env, "twilio", n)
        received = fake_twilio_bodies(api)
        got_twilio = set(received) & {outbox_body("twilio", i) for i in range(n)}
        twilio_seconds = twilio_run["finished"] - twilio_run["started"]
        print(
            f"(3) outbox on twilio (TwilioSender -> fake Twilio): {twilio_run['sent']:.0f} sent in "
            f"{twilio_seconds:.2f} s = {twilio_run['sent'] / max(twilio_seconds, 1e-9):.0f} messages/s "
            f"({twilio_run['retried']:.0f} retried, {twilio_run['failed']:.0f} failed); the fake got "
            f"{len(got_twilio)}/{n} ({len(received)} messages)"
        )
        print(f"    {sends(twilio_run, n)}")
        print(f"    {procs.per_message(n)} (the fake Twilio's own process not counted)")
        print(f"load average {os.getloadavg()[0]:.2f} after the run (1 minute)")
        lost = (n - burst.answered) + (n - burst_direct.answered) + (n - len(got)) + (n - len(got_twilio))
        if lost:
            print(f"NOT everything arrived: {lost} missing; Kannel's logs were in {kannel.workdir}")


if __name__ == "__main__":
    main()
