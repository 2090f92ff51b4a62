"""The root of the `hotline` command: the Typer app every command group joins, and the settings they share."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from hotline.config import ConfigError, Settings, get_settings
from hotline.logs import configure_logging

app = typer.Typer(help="Batken hotline: SMS and voice hotline for families.", no_args_is_help=True)


def load_settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        typer.secho(f"Configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


@app.callback()
def main() -> None:
    """Configure logging once for every command: JSON lines or text (HOTLINE_LOG_FORMAT), see hotline/logs.py."""
    try:
        settings = Settings()
    except ValidationError:
        settings = Settings.model_construct()  # the command names the bad setting; log with defaults meanwhile
    configure_logging(as_json=settings.log_json, level=settings.log_level)
