"""Helpers shared by the tests and the benchmarks: free ports and throwaway databases."""

from __future__ import annotations

import io
import logging
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hotline.config import Settings
from hotline.db import get_engine, migrate
from hotline.logs import JsonFormatter, RequestIdFilter


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def throwaway_database(postgres_admin_url: str | None, folder: Path, *, migrated: bool = True) -> Iterator[str]:
    """A new database, migrated unless told otherwise (a restore brings its own schema): a SQLite file in
    `folder`, or (given an admin URL) a PostgreSQL database that is created here and dropped afterwards."""
    if not postgres_admin_url:
        url = f"sqlite:///{folder / 'hotline.db'}"
        if migrated:
            migrate(url)
        yield url
        return
    admin_url = postgres_admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"hotline_test_{secrets.token_hex(4)}"
    # pool_pre_ping: the fault tests restart the server; the DROP at the end must not use a connection it closed.
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            migrate(url)
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


PUBLIC_URL = "https://hotline.example.org"


def make_settings(database_url: str, tmp: Path, **overrides: object) -> Settings:
    """Production-mode settings with real random secrets, as an operator would set them."""
    values: dict[str, object] = {
        "env": "production",
        "database_url": database_url,
        "public_url": PUBLIC_URL,
        "secret_key": secrets.token_urlsafe(32),
        "encryption_keys": Fernet.generate_key().decode(),
        "lookup_key": secrets.token_urlsafe(32),
        "twilio_account_sid": "AC" + "1" * 32,
        "twilio_auth_token": secrets.token_hex(16),
        "twilio_from_number": "+996312900900",
        "dev_secrets_file": tmp / "dev-secrets.json",
        "migrate_on_start": True,
        # No audio unless a test builds or records some: a developer's own `hotline voice build` stays out.
        "voice_audio_dir": tmp / "voice",
        "voice_recorded_dir": tmp / "voice_prompts",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def production_log() -> Iterator[io.StringIO]:
    """What the production handler writes (JSON formatter and request-id filter on the root logger), as text.
    Installed after the app started: its logging setup replaces the root's handlers."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
