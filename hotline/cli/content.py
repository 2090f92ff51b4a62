"""`hotline content`: what staff changed in texts and programme rules, moved between installations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hotline.cli.base import app, load_settings
from hotline.context import build_context
from hotline.db import get_engine, migrate, session_scope
from hotline.editorial.service import ContentRefused
from hotline.editorial.transfer import export_content, import_content
from hotline.models import utcnow

content_app = typer.Typer(help="Texts and programme rules edited by staff.", no_args_is_help=True)
app.add_typer(content_app, name="content")


@content_app.command("export")
def content_export(file: Annotated[Path, typer.Argument(help="JSON file to write ('-': standard output).")]) -> None:
    """Write every approved or waiting change (texts and programme versions) as JSON."""
    settings = load_settings()
    migrate(settings.database_url)
    with session_scope(get_engine(settings.database_url)) as session:
        text = json.dumps(export_content(session), ensure_ascii=False, indent=1)
    if str(file) == "-":
        typer.echo(text)
    else:
        file.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"Exported to {file}")


@content_app.command("import")
def content_import(file: Annotated[Path, typer.Argument(help="A file written by `hotline content export`.")]) -> None:
    """Add the changes this installation lacks, each checked first; nothing is written if one is refused."""
    settings = load_settings()
    ctx = build_context(settings)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.secho(f"Not imported: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    migrate(settings.database_url)
    try:
        with session_scope(get_engine(settings.database_url)) as session:
            count = import_content(session, ctx, document if isinstance(document, dict) else {}, utcnow())
    except ContentRefused as refused:
        typer.secho(f"Not imported: {refused}", fg="red", err=True)
        raise typer.Exit(2) from refused
    typer.echo(f"Imported {count} change(s).")
