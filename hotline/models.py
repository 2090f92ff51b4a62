"""Every table of the hotline (one metadata for Alembic) and the column types they share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only form stored)."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware, on SQLite too (which drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (hotline.models.utcnow())")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class Contact(SQLModel, table=True):
    """A phone that has written to the hotline: its language and opt-out; the number only encrypted."""

    id: int | None = Field(default=None, primary_key=True)
    phone_hash: str = Field(max_length=64, unique=True)
    phone_encrypted: str = Field(sa_type=sa.Text)
    language: str = Field(max_length=2)
    opted_out_at: datetime | None = _ts(default=None, nullable=True)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class InboundMessage(SQLModel, table=True):
    """One SMS received through the webhook, with the reply it got (returned again for a repeated sid)."""

    id: int | None = Field(default=None, primary_key=True)
    message_sid: str = Field(max_length=64, unique=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    # Set only when From was not a phone number (e.g. an operator's alphanumeric sender).
    unparsed_sender_encrypted: str | None = Field(default=None, sa_type=sa.Text)
    receiver_encrypted: str = Field(sa_type=sa.Text)
    body: str = Field(sa_type=sa.Text)
    received_at: datetime = _ts(default_factory=utcnow, index=True)
    language: str = Field(max_length=2)
    keyword: str | None = Field(default=None, max_length=32)
    replies: list[str] = Field(default_factory=list, sa_type=sa.JSON)


class Conversation(SQLModel, table=True):
    """A multi-step SMS dialogue in progress for one contact (at most one at a time)."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", unique=True)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    expires_at: datetime = _ts()
    updated_at: datetime = _ts(default_factory=utcnow)
