"""The `hotline` command, one module per command group; logic lives in the services they call."""

from __future__ import annotations

from hotline.cli import complaints, content, erase, households, keys, outbox, server, users, voice, volunteers
from hotline.cli.base import app

__all__ = [
    "app",
    "complaints",
    "content",
    "erase",
    "households",
    "keys",
    "outbox",
    "server",
    "users",
    "voice",
    "volunteers",
]
