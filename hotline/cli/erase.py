"""`hotline erase`: a family's data removed on its request."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from hotline.cli.base import app, load_settings
from hotline.context import build_context
from hotline.db import get_engine, session_scope
from hotline.models import (
    utcnow,
)
from hotline.phones import InvalidPhone, mask_phone, normalise_phone
from hotline.privacy import service as erasure


def _operator() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # a container's user without a passwd entry
        return "unknown"


@app.command()
def erase(
    phone: Annotated[str, typer.Option("--phone", help="The family's phone number, in any usual form.")],
    yes: Annotated[bool, typer.Option("--yes", help="Erase without asking for confirmation.")] = False,
    reason: Annotated[str, typer.Option(help="Why, for the audit log (e.g. the request's date and how it came).")] = (
        "request of the family"
    ),
) -> None:
    """Erase a family's data on its request: number, enrolments, waiting messages, message texts. Its complaints
    stay, with their text, no longer linked to the phone. Recorded in the audit log with the number masked."""
    settings = load_settings()
    ctx = build_context(settings)
    try:
        e164 = normalise_phone(phone)
    except InvalidPhone as exc:
        typer.secho(f"Not erased: {phone!r} is not a phone number we know how to read.", fg="red", err=True)
        raise typer.Exit(2) from exc
    masked = mask_phone(e164)
    engine = get_engine(settings.database_url)
    with session_scope(engine) as session:
        contact = erasure.find_family(session, ctx, e164)
        held = erasure.family_data(session, ctx, contact) if contact else None
    if held is None:
        typer.secho(f"The hotline has no data for {masked}: nothing erased.", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"The hotline holds for {masked}: the number, its language and remembered place, and")
    for line in held.lines() or ["      -  nothing else"]:
        typer.echo(line)
    if not yes and not typer.confirm("Erase this family's data? It cannot be undone", default=False):
        typer.echo("Nothing erased.")
        raise typer.Exit(1)
    with session_scope(engine) as session:
        contact = erasure.find_family(session, ctx, e164)
        if contact is None:
            typer.secho(f"{masked} was erased meanwhile: nothing more to do.", fg="red", err=True)
            raise typer.Exit(1)
        removed = erasure.erase_family(session, ctx, contact, utcnow(), operator=_operator(), reason=reason)
    typer.echo(f"Erased {masked}:")
    for line in removed.lines():
        typer.echo(line)
    typer.echo("Recorded in the audit log (action erase, number masked).")
