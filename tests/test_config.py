"""Configuration: secrets from the environment, refused when missing or placeholders outside development."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hotline.config import ConfigError, Settings, resolve_secrets
from hotline.main import create_app


def test_reads_hotline_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_DEFAULT_LANGUAGE", "ru")
    monkeypatch.setenv("HOTLINE_MAX_SEGMENTS", "2")
    monkeypatch.setenv("HOTLINE_DATABASE_URL", "postgresql://postgres@db/hotline")
    settings = Settings()
    assert settings.default_language == "ru"
    assert settings.max_segments == 2
    assert settings.database_url == "postgresql+psycopg://postgres@db/hotline"


def test_production_refuses_missing_secrets_naming_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECRET_KEY", "ENCRYPTION_KEYS", "LOOKUP_KEY", "TWILIO_AUTH_TOKEN", "ENV"):
        monkeypatch.delenv(f"HOTLINE_{name}", raising=False)
    with pytest.raises(ConfigError, match="HOTLINE_SECRET_KEY.*HOTLINE_TWILIO_AUTH_TOKEN"):
        create_app(Settings())


@pytest.mark.parametrize("placeholder", ["changeme", "secret", "short", ""])
def test_production_refuses_placeholder_secret(placeholder: str) -> None:
    settings = Settings(
        env="production",
        secret_key=placeholder,
        encryption_keys=Fernet.generate_key().decode(),
        lookup_key="x" * 40,
        twilio_auth_token="y" * 32,
    )
    with pytest.raises(ConfigError, match="^HOTLINE_SECRET_KEY missing or a placeholder"):
        resolve_secrets(settings)


def test_production_refuses_malformed_encryption_key() -> None:
    settings = Settings(
        env="production",
        secret_key="s" * 40,
        encryption_keys="not-a-fernet-key-at-all-xx",
        lookup_key="x" * 40,
        twilio_auth_token="y" * 32,
    )
    with pytest.raises(ConfigError, match="HOTLINE_ENCRYPTION_KEYS"):
        resolve_secrets(settings)


def test_development_generates_local_secrets_once_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secrets_file = tmp_path / "dev-secrets.json"
    first = resolve_secrets(Settings(env="development", dev_secrets_file=secrets_file))
    assert "development mode: using generated local secrets" in caplog.text
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    second = resolve_secrets(Settings(env="development", dev_secrets_file=secrets_file))
    # The same keys on the next start, so the local database stays readable.
    assert first.encryption_keys == second.encryption_keys == json.loads(secrets_file.read_text())["encryption_keys"]
    assert len(first.twilio_auth_token) >= 16


def test_development_keeps_secrets_that_are_set(tmp_path: Path) -> None:
    settings = resolve_secrets(Settings(env="development", secret_key="s" * 40, dev_secrets_file=tmp_path / "d.json"))
    assert settings.secret_key == "s" * 40


def test_simulator_defaults_follow_the_mode() -> None:
    assert Settings(env="development").simulator_enabled
    assert not Settings(env="production").simulator_enabled
    assert Settings(env="production", simulator=True).simulator_enabled
