"""The `hotline` command: serve, migrate, send a test SMS, manage encryption keys."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Annotated

import httpx
import typer
import uvicorn
from cryptography.fernet import Fernet
from sqlmodel import select

from hotline.config import ConfigError, Settings, get_settings
from hotline.context import build_context
from hotline.db import get_engine, migrate, session_scope
from hotline.models import Contact, InboundMessage

app = typer.Typer(help="Batken hotline: SMS and voice hotline for families.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys for phone numbers.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        typer.secho(f"Configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


@app.callback()
def main() -> None:
    """Configure logging once for every command."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per in-process webhook call is noise


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Web worker processes.")] = 1,
) -> None:
    """Serve the webhooks, the simulator (development) and the probes."""
    _settings()  # fail before uvicorn starts, with the setting's name
    uvicorn.run(
        "hotline.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
    )


@app.command("migrate")
def migrate_command() -> None:
    """Bring the database schema to the newest version."""
    settings = _settings()
    migrate(settings.database_url)
    typer.echo("database is up to date")


@app.command()
def sms(
    text: Annotated[str, typer.Argument(help="The SMS text.")],
    sender: Annotated[str, typer.Option("--from", help="Sender phone number.")] = "+996555123456",
    url: Annotated[str | None, typer.Option(help="A running server; default: in this process.")] = None,
) -> None:
    """Send TEXT through the signed webhook, as Twilio would, and print the reply."""
    from hotline.main import create_app
    from hotline.sms.simulator import WebhookRejected, send_sms

    settings = _settings()

    async def run() -> list[str]:
        if url:
            async with httpx.AsyncClient(base_url=url, timeout=20) as client:
                return await send_sms(client, settings, sender, text)
        migrate(settings.database_url)
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
            return await send_sms(client, settings, sender, text)

    try:
        replies = asyncio.run(run())
    except WebhookRejected as exc:
        typer.secho(f"rejected: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    except httpx.HTTPError as exc:
        typer.secho(f"cannot reach {url}: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    if not replies:
        typer.echo("(no reply)")
    for reply in replies:
        typer.echo(reply)


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key (put it first in HOTLINE_ENCRYPTION_KEYS to rotate)."""
    typer.echo(Fernet.generate_key().decode())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored number with the newest key and recompute look-up hashes with the current key."""
    settings = _settings()
    ctx = build_context(settings)
    contacts = messages = 0
    with session_scope(get_engine(settings.database_url)) as session:
        for contact in session.exec(select(Contact)):
            phone = ctx.vault.decrypt(contact.phone_encrypted)
            contact.phone_encrypted = ctx.vault.rotate(contact.phone_encrypted)
            contact.phone_hash = ctx.vault.lookup_hash(phone)
            session.add(contact)
            contacts += 1
        for message in session.exec(select(InboundMessage)):
            message.receiver_encrypted = ctx.vault.rotate(message.receiver_encrypted)
            if message.unparsed_sender_encrypted:
                message.unparsed_sender_encrypted = ctx.vault.rotate(message.unparsed_sender_encrypted)
            session.add(message)
            messages += 1
    typer.echo(f"re-encrypted {contacts} contacts and {messages} messages with the newest key")


if __name__ == "__main__":
    sys.exit(app())
