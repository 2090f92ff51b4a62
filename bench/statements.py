"""Statements and round trips per SMS of the webhook's scenarios (b) keywords and (c) complaint intake.

    python -m bench.statements [--only sqlite|postgres] [--phones 200] [--messages 400]

The app is built in this process as production builds it (create_app, the same settings as bench.webhook's server,
lifespan run), on a fresh migrated database, and sent the same message mix, pre-signed, one request at a time (after
a warm-up of HELP from every phone, not counted). What is counted, from two sides:

- The database side, whatever code path sends the SQL (ORM, Core, raw driver, another thread):
  PostgreSQL: every connection goes through a counting proxy that reads the wire protocol. A *round trip* is a
  client write that follows an answer from the server (pipelined messages count once); a *statement* is a simple
  Query or an Execute of data SQL; BEGIN, COMMIT, ROLLBACK and the pool's pre-ping (an empty query) are counted
  apart. SQLite: every statement SQLite itself runs (sqlite3's trace callback, set on every sqlite3 connection this
  process opens), including the BEGIN/COMMIT that Python's sqlite3 module issues by itself; SQLite is a library, so
  its "round trips" are in-process calls, each a statement prepared and stepped, not a network exchange.
- SQLAlchemy's events: before_cursor_execute (ORM, Core and exec_driver_sql alike), the engine's begin, commit and
  rollback, and the pool's checkouts (with pool_pre_ping, each is one more round trip on PostgreSQL). SQL sent on
  a raw DBAPI cursor does not show here but does on the database side.
Not counted: the connection's start-up exchange when the pool opens one (the warm-up opens them)."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import struct
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from bench.outbox import database
from bench.sms_mix import COMPLAINT_PREPARE, PHONES, Mix, complaint_mix, environment, keyword_mix, signed_form, warm_mix
from hotline.config import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's note that its test client will move from httpx to httpx2
    from starlette.testclient import TestClient

_lock = threading.Lock()
_counts: Counter[str] = Counter()


def _count(key: str, amount: int = 1) -> None:
    with _lock:
        _counts[key] += amount


def snapshot() -> Counter[str]:
    """Everything counted so far in this process."""
    with _lock:
        return Counter(_counts)


def kind_of(sql: str) -> str:
    """begin, commit, rollback, savepoint, ping (an empty statement), pragma, or data."""
    words = sql.strip().rstrip(";").split(None, 1)
    if not words:
        return "ping"
    first = words[0].upper()
    if first in ("BEGIN", "START"):
        return "begin"
    if first in ("COMMIT", "END"):
        return "commit"
    if first == "ROLLBACK":
        return "rollback" if len(words) == 1 or not words[1].upper().startswith("TO") else "savepoint"
    if first in ("SAVEPOINT", "RELEASE"):
        return "savepoint"
    if first == "PRAGMA":
        return "pragma"
    return "data"


# SQLAlchemy's events, on every engine and pool of the process (class-level listeners).
def _on_execute(*_args: Any) -> None:
    _count("sa.execute")


def _on_engine(name: str) -> Callable[..., None]:
    def count(*_args: Any) -> None:
        _count(f"sa.{name}")

    return count


_installed = False


def install() -> None:
    """Listen to SQLAlchemy's events and trace every sqlite3 connection opened from now on (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    event.listen(sa.engine.Engine, "before_cursor_execute", _on_execute)
    for name in ("begin", "commit", "rollback"):
        event.listen(sa.engine.Engine, name, _on_engine(name))
    event.listen(sa.pool.Pool, "checkout", _on_engine("checkout"))
    event.listen(sa.pool.Pool, "connect", _on_engine("connect"))
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = connect(*args, **kwargs)
        connection.set_trace_callback(_on_sqlite)
        return connection

    # SQLAlchemy's pysqlite dialect calls sqlite3.dbapi2.connect; other code sqlite3.connect.
    sqlite3.connect = sqlite3.dbapi2.connect = traced  # type: ignore[assignment]  # same call, traced


