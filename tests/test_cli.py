"""The `hotline` command as operators and field staff use it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings, get_settings
from hotline.context import build_context
from hotline.messaging import outbox
from hotline.models import Contact, InboundMessage, OutboundMessage, Purpose, StaffUser, utcnow
from hotline.staff.auth import PASSWORDS

runner = CliRunner()


def test_sms_goes_through_the_signed_webhook_and_prints_the_reply(env: Settings, engine: Engine) -> None:
    result = runner.invoke(app, ["sms", "--from", "0555 123 456", "ПОСОБИЕ"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Пособия: 1 ")
    result = runner.invoke(app, ["sms", "--from", "0555 123 456", "1"])
    assert "1 200 сом/мес" in result.stdout
    with Session(engine) as session:
        assert len(session.exec(select(InboundMessage)).all()) == 2


def test_sms_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ENV", "production")
    monkeypatch.delenv("HOTLINE_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    result = runner.invoke(app, ["sms", "HELP"])
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert "HOTLINE_SECRET_KEY" in result.output


def test_migrate_reports_an_up_to_date_database(env: Settings) -> None:
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout


def test_keys_generate_prints_a_usable_key() -> None:
    result = runner.invoke(app, ["keys", "generate"])
    Fernet(result.stdout.strip())  # raises if not a key


def test_keys_rotate_moves_every_number_to_the_new_key(
    env: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.invoke(app, ["sms", "--from", "+996555123456", "HELP"])
    with Session(engine) as session:  # an answer still waiting in the outbox when the key changes
        contact = session.exec(select(Contact)).one()
        outbox.enqueue(session, build_context(env), contact=contact, text="Жооп", purpose=Purpose.REPLY, key="k:1")
        session.commit()
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("HOTLINE_ENCRYPTION_KEYS", f"{new_key},{env.encryption_keys}")
    get_settings.cache_clear()
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 contacts, 1 messages and 1 outbox entries" in result.stdout
    # The old key can now be retired: the new key alone reads everything.
    only_new = build_context(env.model_copy(update={"encryption_keys": new_key}))
    with Session(engine) as session:
        contact = session.exec(select(Contact)).one()
        assert only_new.vault.decrypt(contact.phone_encrypted) == "+996555123456"
        assert only_new.vault.decrypt(session.exec(select(InboundMessage)).one().receiver_encrypted)
        queued = session.exec(select(OutboundMessage)).one()
        assert only_new.vault.decrypt(queued.recipient_encrypted) == "+996555123456"


def test_serve_is_the_entry_point_make_run_uses() -> None:
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    assert "hotline serve" in makefile
    assert runner.invoke(app, ["serve", "--help"]).exit_code == 0


def test_complaints_list_and_show_for_operators(env: Settings) -> None:
    for text in ("HELP", "COMPLAINT akim wanted money", "1", "Dara", "ANON not paid", "0"):
        assert runner.invoke(app, ["sms", "--from", "+996555123456", text]).exit_code == 0
    listing = runner.invoke(app, ["complaints", "list"])
    assert listing.exit_code == 0, listing.output
    # Newest first; an anonymous complaint's time is its day (so it sorts as filed at the day's start).
    lines = listing.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "bribe" in lines[0] and "district:dara" in lines[0] and "anonymous" in lines[1]
    reference = lines[0].split()[0]
    shown = runner.invoke(app, ["complaints", "show", reference])
    assert shown.exit_code == 0, shown.output
    assert "akim wanted money" in shown.stdout
    assert "+996 55• ••• •56" in shown.stdout and "555123456" not in shown.stdout
    assert "routed: category bribe" in shown.stdout and "created" in shown.stdout
    anonymous = runner.invoke(app, ["complaints", "show", lines[1].split()[0]])
    assert "From: anonymous" in anonymous.stdout
    assert runner.invoke(app, ["complaints", "show", "00000000"]).exit_code == 1


def test_outbox_commands(env: Settings, engine: Engine) -> None:
    assert runner.invoke(app, ["outbox", "status"]).stdout.strip() == "outbox is empty"
    ctx = build_context(env)
    with Session(engine) as session:
        contact = Contact(phone_hash="c" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ru")
        session.add(contact)
        session.flush()
        for key in ("a", "b"):
            outbox.enqueue(
                session,
                ctx,
                contact=contact,
                text=key,
                purpose=Purpose.REMINDER,
                key=key,
                not_before=utcnow() + timedelta(hours=1),
            )
        session.commit()
    assert runner.invoke(app, ["outbox", "cancel", "a"]).stdout.strip() == "cancelled a"
    assert runner.invoke(app, ["outbox", "cancel", "a"]).exit_code == 1
    assert runner.invoke(app, ["outbox", "status"]).stdout.split() == ["cancelled", "1", "pending", "1"]
    assert "1 messages will be retried now" in runner.invoke(app, ["outbox", "retry"]).stdout


def test_user_create_makes_the_first_admin_who_can_log_in(env: Settings, engine: Engine) -> None:
    result = runner.invoke(
        app, ["user", "create", "root", "--role", "admin", "--password-stdin"], input="a long admin password\n"
    )
    assert result.exit_code == 0, result.output
    assert "created admin root" in result.output
    with Session(engine) as session:
        user = session.exec(select(StaffUser).where(StaffUser.username == "root")).one()
        assert PASSWORDS.verify(user.password_hash, "a long admin password")
    again = runner.invoke(app, ["user", "create", "root", "--role", "admin", "--password-stdin"], input="x" * 12 + "\n")
    assert again.exit_code == 2 and "is taken" in again.output
    weak = runner.invoke(
        app, ["user", "create", "weak", "--role", "officer", "--area", "dara", "--password-stdin"], input="short\n"
    )
    assert weak.exit_code == 2 and "at least 10" in weak.output
    listed = runner.invoke(app, ["user", "list"])
    assert "root" in listed.output and "weak" not in listed.output


def test_volunteers_add_and_list_without_showing_the_number(env: Settings, engine: Engine) -> None:
    added = runner.invoke(app, ["volunteers", "add", "0700 111 222", "--municipality", "dara", "--name", "Айгуль"])
    assert added.exit_code == 0, added.output
    assert "registered for dara" in added.output and "700111222" not in added.output
    listed = runner.invoke(app, ["volunteers", "list"])
    assert "dara" in listed.output and "Айгуль" in listed.output and "+996 70• ••• •22" in listed.output
    wrong = runner.invoke(app, ["volunteers", "add", "0700 111 222", "--municipality", "nowhere"])
    assert wrong.exit_code == 2 and "unknown municipality" in wrong.output


def test_python_m_hotline_cli_knows_every_command_group(env: Settings) -> None:
    # `python -m hotline.cli user list` answered "No such command" while `__main__` ran before the groups existed.
    import os
    import subprocess
    import sys

    helped = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "--help"], capture_output=True, text=True, env=os.environ, check=True
    )
    groups = ("complaints", "erase", "households", "keys", "migrate", "outbox", "scheduler", "serve", "sms", "user")
    assert all(group in helped.stdout for group in (*groups, "voice", "volunteers")), helped.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "user", "list"], capture_output=True, text=True, env=os.environ
    )
    assert listed.returncode == 0 and "No such command" not in listed.stderr, listed.stderr


ROOT = Path(__file__).resolve().parent.parent


def _checkout_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A developer's shell in this checkout: no HOTLINE_* settings but a throwaway database and secrets file."""
    import os

    shell = {name: value for name, value in os.environ.items() if not name.startswith("HOTLINE_")}
    shell |= {
        "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'hotline.db'}",
        "HOTLINE_DEV_SECRETS_FILE": str(tmp_path / "dev-secrets.json"),
        "HOTLINE_VOICE_AUDIO_DIR": str(tmp_path / "voice"),
    }
    return shell | extra


