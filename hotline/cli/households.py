"""`hotline households`: households enrolled for reminders by staff."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hotline.cli.base import app, load_settings
from hotline.context import build_context
from hotline.db import get_engine, migrate, session_scope
from hotline.models import (
    utcnow,
)
from hotline.reminders import importer

households_app = typer.Typer(help="Households enrolled for reminders.", no_args_is_help=True)
app.add_typer(households_app, name="households")


@households_app.command("import")
def households_import(
    file: Annotated[Path, typer.Argument(help="CSV: phone,kind,date,language,municipality,send_hour,consent")],
) -> None:
    """Enrol households from a CSV file: every row is checked first, and nothing is written if one is wrong."""
    settings = load_settings()
    ctx = build_context(settings)
    try:
        raw = importer.read_csv(file.read_bytes())
        rows = importer.check_all(raw, ctx.local_day(utcnow()))
    except importer.ImportRejected as rejected:
        for error in rejected.errors:
            typer.secho(str(error), fg="red", err=True)
        typer.secho("Nothing was imported.", fg="red", err=True)
        raise typer.Exit(2) from rejected
    migrate(settings.database_url)
    with (
        session_scope(get_engine(settings.database_url)) as session,
        typer.progressbar(length=len(rows), label="Importing") as bar,
    ):
        last = 0

        def advance(done: int) -> None:
            nonlocal last
            bar.update(done - last)
            last = done

        result = importer.write_rows(session, ctx, rows, utcnow(), "import", progress=advance)
    typer.echo(
        f"{result.rows} rows: {result.new_households} new households, {result.new_enrolments} new enrolments, "
        f"{result.already_there} already enrolled"
    )