def _on_sqlite(sql: str) -> None:
    if sql.startswith("--"):
        return  # a trigger's body, run inside the statement already counted
    _count("db.trips")
    _count(f"db.{kind_of(sql)}")


class _Wire:
    """One client connection's stream to PostgreSQL, parsed into messages (frontend protocol 3)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.starting = True  # start-up messages carry no type byte
        self.answered = True  # the server spoke since the client last wrote: the next write is a round trip
        self.statements: dict[bytes, str] = {}  # prepared statement name -> SQL
        self.portals: dict[bytes, str] = {}  # portal name -> SQL

    def from_client(self, data: bytes) -> None:
        if self.answered and not self.starting:
            _count("db.trips")
        self.answered = False
        self.buffer += data
        while True:
            if self.starting:
                if len(self.buffer) < 8:
                    return
                (length,) = struct.unpack("!I", self.buffer[:4])
                if len(self.buffer) < length:
                    return
                (code,) = struct.unpack("!I", self.buffer[4:8])
                self.buffer = self.buffer[length:]
                # SSLRequest and GSSENCRequest are followed by another start-up message; a real one ends start-up.
                self.starting = code in (80877103, 80877104)
                continue
            if len(self.buffer) < 5:
                return
            (length,) = struct.unpack("!I", self.buffer[1:5])
            if len(self.buffer) < 1 + length:
                return
            kind, body = self.buffer[:1], self.buffer[5 : 1 + length]
            self.buffer = self.buffer[1 + length :]
            self.message(kind, body)

    def message(self, kind: bytes, body: bytes) -> None:
        if kind == b"Q":
            _count("db." + kind_of(body.rstrip(b"\0").decode(errors="replace")))
        elif kind == b"P":
            name, sql = body.split(b"\0")[:2]
            self.statements[name] = sql.decode(errors="replace")
        elif kind == b"B":
            portal, name = body.split(b"\0")[:2]
            self.portals[portal] = self.statements.get(name, "")
        elif kind == b"E":
            _count("db." + kind_of(self.portals.get(body.split(b"\0")[0], "")))


@contextmanager
def counting_proxy(host: str, port: int) -> Iterator[int]:
    """A TCP proxy to PostgreSQL at host:port that counts what goes through it; yields its own port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    listening: list[asyncio.Server] = []
    open_pipes: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Callable[[bytes], None]) -> None:
        try:
            while data := await reader.read(65536):
                seen(data)
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        wire = _Wire()
        server_reader, server_writer = await asyncio.open_connection(host, port)

        def answered(_data: bytes) -> None:
            wire.answered = True

        pipes = [
            asyncio.create_task(pipe(client_reader, server_writer, wire.from_client)),
            asyncio.create_task(pipe(server_reader, client_writer, answered)),
        ]
        open_pipes.update(pipes)
        await asyncio.wait(pipes)
        open_pipes.difference_update(pipes)

    async def start() -> None:
        listening.append(await asyncio.start_server(handle, "127.0.0.1", 0))
        ready.set()

    async def stop() -> None:
        listening[0].close()
        for task in list(open_pipes):
            task.cancel()
        await asyncio.gather(*open_pipes, return_exceptions=True)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True, name="pg-counting-proxy")
    thread.start()
    ready.wait(10)
    try:
        yield listening[0].sockets[0].getsockname()[1]
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass
class PerSms:
    """Counts per SMS of one scenario on one database."""

    database: str
    scenario: str
    messages: int
    errors: int
    answered: int  # replies with a <Message>
    counts: Counter[str]

    def per(self, key: str) -> float:
        """`key`'s count per SMS."""
        return self.counts[key] / max(self.messages, 1)

    @property
    def statements(self) -> float:
        """Data statements per SMS, as the database saw them."""
        return self.per("db.data")

    @property
    def round_trips(self) -> float:
        """Round trips per SMS (PostgreSQL: on the wire; SQLite: statements SQLite ran, in-process)."""
        return self.per("db.trips")

    def line(self) -> str:
        """`postgres  (b) statements/SMS 2.0, round trips/SMS 4.0 [...]`."""
        apart = ", ".join(f"{self.per(f'db.{k}'):.1f} {k.upper()}" for k in ("begin", "commit", "rollback"))
        ping = f", {self.per('db.ping'):.1f} pre-ping" if self.database == "postgres" else ""
        events = ", ".join(
            f"{self.per(f'sa.{k}'):.1f} {k}" for k in ("execute", "begin", "commit", "rollback", "checkout")
        )
        return (
            f"{self.database:<9} {self.scenario} statements/SMS {self.statements:.1f}, round trips/SMS "
            f"{self.round_trips:.1f}  [database side: {apart}{ping}; SQLAlchemy events: {events}; "
            f"{self.answered}/{self.messages} answered, {self.errors} errors]"
        )