def _readme_commands() -> list[list[str]]:
    """Every `.venv/bin/hotline …` line of the README's shell blocks, as a shell would split it."""
    import re
    import shlex

    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    lines = [line for block in blocks for line in block.splitlines() if line.startswith(".venv/bin/hotline ")]
    return [shlex.split(line, comments=True) for line in lines]


def test_the_readme_commands_work_as_written_after_make_run(tmp_path: Path) -> None:
    import subprocess

    shell = _checkout_env(tmp_path)
    # What `make run` does first (HOTLINE_ENV=development hotline migrate): the checkout's development secrets.
    subprocess.run([".venv/bin/hotline", "migrate"], cwd=ROOT, env=shell | {"HOTLINE_ENV": "development"}, check=True)
    commands = _readme_commands()
    assert len(commands) >= 5, commands
    for command in commands:
        if "--url" in command:
            continue  # needs the running server; the same path in-process is the line before
        stdin = None
        if command[1:3] == ["user", "create"]:
            command, stdin = [*command, "--password-stdin"], "a long enough password\n"  # the prompt, scripted
        ran = subprocess.run(command, cwd=ROOT, env=shell, input=stdin, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, (command, ran.stdout, ran.stderr)
        assert ran.stdout.strip(), command
        assert ran.stderr == "", (command, ran.stderr)  # no Alembic INFO lines, no warnings


def test_migrate_is_quiet_unless_verbose(tmp_path: Path) -> None:
    import subprocess

    shell = _checkout_env(tmp_path, HOTLINE_ENV="development")
    subprocess.run([".venv/bin/hotline", "migrate"], cwd=ROOT, env=shell, check=True)  # `make run` made the secrets
    quiet = subprocess.run([".venv/bin/hotline", "migrate"], cwd=ROOT, env=shell, capture_output=True, text=True)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "database is up to date\n", "")
    told = subprocess.run(
        [".venv/bin/hotline", "migrate", "--verbose"], cwd=ROOT, env=shell, capture_output=True, text=True
    )
    assert told.returncode == 0 and "alembic" in told.stderr


