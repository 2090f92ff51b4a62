"""The `hotline` command: serve, migrate, send a test SMS, manage encryption keys."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer
import uvicorn
from cryptography.fernet import Fernet
from prometheus_client import start_http_server
from pydantic import ValidationError
from sqlmodel import select

from hotline import metrics
from hotline.complaints import service as complaint_service
from hotline.config import ConfigError, Settings, get_settings
from hotline.context import build_context
from hotline.db import get_engine, migrate, session_scope
from hotline.logs import configure_logging, logging_config
from hotline.messaging import outbox
from hotline.models import (
    Contact,
    InboundMessage,
    Jurisdiction,
    OutboundMessage,
    Role,
    StaffUser,
    Volunteer,
    utcnow,
)
from hotline.phones import InvalidPhone, log_phone, mask_phone, normalise_phone
from hotline.places import get_gazetteer
from hotline.privacy import erasure
from hotline.reminders import importer
from hotline.staff import auth
from hotline.voice import prompts

app = typer.Typer(help="Batken hotline: SMS and voice hotline for families.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys for phone numbers.", no_args_is_help=True)
outbox_app = typer.Typer(help="The outbound message queue.", no_args_is_help=True)
complaints_app = typer.Typer(help="Complaints, for operators without the admin page.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(complaints_app, name="complaints")
app.add_typer(outbox_app, name="outbox")
user_app = typer.Typer(help="Staff accounts of the admin page.", no_args_is_help=True)
households_app = typer.Typer(help="Households enrolled for reminders.", no_args_is_help=True)
volunteers_app = typer.Typer(help="Village health volunteers told of danger signs.", no_args_is_help=True)
app.add_typer(volunteers_app, name="volunteers")
app.add_typer(households_app, name="households")
app.add_typer(user_app, name="user")


def _settings() -> Settings:
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


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, envvar="HOTLINE_WEB_WORKERS", help="Web worker processes (each its own pool).")
    ] = 1,
) -> None:
    """Serve the webhooks, the simulator (development) and the probes."""
    settings = _settings()  # fail before uvicorn starts, with the setting's name
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
    channel: Annotated[
        str, typer.Option(help="The channel it comes in on: twilio, kannel or android (as that transport sends it).")
    ] = "twilio",
) -> None:
    """Send TEXT as the channel's transport would (signed, or with Kannel's secret) and print the reply."""
    from hotline.main import create_app
    from hotline.simulator.sms import WebhookRejected, send_sms

    settings = _settings()

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


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key (put it first in HOTLINE_ENCRYPTION_KEYS to rotate)."""
    typer.echo(Fernet.generate_key().decode())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored number with the newest key and recompute look-up hashes with the current key."""
    settings = _settings()
    ctx = build_context(settings)
    contacts = messages = outbound = 0
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
        # Queued messages carry their own copy of the number: rotate them too, or a message waiting at the time
        # of rotation could not be sent once the old key is retired.
        for queued in session.exec(select(OutboundMessage).where(OutboundMessage.recipient_encrypted != "")):
            queued.recipient_encrypted = ctx.vault.rotate(queued.recipient_encrypted)
            session.add(queued)
            outbound += 1
    typer.echo(
        f"re-encrypted {contacts} contacts, {messages} messages and {outbound} outbox entries with the newest key"
    )


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

    settings = _settings()
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


@outbox_app.command("status")
def outbox_status() -> None:
    """Count outbound messages by status."""
    settings = _settings()
    with session_scope(get_engine(settings.database_url)) as session:
        counts = outbox.counts_by_status(session)
    if not counts:
        typer.echo("outbox is empty")
    for status, count in sorted(counts.items()):
        typer.echo(f"{status:<12} {count}")


@outbox_app.command("retry")
def outbox_retry() -> None:
    """Make every message waiting for a retry due now (after an outage is over)."""
    settings = _settings()
    with session_scope(get_engine(settings.database_url)) as session:
        typer.echo(f"{outbox.retry_now(session, utcnow())} messages will be retried now")


@outbox_app.command("cancel")
def outbox_cancel(key: Annotated[str, typer.Argument(help="The message's idempotency key.")]) -> None:
    """Cancel one waiting message by its idempotency key."""
    settings = _settings()
    with session_scope(get_engine(settings.database_url)) as session:
        if not outbox.cancel_by_key(session, key, utcnow()):
            typer.secho(f"no waiting message with key {key}", fg="red", err=True)
            raise typer.Exit(1)
    typer.echo(f"cancelled {key}")


@complaints_app.command("list")
def complaints_list(
    status: Annotated[str | None, typer.Option(help="Only this status (new, investigating, ...).")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """List complaints, newest first: reference, date, status, category, where it is handled."""
    settings = _settings()
    with session_scope(get_engine(settings.database_url)) as session:
        rows = complaint_service.list_complaints(session, status=status, limit=limit)
        if not rows:
            typer.echo("no complaints")
        for c in rows:
            place = c.municipality_code or c.district_code or c.oblast_code
            anonymous = " anonymous" if c.anonymous else ""
            typer.echo(
                f"{c.reference}  {c.created_at:%Y-%m-%d %H:%M}  {c.status:<13} {c.category:<9} "
                f"{c.jurisdiction}:{place}{anonymous}  due {c.first_answer_due:%Y-%m-%d}"
            )


@complaints_app.command("show")
def complaints_show(reference: Annotated[str, typer.Argument(help="The 8-digit reference.")]) -> None:
    """Show one complaint: text, routing, deadlines, masked number, answers and audit trail."""
    settings = _settings()
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
            f"First answer due {complaint.first_answer_due:%Y-%m-%d}, resolution due "
            f"{complaint.resolution_due:%Y-%m-%d}"
        )
        typer.echo("")
        typer.echo(complaint.text)
        typer.echo("")
        for event in complaint_service.events_of(session, complaint):
            typer.echo(f"{event.at:%Y-%m-%d %H:%M}  {event.actor:<7} {event.kind}  {event.details}")


if __name__ == "__main__":
    sys.exit(app())


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name: a-z, 0-9, . _ -")],
    role: Annotated[Role, typer.Option(help="officer, supervisor or admin.")],
    area: Annotated[str, typer.Option(help="Area code from places.toml (an oblast, district or municipality).")] = "",
    level: Annotated[
        Jurisdiction | None, typer.Option(help="Level of the area; guessed from the code if left out.")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    language: Annotated[str, typer.Option(help="Interface language: ru, en or ky.")] = "ru",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input (scripts).")] = False,
) -> None:
    """Create a staff account (the first admin too). The password is asked for, never given on the command line."""
    settings = _settings()
    area = area or settings.default_oblast
    if level is None:
        place = get_gazetteer().get(area)
        level = (
            Jurisdiction.OBLAST
            if place is None
            else (Jurisdiction.DISTRICT if place.district is None else Jurisdiction.MUNICIPALITY)
        )
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    migrate(settings.database_url)
    try:
        with session_scope(get_engine(settings.database_url)) as session:
            user = auth.create_user(
                session,
                username=username,
                password=password,
                role=role,
                level=level,
                area_code=area,
                display_name=name,
                ui_language=language,
            )
            session.flush()
            typer.echo(f"created {user.role} {user.username} ({user.level} {user.area_code})")
    except auth.AccountError as exc:
        typer.secho(f"Not created: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


@user_app.command("list")
def user_list() -> None:
    """Every staff account with its role, area and state."""
    settings = _settings()
    with session_scope(get_engine(settings.database_url)) as session:
        for user in session.exec(select(StaffUser).order_by(StaffUser.username)):
            state = "active" if user.active else "inactive"
            typer.echo(f"{user.username:<20} {user.role:<11} {user.level:<13} {user.area_code:<16} {state}")


@households_app.command("import")
def households_import(
    file: Annotated[Path, typer.Argument(help="CSV: phone,kind,date,language,municipality,send_hour,consent")],
) -> None:
    """Enrol households from a CSV file: every row is checked first, and nothing is written if one is wrong."""
    settings = _settings()
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


@volunteers_app.command("add")
def volunteers_add(
    phone: Annotated[str, typer.Argument(help="The volunteer's mobile number.")],
    municipality: Annotated[str, typer.Option(help="Municipality code from places.toml.")],
    name: Annotated[str, typer.Option(help="Name, shown to staff.")] = "",
    language: Annotated[str, typer.Option(help="Language of the alerts: ky, ru, uz or en.")] = "ky",
) -> None:
    """Register a volunteer: each danger sign texted from the municipality is forwarded by SMS, day and night."""
    settings = _settings()
    ctx = build_context(settings)
    migrate(settings.database_url)
    try:
        phone = normalise_phone(phone)
        with session_scope(get_engine(settings.database_url)) as session:
            volunteer = importer.register_volunteer(session, ctx, phone, municipality, name, utcnow())
            contact = session.get(Contact, volunteer.contact_id)
            if contact is not None and language in ("ky", "ru", "uz", "en"):
                contact.language = language
                session.add(contact)
    except (InvalidPhone, importer.StaffRequestError) as exc:
        typer.secho(f"Not registered: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"volunteer {log_phone(phone)} registered for {municipality}")


@volunteers_app.command("list")
def volunteers_list() -> None:
    """Registered volunteers (numbers masked)."""
    settings = _settings()
    ctx = build_context(settings)
    with session_scope(get_engine(settings.database_url)) as session:
        for volunteer, contact in session.exec(
            select(Volunteer, Contact).where(Volunteer.contact_id == Contact.id).order_by(Volunteer.municipality_code)
        ):
            state = "active" if volunteer.active else "inactive"
            phone = mask_phone(ctx.vault.decrypt(contact.phone_encrypted))
            typer.echo(f"{volunteer.municipality_code:<16} {phone:<18} {volunteer.name:<24} {state}")


voice_app = typer.Typer(help="Audio prompts of the voice line.", no_args_is_help=True)
app.add_typer(voice_app, name="voice")


@voice_app.command("build")
def voice_build() -> None:
    """Render every voice prompt to audio with espeak-ng (only those whose text changed); a recorded file with
    the same name under HOTLINE_VOICE_RECORDED_DIR is played instead."""
    settings = _settings()
    ctx = build_context(settings)
    try:
        report = prompts.build_audio(
            ctx.texts, prompts.Prompts(ctx.catalogue, get_gazetteer()).every(), settings.voice_audio_dir
        )
    except RuntimeError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"{report.written} written, {report.unchanged} unchanged, {report.removed} removed "
        f"in {settings.voice_audio_dir}"
    )


@voice_app.command("check")
def voice_check() -> None:
    """List prompts without audio (played with <Say>, in Russian for ky and uz) and misnamed recordings."""
    settings = _settings()
    ctx = build_context(settings)
    library = prompts.AudioLibrary(settings.voice_audio_dir, settings.voice_recorded_dir)
    report = prompts.check_audio(library, prompts.Prompts(ctx.catalogue, get_gazetteer()).every())
    typer.echo(f"recorded {len(report.recorded)}, generated {len(report.generated)}, missing {len(report.missing)}")
    for language, key in report.missing:
        fallback = "<Say> in Russian" if language not in prompts.TWILIO_VOICES else "<Say>"
        typer.echo(f"missing  {language}/{key}  ({fallback})")
    for path in report.unknown_recordings:
        typer.echo(f"unused   {path}  (no prompt has this name: see `hotline voice check` names above)")
    if not report.ok:
        raise typer.Exit(1)


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
    settings = _settings()
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
