"""Fixtures: a real database per run (SQLite file, or PostgreSQL with HOTLINE_TEST_POSTGRES_URL), clean per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from hotline.config import Settings, get_settings
from hotline.context import Context, build_context
from hotline.db import get_engine
from hotline.main import create_app
from tests.fake_twilio import FakeServer, FakeTwilio, fake_twilio_server, running_fake_twilio
from tests.support import make_settings, throwaway_database

# Production unless a test says otherwise: in a checkout after `make run`, an unset HOTLINE_ENV would make the CLI
# under test take the development settings (config.development_checkout).
os.environ.setdefault("HOTLINE_ENV", "production")

# The staff pages' fixtures (logged-in browsers, staff accounts) for every folder whose tests use the pages.
pytest_plugins = ["tests.staff_pages"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new, migrated database for this test run; dropped at the end on PostgreSQL."""
    with throwaway_database(os.environ.get("HOTLINE_TEST_POSTGRES_URL"), tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The settings every test shares (one set of keys per run)."""
    return make_settings(database_url, tmp_path_factory.mktemp("settings"))


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Engine:
    """The engine the app uses."""
    return get_engine(settings.database_url)


@pytest.fixture(autouse=True)
def clean_tables(engine: Engine) -> Iterator[None]:
    """Each test starts from empty tables."""
    yield
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def ctx(settings: Settings) -> Context:
    """The context the app builds, for service-level tests."""
    return build_context(settings)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the test database."""
    with Session(engine) as db:
        yield db


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app over HTTP (lifespan run: migrations on start)."""
    with TestClient(create_app(settings), base_url="http://internal:8000") as test_client:
        yield test_client


@pytest.fixture
def fake(settings: Settings) -> Iterator[FakeTwilio]:
    """A fake Twilio on a local port, with the test account's credentials (point twilio_api_url at fake.url)."""
    with running_fake_twilio(settings.twilio_account_sid, settings.twilio_auth_token) as server:
        yield server


@pytest.fixture
def twilio(settings: Settings) -> Iterator[FakeServer]:
    """A fake Twilio that the test can take down and bring back (.stop(), .start()); .fake holds its state."""
    with fake_twilio_server(settings.twilio_account_sid, settings.twilio_auth_token) as server:
        yield server


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Run the CLI with the test database and keys, set as an operator sets them: in the environment."""
    for name in (
        "database_url",
        "public_url",
        "secret_key",
        "encryption_keys",
        "lookup_key",
        "twilio_auth_token",
        "twilio_account_sid",
        "twilio_from_number",
    ):
        monkeypatch.setenv(f"HOTLINE_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setenv("HOTLINE_ENV", "production")
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()