def test_an_environment_with_secrets_never_becomes_development(tmp_path: Path) -> None:
    import subprocess

    shell = _checkout_env(tmp_path)
    subprocess.run([".venv/bin/hotline", "migrate"], cwd=ROOT, env=shell | {"HOTLINE_ENV": "development"}, check=True)
    # A server's environment (a secret set, HOTLINE_ENV forgotten) stays production and names what is missing.
    deployed = shell | {"HOTLINE_SECRET_KEY": "k" * 40}
    ran = subprocess.run([".venv/bin/hotline", "user", "list"], cwd=ROOT, env=deployed, capture_output=True, text=True)
    assert ran.returncode == 2 and "HOTLINE_ENCRYPTION_KEYS" in ran.stderr
    production = shell | {"HOTLINE_ENV": "production"}
    ran = subprocess.run(
        [".venv/bin/hotline", "user", "list"], cwd=ROOT, env=production, capture_output=True, text=True
    )
    assert ran.returncode == 2 and "Configuration error" in ran.stderr


def test_a_checkout_is_development_only_in_its_own_virtualenv_after_make_run(tmp_path: Path) -> None:
    from hotline.config import development_checkout

    (tmp_path / ".venv").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    secrets_file = tmp_path / "var" / "dev-secrets.json"
    venv = str(tmp_path / ".venv")
    assert not development_checkout({}, prefix=venv, root=tmp_path)  # before `make run`: no development secrets
    secrets_file.parent.mkdir()
    secrets_file.write_text("{}")
    assert development_checkout({}, prefix=venv, root=tmp_path)
    assert not development_checkout({}, prefix="/opt/hotline/venv", root=tmp_path)  # an installed package
    assert not development_checkout({"HOTLINE_ENV": "production"}, prefix=venv, root=tmp_path)
    assert not development_checkout({"HOTLINE_LOOKUP_KEY": "x" * 32}, prefix=venv, root=tmp_path)
    (tmp_path / "pyproject.toml").unlink()
    assert not development_checkout({}, prefix=venv, root=tmp_path)
