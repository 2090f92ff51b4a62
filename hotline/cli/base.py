"""The root of the `hotline` command: the Typer app every command group joins, and the settings they share."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer
from pydantic import ValidationError

from hotline.config import ConfigError, Settings, development_checkout, get_settings
from hotline.logs import configure_logging

app = typer.Typer(help="Batken hotline: SMS and voice hotline for families.", no_args_is_help=True)


def load_settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        typer.secho(f"Configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


# Commands that run until stopped and log what they do; every other command prints only its result and problems.
SERVICES = ("serve", "scheduler")


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at HOTLINE_LOG_LEVEL (INFO) too.")] = False,
) -> None:
    """Configure logging once for every command: JSON lines or text (HOTLINE_LOG_FORMAT), see hotline/logs.py."""
    if development_checkout(os.environ):
        # The development settings `make run` uses (the rule and why a server never qualifies: config.py).
        os.environ["HOTLINE_ENV"] = "development"
        get_settings.cache_clear()
    try:
        settings = Settings()
    except ValidationError:
        settings = Settings.model_construct()  # the command names the bad setting; log with defaults meanwhile
    configure_logging(as_json=settings.log_json, level=log_level(settings, ctx.invoked_subcommand, verbose))


def log_level(settings: Settings, command: str | None, verbose: bool) -> str:
    """HOTLINE_LOG_LEVEL for the services; at least WARNING for one-shot commands unless --verbose (Alembic's and
    each request's INFO lines would bury what the command prints)."""
    if verbose or command in SERVICES or settings.log_level in ("WARNING", "ERROR"):
        return settings.log_level
    return "WARNING"


def be_verbose() -> None:
    """A command's own --verbose: INFO lines from here on (the root logger was set up quiet)."""
    logging.getLogger().setLevel(logging.INFO)
