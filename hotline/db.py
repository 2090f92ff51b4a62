"""Database engine, sessions for routes (SessionDep) and for jobs and the CLI (session_scope), migrations."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, create_engine

from hotline.config import ROOT


def _casefold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; busy_timeout makes writers queue instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # SQLite's lower() folds ASCII only; the admin search needs Cyrillic folded too.
    dbapi_connection.create_function(
        "casefold", 1, lambda v: v.casefold() if isinstance(v, str) else v, deterministic=True
    )


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(item) for item in value)
    return value


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _nul_as_replacement_character(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _executemany: bool
) -> tuple[str, Any]:
    # PostgreSQL can neither store nor compare a NUL: one typed into any form or filter was a 500. It becomes U+FFFD
    # (as control characters in message bodies do), on every database alike; no stored text holds a NUL to match.
    return statement, _without_nul(parameters)


# Connections kept open per process: as many as request threads (main.py sets the thread limit to POOL_SIZE), so no
# request opens and closes an overflow connection (a new PostgreSQL connection costs milliseconds; SQLite reruns
# its pragmas).
POOL_SIZE = 24


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine (and pool) per database URL for the whole process."""
    # hide_parameters: a database error names no values, so a failed insert never puts a message body in the log.
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=POOL_SIZE,
            max_overflow=8,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # connect_timeout: a database host that drops packets (a partition) answers 503 in 5 s, well inside Twilio's
    # 15 s webhook limit, instead of holding the request until Twilio gives up.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=8,
        hide_parameters=True,
        connect_args={"connect_timeout": 5},
    )


_SQLITE_WRITE_LOCKS: dict[str, threading.Lock] = {}
T = TypeVar("T")


class _NoLock:
    """The write lock of a database that takes concurrent writers (PostgreSQL): never held."""

    def acquire(self, blocking: bool = True) -> bool:
        return True

    def release(self) -> None:
        return None

    def __enter__(self) -> bool:
        return True

    def __exit__(self, *_: object) -> None:
        return None


_NO_LOCK = _NoLock()


def write_lock_of(engine: Engine) -> threading.Lock | _NoLock:
    """SQLite has one writer: queue our own threads on a lock instead of SQLite's busy handler, which sleeps in
    growing steps (up to 100 ms) and turned 16 concurrent webhooks into seconds of latency. Other databases: none."""
    if engine.dialect.name != "sqlite":
        return _NO_LOCK
    return _SQLITE_WRITE_LOCKS.setdefault(str(engine.url), threading.Lock())


def write_lock(session: Session) -> AbstractContextManager[object]:
    """write_lock_of() the session's database."""
    bind = session.get_bind()
    return write_lock_of(bind if isinstance(bind, Engine) else bind.engine)


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer, so that what it reads next is not changed by another writer
    before it writes. SQLite: BEGIN IMMEDIATE takes the database's write lock now (pysqlite would begin only at the
    first write, after the reads, and the write would then overwrite a change made in between, by any process).
    PostgreSQL: nothing; the reads lock their rows (FOR UPDATE)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def serialize(session: Session, key: str) -> None:
    """Hold a lock on `key` until the transaction ends, so requests about the same thing (one phone's messages, a
    transport's repeat of one) run one after the other. PostgreSQL: a transaction-level advisory lock; SQLite
    already runs one writer at a time (write_lock)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
    session.execute(sa.text("SELECT pg_advisory_xact_lock(:number)"), {"number": number})


def commit_with_retry(session: Session, work: Callable[[], T]) -> T:
    """Run `work` and commit, under the write lock; once more if a concurrent request inserted the same unique row
    (a repeated webhook, a new phone's first messages at once): the second try finds that row and uses it."""
    for attempt in (1, 2):
        try:
            with write_lock(session):
                result = work()
                session.commit()
            return result
        except IntegrityError:
            session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def get_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: a session on the app's engine, closed after the request."""
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for jobs and the CLI: commit on success, roll back on error, always close."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# Indexes only migrations create, on PostgreSQL only (an expression index SQLite cannot have): autogenerate must
# neither drop them nor ask for them.
MIGRATION_ONLY_INDEXES = frozenset({"ix_complaint_text_fts"})


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: everything except the migration-only indexes."""
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


def alembic_config(url: str) -> Config:
    """Alembic's config pointed at our migrations and the given database."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database to the newest schema (creating the SQLite file's folder if needed)."""
    database = make_url(url).database
    if url.startswith("sqlite") and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")
