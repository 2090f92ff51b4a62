"""`hotline keys`: the Fernet keys that encrypt phone numbers."""

from __future__ import annotations

import typer
from cryptography.fernet import Fernet

from hotline.cli.base import app, load_settings
from hotline.context import build_context
from hotline.db import get_engine, session_scope
from hotline.privacy.service import rotate_keys

keys_app = typer.Typer(help="Encryption keys for phone numbers.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key (put it first in HOTLINE_ENCRYPTION_KEYS to rotate)."""
    typer.echo(Fernet.generate_key().decode())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored number with the newest key and recompute look-up hashes with the current key."""
    settings = load_settings()
    ctx = build_context(settings)
    with session_scope(get_engine(settings.database_url)) as session:
        done = rotate_keys(session, ctx)
    typer.echo(
        f"re-encrypted {done.contacts} contacts, {done.messages} messages and {done.outbound} outbox entries "
        "with the newest key"
    )
