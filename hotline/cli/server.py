"""Running the hotline: the web server, the scheduler, migrations, and a test SMS on any channel."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import httpx
import typer
import uvicorn
from prometheus_client import start_http_server

from hotline import metrics
from hotline.cli.base import app, be_verbose, load_settings
from hotline.db import migrate
from hotline.logs import logging_config


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, envvar="HOTLINE_WEB_WORKERS", help="Web worker processes (each its own pool).")
    ] = 1,
) -> None:
    """Serve the webhooks, the simulator (development) and the probes."""
    settings = load_settings()  # fail before uvicorn starts, with the setting's name
    if workers > 1:
        metrics.prepare_multiprocess_dir()  # /metrics sums every worker's counters, whichever worker answers
    uvicorn.run(
        "hotline.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        # Applied by uvicorn in each worker it spawns; its access log gives way to ours (hotline.access).
        log_config=logging_config(as_json=settings.log_json, level=settings.log_level),
        access_log=False,
        proxy_headers=True,
    )


@app.command("migrate")
def migrate_command(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show each migration Alembic runs.")] = False,
) -> None:
    """Bring the database schema to the newest version."""
    if verbose:
        be_verbose()
    settings = load_settings()
    migrate(settings.database_url)
    typer.echo("database is up to date")


@app.command()
def sms(
    text: Annotated[str, typer.Argument(help="The SMS text.")],
    sender: Annotated[str, typer.Option("--from", help="Sender phone number.")] = "+996555123456",
    url: Annotated[str | None, typer.Option(help="A running server; default: in this process.")] = None,
    channel: Annotated[
        str, typer.Option(help="The channel it comes in on: twilio, kannel or android (as that transport sends it).")
    ] = "twilio",
) -> None:
    """Send TEXT as the channel's transport would (signed, or with Kannel's secret) and print the reply."""
    from hotline.main import create_app
    from hotline.simulator.sms import WebhookRejected, send_sms

    settings = load_settings()

    async def run() -> list[str]:
        if url:
            async with httpx.AsyncClient(base_url=url, timeout=20) as client:
                return await send_sms(client, settings, sender, text, channel)
        migrate(settings.database_url)
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
            return await send_sms(client, settings, sender, text, channel)

    try:
        replies = asyncio.run(run())
    except WebhookRejected as exc:
        typer.secho(f"rejected: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    except httpx.HTTPError as exc:
        typer.secho(f"cannot reach {url}: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    if not replies:
        typer.echo("(replies go through the outbox)" if channel == "android" else "(no reply)")
    for reply in replies:
        typer.echo(reply)


@app.command()
def scheduler(
    metrics_port: Annotated[
        int,
        typer.Option(envvar="HOTLINE_SCHEDULER_METRICS_PORT", help="Serve this process's /metrics here (0: not)."),
    ] = 9101,
    metrics_host: Annotated[
        str, typer.Option(envvar="HOTLINE_SCHEDULER_METRICS_HOST", help="Address of the metrics port.")
    ] = "127.0.0.1",
) -> None:
    """Run the periodic jobs (outbox dispatch, and the jobs later issues add) in this process until stopped."""
    from hotline.scheduler import build_scheduler

    settings = load_settings()
    migrate(settings.database_url)
    if metrics_port:
        # Sends and job runs are counted in this process, so Prometheus scrapes it here, not on the web server.
        try:
            start_http_server(metrics_port, addr=metrics_host, registry=metrics.process_registry())
        except OSError as exc:
            logging.getLogger(__name__).warning(
                "metrics not served on %s:%d (%s): set HOTLINE_SCHEDULER_METRICS_PORT", metrics_host, metrics_port, exc
            )
    typer.echo("scheduler running; Ctrl-C stops it")
    try:
        build_scheduler(settings, blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        typer.echo("scheduler stopped")
