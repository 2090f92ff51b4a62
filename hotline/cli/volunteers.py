"""`hotline volunteers`: village health volunteers told of danger signs."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import select

from hotline.cli.base import app, load_settings
from hotline.content import LANGUAGES
from hotline.context import build_context
from hotline.db import get_engine, migrate, session_scope
from hotline.models import (
    Contact,
    Volunteer,
    utcnow,
)
from hotline.phones import InvalidPhone, log_phone, mask_phone, normalise_phone
from hotline.reminders import importer

volunteers_app = typer.Typer(help="Village health volunteers told of danger signs.", no_args_is_help=True)
app.add_typer(volunteers_app, name="volunteers")


@volunteers_app.command("add")
def volunteers_add(
    phone: Annotated[str, typer.Argument(help="The volunteer's mobile number.")],
    municipality: Annotated[str, typer.Option(help="Municipality code from places.toml.")],
    name: Annotated[str, typer.Option(help="Name, shown to staff.")] = "",
    language: Annotated[str, typer.Option(help="Language of the alerts: ky, ru, uz or en.")] = "ky",
) -> None:
    """Register a volunteer: each danger sign texted from the municipality is forwarded by SMS, day and night."""
    settings = load_settings()
    ctx = build_context(settings)
    migrate(settings.database_url)
    try:
        phone = normalise_phone(phone)
        with session_scope(get_engine(settings.database_url)) as session:
            volunteer = importer.register_volunteer(session, ctx, phone, municipality, name, utcnow())
            contact = session.get(Contact, volunteer.contact_id)
            if contact is not None and language in LANGUAGES:
                contact.language = language
                session.add(contact)
    except (InvalidPhone, importer.StaffRequestError) as exc:
        typer.secho(f"Not registered: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"volunteer {log_phone(phone)} registered for {municipality}")


@volunteers_app.command("list")
def volunteers_list() -> None:
    """Registered volunteers (numbers masked)."""
    settings = load_settings()
    ctx = build_context(settings)
    with session_scope(get_engine(settings.database_url)) as session:
        for volunteer, contact in session.exec(
            select(Volunteer, Contact).where(Volunteer.contact_id == Contact.id).order_by(Volunteer.municipality_code)
        ):
            state = "active" if volunteer.active else "inactive"
            phone = mask_phone(ctx.vault.decrypt(contact.phone_encrypted))
            typer.echo(f"{volunteer.municipality_code:<16} {phone:<18} {volunteer.name:<24} {state}")