def _requests(settings: Settings, mix: Mix) -> list[tuple[bytes, dict[str, str]]]:
    url = f"{settings.public_url.rstrip('/')}/twilio/sms"
    built = []
    for sender, body in mix:
        payload, signature = signed_form(settings.twilio_auth_token, url, sender, body)
        headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}
        built.append((payload, headers))
    return built


def run_scenario(kind: str, scenario: str, mix: Mix, warm: Mix, prepare: str | None = None) -> PerSms:
    """A fresh database and app, the warm-up, then `mix` counted."""
    from hotline.main import create_app  # after install(): the app's engines and connections are traced

    install()
    with ExitStack() as stack:
        url = stack.enter_context(database(kind))
        app_url = url
        if kind == "postgres":
            target = sa.make_url(url)
            port = stack.enter_context(counting_proxy(target.host or "127.0.0.1", target.port or 5432))
            # Plain protocol, so that the proxy can read it (a local server here; production's TLS is not measured).
            query = dict(target.query) | {"sslmode": "disable", "gssencmode": "disable"}
            app_url = target.set(host="127.0.0.1", port=port, query=query).render_as_string(hide_password=False)
        env = environment(app_url, 8000)
        # What the server reads from its environment (HOTLINE_<NAME>), given directly.
        settings = Settings.model_validate(
            {k.removeprefix("HOTLINE_").lower(): v for k, v in env.items() if k.startswith("HOTLINE_")}
        )
        client = stack.enter_context(TestClient(create_app(settings), raise_server_exceptions=False))
        for payload, headers in _requests(settings, warm):
            client.post("/twilio/sms", content=payload, headers=headers)
        if prepare:
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sa.text(prepare))
            engine.dispose()
        requests = _requests(settings, mix)
        before = snapshot()
        errors = answered = 0
        for payload, headers in requests:
            response = client.post("/twilio/sms", content=payload, headers=headers)
            errors += response.status_code != 200
            answered += b"<Message" in response.content
        counts = snapshot()
        counts.subtract(before)
    return PerSms(kind, scenario, len(mix), errors, answered, counts)


def measure(kind: str, phones: int = 200, messages: int = 400) -> list[PerSms]:
    """(b) and (c) on one database: `messages` SMS from `phones` phones after their HELP."""
    chosen = PHONES[:phones]
    return [
        run_scenario(kind, "(b)", keyword_mix(messages, chosen), warm_mix(chosen)),
        run_scenario(kind, "(c)", complaint_mix(messages, chosen), warm_mix(chosen), COMPLAINT_PREPARE),
    ]


def main() -> None:
    """Print statements and round trips per SMS of (b) and (c) on each database."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--phones", type=int, default=200)
    parser.add_argument("--messages", type=int, default=400)
    args = parser.parse_args()
    for kind in ("sqlite", "postgres"):
        if not args.only or kind == args.only:
            for result in measure(kind, args.phones, args.messages):
                print(result.line(), flush=True)


if __name__ == "__main__":
    main()
