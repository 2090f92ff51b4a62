"""`hotline complaints`: complaints, for operators without the admin page."""

from __future__ import annotations

from typing import Annotated

import typer

from hotline.cli.base import app, load_settings
from hotline.complaints import service as complaint_service
from hotline.context import build_context
from hotline.db import get_engine, session_scope

complaints_app = typer.Typer(help="Complaints, for operators without the admin page.", no_args_is_help=True)
app.add_typer(complaints_app, name="complaints")


@complaints_app.command("list")
def complaints_list(
    status: Annotated[str | None, typer.Option(help="Only this status (new, investigating, ...).")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """List complaints, newest first: reference, date, status, category, where it is handled."""
    settings = load_settings()
    tz = build_context(settings).tz  # times as the admin page shows them, in the hotline's time zone
    with session_scope(get_engine(settings.database_url)) as session:
        rows = complaint_service.list_complaints(session, status=status, limit=limit)
        if not rows:
            typer.echo("no complaints")
        for c in rows:
            place = c.municipality_code or c.district_code or c.oblast_code
            anonymous = " anonymous" if c.anonymous else ""
            typer.echo(
                f"{c.reference}  {c.created_at.astimezone(tz):%Y-%m-%d %H:%M}  {c.status:<13} {c.category:<9} "
                f"{c.jurisdiction}:{place}{anonymous}  due {c.first_answer_due.astimezone(tz):%Y-%m-%d}"
            )


@complaints_app.command("show")
def complaints_show(reference: Annotated[str, typer.Argument(help="The 8-digit reference.")]) -> None:
    """Show one complaint: text, routing, deadlines, masked number, answers and audit trail."""
    settings = load_settings()
    ctx = build_context(settings)
    with session_scope(get_engine(settings.database_url)) as session:
        complaint = complaint_service.by_reference(session, reference)
        if complaint is None:
            typer.secho(f"no complaint {reference}", fg="red", err=True)
            raise typer.Exit(1)
        typer.echo(
            f"Complaint {complaint.reference} ({complaint.status}, {complaint.category}"
            f"{', guessed' if complaint.category_guessed else ''})"
        )
        typer.echo(f"From: {complaint_service.masked_phone(session, ctx, complaint)}; language {complaint.language}")
        where = complaint.municipality_code or complaint.district_code or complaint.oblast_code
        routed = f" (routed: {complaint.routed_reason})" if complaint.routed_reason else ""
        typer.echo(f"Place: {where}; handled at {complaint.jurisdiction} level{routed}")
        typer.echo(
            f"First answer due {complaint.first_answer_due.astimezone(ctx.tz):%Y-%m-%d}, resolution due "
            f"{complaint.resolution_due.astimezone(ctx.tz):%Y-%m-%d}"
        )
        typer.echo("")
        typer.echo(complaint.text)
        typer.echo("")
        for event in complaint_service.events_of(session, complaint):
            typer.echo(f"{event.at.astimezone(ctx.tz):%Y-%m-%d %H:%M}  {event.actor:<7} {event.kind}  {event.details}")
