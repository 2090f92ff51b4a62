"""Settings from HOTLINE_* environment variables, with safe refusal of placeholder secrets."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
Language = Literal["ky", "ru", "uz", "en"]

# Values people paste from examples; refusing them outside development stops a demo secret reaching production.
PLACEHOLDERS = {"", "changeme", "change-me", "secret", "placeholder", "xxx", "test", "example", "todo"}

# Settings whose value must be a real secret outside development: (field, environment variable).
SECRET_SETTINGS = (
    ("secret_key", "HOTLINE_SECRET_KEY"),
    ("encryption_keys", "HOTLINE_ENCRYPTION_KEYS"),
    ("lookup_key", "HOTLINE_LOOKUP_KEY"),
    ("twilio_auth_token", "HOTLINE_TWILIO_AUTH_TOKEN"),
)
# A channel's own secrets, needed only when the channel is in use: (channel, field, variable, shortest length).
CHANNEL_SECRETS = (
    ("kannel", "kannel_secret", "HOTLINE_KANNEL_SECRET", 32),
    ("android", "android_signing_key", "HOTLINE_ANDROID_SIGNING_KEY", 16),
)
CHANNELS = ("twilio", "kannel", "android")


MAX_RETENTION_DAYS = 36_500  # a hundred years: "keep", without a special value that could be mistyped


class ConfigError(RuntimeError):
    """A setting an operator must fix; the message names the environment variable."""


class Settings(BaseSettings):
    """Every setting of the hotline; each field is read from HOTLINE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    env: Literal["development", "production"] = "production"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'hotline.db'}"
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    # Comma-separated Fernet keys, newest first: the first encrypts, all decrypt (rotation).
    encryption_keys: str = ""
    # HMAC key for the phone-number hashes used in look-ups.
    lookup_key: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    default_language: Language = "ky"
    max_segments: int = Field(default=3, ge=1, le=10)
    conversation_timeout_minutes: int = Field(default=30, ge=1)
    timezone: str = "Asia/Bishkek"
    simulator: bool | None = None
    # Admin session cookie only over HTTPS; default: on outside development.
    cookie_secure: bool | None = None
    escalation_interval_minutes: int = Field(default=10, ge=1)
    # How often the queue page asks for new complaints (a small JSON request; 0 turns polling off).
    admin_poll_seconds: int = Field(default=20, ge=0)
    migrate_on_start: bool = True
    # Logs (docs/OPERATIONS.md): JSON lines by default, text by default in development (a person reads them).
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_complaints_per_day: int = Field(default=5, ge=1)
    max_status_failures_per_day: int = Field(default=5, ge=1)
    max_pin_failures_per_day: int = Field(default=10, ge=1)
    # Reply loops (docs/MESSAGING.md): more than this many alike messages from one phone in the window, and nothing
    # it sends is answered until they leave the window.
    loop_limit: int = Field(default=3, ge=1)
    loop_window_minutes: int = Field(default=60, ge=1, le=1440)
    default_oblast: str = "batken"
    # Outbound messaging (issue #4).
    sms_backend: Literal["auto", "twilio", "console"] = "auto"
    twilio_api_url: str = "https://api.twilio.com"
    twilio_messaging_service_sid: str = ""
    send_rate_segments_per_second: float = Field(default=1.0, gt=0)
    validity_period_seconds: int = Field(default=14_400, ge=1, le=36_000)
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "08:00"
    dispatch_interval_seconds: float = Field(default=2.0, gt=0)
    dispatch_batch: int = Field(default=50, ge=1)
    send_concurrency: int = Field(default=4, ge=1, le=32)
    lease_seconds: int = Field(default=120, ge=5)
    max_send_attempts: int = Field(default=8, ge=1)
    # First wait before a temporary failure is retried; doubles each attempt, up to an hour.
    retry_backoff_seconds: float = Field(default=30.0, gt=0, le=3600)
    scheduler_in_process: bool = False
    # Channels (issue #14, docs/CHANNELS.md): the transports in use, comma-separated (twilio, kannel, android);
    # unset: twilio, and in development all three (the simulator can play each, backed by the console).
    channels: str | None = None
    # Where reminders, officers' answers and alerts go; empty: back on the channel the phone last used (else the
    # first channel). A direct answer always goes back on the channel the message came in on.
    outbound_channel: str = ""
    # The outbound channel's sender cannot receive replies (Twilio's alphanumeric sender ID): texts don't invite one.
    outbound_one_way: bool = False
    # The number families text (a short number): named in texts from a one-way sender that ask for an answer.
    public_number: str = ""
    # The number families text is free to text (agreed with the operator): only then does HELP say so.
    free_to_text: bool = False
    # A decided complaint's SMS asks the family to rate the handling 1-3 (docs/REPORTS.md): off until the question's
    # texts are reviewed by native speakers, and since the answer costs the family an SMS unless texting is free.
    outcome_rating: bool = False
    # Kannel (a local operator's SMPP link): its sendsms interface, and how its sms-service calls us.
    kannel_sendsms_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    kannel_username: str = ""
    kannel_password: str = ""
    kannel_secret: str = ""  # in the sms-service and dlr-url URLs: at least 32 random characters
    kannel_allowed_ips: str = "127.0.0.1,::1"  # where Kannel's requests may come from (comma-separated)
    kannel_from: str = ""  # the short number or sender the operator gave
    kannel_smsc: str = ""  # an smsc-id to route through, when Kannel has several links
    kannel_rate_segments_per_second: float = Field(default=10.0, gt=0)
    # SMS Gateway for Android (a phone with a local SIM, for a pilot).
    android_url: str = ""
    android_username: str = ""
    android_password: str = ""
    android_signing_key: str = ""  # the app's webhook signing key
    android_rate_segments_per_second: float = Field(default=0.5, gt=0)  # about 30 a minute
    max_request_bytes: int = Field(default=64 * 1024, ge=1024)
    # Voice line (issue #7): reject calls without charge to the caller and call back from the outbox.
    voice_callback: bool = False
    max_callbacks_per_day: int = Field(default=3, ge=1)
    # A callback not made within this many hours of the request (after quiet hours) is dropped, not made late.
    callback_valid_hours: float = Field(default=3.0, gt=0)
    # Audio prompts: what `hotline voice build` generates, and recorded files that replace them (same names).
    voice_audio_dir: Path = ROOT / "var" / "voice"
    voice_recorded_dir: Path = ROOT / "voice_prompts"
    # Retention (issue #8): how long personal data is kept; the daily job in hotline/privacy enforces it.
    message_retention_days: int = 90  # bodies of SMS in and out, replies, outbox copies of numbers
    complainant_identity_days: int = 180  # a decided complaint keeps its link to the family's phone this long
    complaint_text_days: int = 1825  # a decided complaint keeps its text, answers and notes this long
    dev_secrets_file: Path = ROOT / "var" / "dev-secrets.json"
    templates_dir: Path = ROOT / "message_templates"

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, url: str) -> str:
        # psycopg 3 is the installed driver; plain postgresql:// would ask SQLAlchemy for psycopg2.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url.removeprefix(prefix)
        return url

    @field_validator("message_retention_days", "complainant_identity_days", "complaint_text_days")
    @classmethod
    def _retention_days(cls, days: int) -> int:
        # 0 must never mean "erase everything now" by accident; keeping for ever is a deliberate large number.
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise ValueError(f"must be between 1 and {MAX_RETENTION_DAYS} days (set {MAX_RETENTION_DAYS} to keep)")
        return days

    @model_validator(mode="after")
    def _identity_goes_before_text(self) -> Settings:
        if self.complaint_text_days < self.complainant_identity_days:
            raise ValueError(
                "HOTLINE_COMPLAINT_TEXT_DAYS must not be shorter than HOTLINE_COMPLAINANT_IDENTITY_DAYS "
                "(a complaint loses its link to the phone before its text)"
            )
        return self

    @property
    def development(self) -> bool:
        """True in development mode (what `make run` uses)."""
        return self.env == "development"

    @property
    def log_json(self) -> bool:
        """JSON log lines unless HOTLINE_LOG_FORMAT says text (or, unset, in development)."""
        return self.log_format == "json" if self.log_format else not self.development

    @property
    def simulator_enabled(self) -> bool:
        """The simulator is on in development unless turned off, and off elsewhere unless turned on."""
        return self.development if self.simulator is None else self.simulator

    @property
    def cookie_secure_enabled(self) -> bool:
        """Secure cookies unless in development (plain http://127.0.0.1) or turned off explicitly."""
        return not self.development if self.cookie_secure is None else self.cookie_secure

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        unknown = sorted(set(names) - set(CHANNELS))
        if unknown or not names:
            raise ValueError(f"channels are a comma-separated list of {', '.join(CHANNELS)} (got {value!r})")
        return ",".join(dict.fromkeys(names))

    @model_validator(mode="after")
    def _outbound_is_in_use(self) -> Settings:
        if self.outbound_channel and self.outbound_channel not in self.channel_list:
            in_use = ",".join(self.channel_list)
            raise ValueError(f"HOTLINE_OUTBOUND_CHANNEL={self.outbound_channel} is not in HOTLINE_CHANNELS={in_use}")
        if self.outbound_one_way and not self.public_number:
            raise ValueError("HOTLINE_OUTBOUND_ONE_WAY needs HOTLINE_PUBLIC_NUMBER: the number families can write to")
        return self

    @property
    def channel_list(self) -> tuple[str, ...]:
        """The channels in use, the first being the default for outbound messages."""
        if self.channels is None:
            return CHANNELS if self.development else ("twilio",)
        return tuple(self.channels.split(","))

    def encryption_key_list(self) -> list[str]:
        """The Fernet keys, newest first."""
        return [k.strip() for k in self.encryption_keys.split(",") if k.strip()]


