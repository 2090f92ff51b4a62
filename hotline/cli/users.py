"""`hotline user`: staff accounts of the admin page, from the server (the first admin; an operator's tool)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from sqlmodel import select

from hotline.cli.base import app, load_settings
from hotline.db import get_engine, migrate, session_scope
from hotline.models import (
    Jurisdiction,
    Role,
    StaffUser,
    utcnow,
)
from hotline.places import get_gazetteer
from hotline.staff import accounts, auth
from hotline.staff.audit import audit

user_app = typer.Typer(help="Staff accounts of the admin page.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name: a-z, 0-9, . _ -")],
    role: Annotated[Role, typer.Option(help="officer, supervisor, admin, health or content (docs/ADMIN.md).")],
    area: Annotated[
        str,
        typer.Option(
            help="Required (not for an admin): the area's code or name from places.toml, e.g. dara, Кара-Бак, "
            "batken-rayon; the oblast's code (batken) gives the whole oblast."
        ),
    ] = "",
    level: Annotated[
        Jurisdiction | None, typer.Option(help="Level of the area; follows from the area, checked if given.")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    language: Annotated[str, typer.Option(help="Interface language: ru, en or ky.")] = "ru",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input (scripts).")] = False,
) -> None:
    """Create a staff account (the first admin too). The password is asked for, never given on the command line.

    Whoever runs this holds the server, so no second person approves; it is audited as made on the server (with
    the system user's name), and a supervisor or admin made this way is told to the area's supervisors."""
    settings = load_settings()
    try:
        # An admin sees no complaints: its area is the oblast. Anyone else names an area, never assumed.
        area = area or (settings.default_oblast if role == Role.ADMIN else "")
        area_level, area_code = accounts.resolve_area(area, level)
    except auth.AccountError as exc:
        typer.secho(f"Not created: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    migrate(settings.database_url)
    try:
        with session_scope(get_engine(settings.database_url)) as session:
            user = accounts.create_on_server(
                session,
                utcnow(),
                _os_user(),
                username=username,
                password=password,
                role=role,
                level=area_level,
                area_code=area_code,
                display_name=name,
                ui_language=language,
            )
            area_name = get_gazetteer().area_name(user.area_code, "ru")
            typer.echo(f"created {user.role} {user.username} ({user.level} {user.area_code}: {area_name})")
    except auth.AccountError as exc:
        typer.secho(f"Not created: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


@user_app.command("list")
def user_list() -> None:
    """Every staff account with its role, area and state."""
    settings = load_settings()
    with session_scope(get_engine(settings.database_url)) as session:
        for user in session.exec(select(StaffUser).order_by(StaffUser.username)):
            state = "active" if user.active else "inactive"
            area = f"{user.area_code} ({get_gazetteer().area_name(user.area_code, 'ru')})"
            typer.echo(f"{user.username:<20} {user.role:<11} {user.level:<13} {area:<36} {state}")


@user_app.command("unlock")
def user_unlock(username: Annotated[str, typer.Argument(help="The login name whose failed logins to forget.")]) -> None:
    """Unlock a login locked by failed attempts (when no admin or supervisor of its area can), audited."""
    settings = load_settings()
    with session_scope(get_engine(settings.database_url)) as session:
        forgotten = auth.unlock_login(session, settings.secret_key, username)
        audit(session, None, "login_unlocked", utcnow(), via="cli", os_user=_os_user(), username=username.lower())
    typer.echo(f"unlocked {username} ({forgotten} failed logins forgotten)")


def _os_user() -> str:
    # Who ran the command on the server, for the audit log (the environment may not name one in a container).
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
