"""`hotline outbox`: the outbound message queue, for operators."""

from __future__ import annotations

from typing import Annotated

import typer

from hotline.cli.base import app, load_settings
from hotline.db import get_engine, session_scope
from hotline.messaging import outbox
from hotline.models import (
    utcnow,
)

outbox_app = typer.Typer(help="The outbound message queue.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("status")
def outbox_status() -> None:
    """Count outbound messages by status."""
    settings = load_settings()
    with session_scope(get_engine(settings.database_url)) as session:
        counts = outbox.counts_by_status(session)
    if not counts:
        typer.echo("outbox is empty")
    for status, count in sorted(counts.items()):
        typer.echo(f"{status:<12} {count}")


@outbox_app.command("retry")
def outbox_retry() -> None:
    """Make every message waiting for a retry due now (after an outage is over)."""
    settings = load_settings()
    with session_scope(get_engine(settings.database_url)) as session:
        typer.echo(f"{outbox.retry_now(session, utcnow())} messages will be retried now")


@outbox_app.command("cancel")
def outbox_cancel(key: Annotated[str, typer.Argument(help="The message's idempotency key.")]) -> None:
    """Cancel one waiting message by its idempotency key."""
    settings = load_settings()
    with session_scope(get_engine(settings.database_url)) as session:
        if not outbox.cancel_by_key(session, key, utcnow()):
            typer.secho(f"no waiting message with key {key}", fg="red", err=True)
            raise typer.Exit(1)
    typer.echo(f"cancelled {key}")