def _is_placeholder(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDERS or len(value.strip()) < 16


def _load_dev_secrets(path: Path) -> dict[str, str]:
    """Secrets generated once per development checkout, so the local database stays readable across starts."""
    fresh = {
        "secret_key": secrets.token_urlsafe(32),
        "encryption_keys": Fernet.generate_key().decode(),
        "lookup_key": secrets.token_urlsafe(32),
        "twilio_auth_token": secrets.token_hex(16),
        "kannel_secret": secrets.token_urlsafe(32),
        "android_signing_key": secrets.token_urlsafe(24),
    }
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        if fresh.keys() <= loaded.keys():
            return loaded
        # A checkout from before a channel existed: keep its keys (the database stays readable), add the new ones.
        generated = fresh | loaded
        path.write_text(json.dumps(generated))
        return generated
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(fresh, handle)
    return fresh


def _required_secrets(settings: Settings) -> list[tuple[str, str]]:
    # Twilio's token stays required: it signs the voice line and the simulator's requests even without Twilio SMS.
    missing = [(field, env) for field, env in SECRET_SETTINGS if _is_placeholder(getattr(settings, field))]
    for channel, field, env, length in CHANNEL_SECRETS:
        value = getattr(settings, field)
        if channel in settings.channel_list and (_is_placeholder(value) or len(value.strip()) < length):
            missing.append((field, env))
    return missing


def resolve_secrets(settings: Settings) -> Settings:
    """Fill missing secrets in development; outside it, refuse missing or placeholder ones."""
    missing = _required_secrets(settings)
    if not missing:
        _check_encryption_keys(settings)
        return settings
    if not settings.development:
        names = ", ".join(env for _, env in missing)
        raise ConfigError(
            f"{names} missing or a placeholder. Set each to a random secret "
            "(HOTLINE_ENCRYPTION_KEYS takes Fernet keys: `hotline keys generate`), "
            "or set HOTLINE_ENV=development for a local demo."
        )
    first = not settings.dev_secrets_file.exists()
    generated = _load_dev_secrets(settings.dev_secrets_file)
    # Said loudly when they are made; after that at INFO, which a server's log shows and a quiet CLI command not.
    log.log(
        logging.WARNING if first else logging.INFO,
        "development mode: using generated local secrets for %s from %s (never use these in production)",
        ", ".join(env for _, env in missing),
        settings.dev_secrets_file,
    )
    resolved = settings.model_copy(update={field: generated[field] for field, _ in missing})
    _check_encryption_keys(resolved)
    return resolved


def _check_encryption_keys(settings: Settings) -> None:
    for key in settings.encryption_key_list():
        try:
            Fernet(key)
        except ValueError as exc:
            raise ConfigError(
                "HOTLINE_ENCRYPTION_KEYS must be comma-separated Fernet keys (`hotline keys generate`)"
            ) from exc


def development_checkout(environ: Mapping[str, str], *, prefix: str = sys.prefix, root: Path = ROOT) -> bool:
    """True when the `hotline` command runs in a developer's checkout after `make run`: HOTLINE_ENV unset, no secret
    in the environment (a server's environment holds them), the interpreter the checkout's own .venv beside its
    pyproject.toml, and the development secrets `make run` generated present. A deployment fails at least one, so it
    never turns into development: it stops with a configuration error instead (docs/DEPLOY.md)."""
    if "HOTLINE_ENV" in environ or any(env in environ for _, env in SECRET_SETTINGS):
        return False
    if Path(prefix).resolve() != (root / ".venv").resolve() or not (root / "pyproject.toml").is_file():
        return False
    secrets_file = environ.get("HOTLINE_DEV_SECRETS_FILE") or root / "var" / "dev-secrets.json"
    return Path(secrets_file).is_file()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, with secrets resolved."""
    try:
        settings = Settings()
    except ValidationError as exc:
        # Name the environment variable to fix rather than show pydantic's field names and a traceback.
        problems = "; ".join(
            f"HOTLINE_{str(error['loc'][0]).upper()}: {error['msg']}" if error["loc"] else error["msg"]
            for error in exc.errors()
        )
        raise ConfigError(problems) from exc
    return resolve_secrets(settings)
