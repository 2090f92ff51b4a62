"""Backup and restore as docs/DEPLOY.md §9 tells an operator to do them: pg_dump -Fc and pg_restore into a new
database on PostgreSQL, sqlite3's online backup on SQLite. The restored copy must hold every row, open with the
keys in use when it was taken (a complainant's number still decrypts, a staff member still logs in, the family's
STATUS still answers), and say plainly which key is missing when opened with other keys."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, select

from hotline.complaints import service as complaints
from hotline.config import Settings
from hotline.context import build_context
from hotline.db import get_engine, migrate
from hotline.models import Jurisdiction, Role
from hotline.phones import mask_phone
from hotline.staff.auth import authenticate
from tests.factories import PHONE, converse
from tests.privacy.builders import family
from tests.staff_pages import PASSWORD, make_staff
from tests.support import throwaway_database

WHEN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _libpq(url: str) -> str:
    """The URL pg_dump and pg_restore understand (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def restored_copy(source_url: str, folder: Path) -> Iterator[str]:
    """Back up the database at `source_url` the documented way and restore it into a new one; yields its URL."""
    if source_url.startswith("sqlite"):
        copy = folder / "restored.db"
        live = sqlite3.connect(make_url(source_url).database or "")
        target = sqlite3.connect(copy)
        try:
            live.backup(target)  # safe while the server writes: the form DEPLOY.md gives for inside the image
            assert target.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            target.close()
            live.close()
        yield f"sqlite:///{copy}"
        return
    dump = folder / "hotline.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), "-d", _libpq(source_url)], check=True, timeout=60)
    subprocess.run(["pg_restore", "--list", str(dump)], check=True, timeout=60, stdout=subprocess.DEVNULL)
    with throwaway_database(os.environ["HOTLINE_TEST_POSTGRES_URL"], folder, migrated=False) as target_url:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", _libpq(target_url), str(dump)],
            check=True,
            timeout=60,
        )
        yield target_url


def _row_counts(url: str) -> dict[str, int]:
    names = [t.name for t in SQLModel.metadata.sorted_tables] + ["alembic_version"]
    with get_engine(url).connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(text(name))).scalar_one() for name in names}


@pytest.mark.skipif(
    bool(os.environ.get("HOTLINE_TEST_POSTGRES_URL")) and shutil.which("pg_dump") is None,
    reason="pg_dump not installed (it comes with the postgresql-client package)",
)
def test_a_restored_backup_holds_everything_and_opens_with_the_keys_in_use(
    settings: Settings, session: Session, tmp_path: Path
) -> None:
    ctx = build_context(settings)
    complaint = family(session, ctx, WHEN)
    make_staff(session, "aigul", Role.OFFICER, Jurisdiction.MUNICIPALITY, "dara")
    before = _row_counts(settings.database_url)
    assert before["complaint"] == 1 and before["contact"] >= 2 and before["alembic_version"] == 1

    with restored_copy(settings.database_url, tmp_path) as restored_url:
        assert _row_counts(restored_url) == before
        migrate(restored_url)  # what an operator runs next: already at head, changes nothing
        assert _row_counts(restored_url) == before

        restored = settings.model_copy(update={"database_url": restored_url})
        restored_ctx = build_context(restored)
        with Session(get_engine(restored_url)) as copy:
            kept = complaints.by_reference(copy, complaint.reference)
            assert kept is not None and kept.text == "аким просил 2000 сом за справку"
            assert complaints.masked_phone(copy, restored_ctx, kept) == mask_phone(PHONE)  # the number decrypts
            user = authenticate(copy, restored.secret_key, "aigul", PASSWORD, "198.51.100.7", WHEN)
            assert user.username == "aigul"
            # The family asks about its complaint, and the copy answers as the original would.
            (reply,) = converse(copy, restored_ctx, f"СТАТУС {kept.reference}", PHONE, WHEN + timedelta(days=1))
            assert kept.reference in reply

            # Restored beside other keys (the env file was not kept with the dump): a clear error, no garbage.
            stranger = build_context(restored.model_copy(update={"encryption_keys": Fernet.generate_key().decode()}))
            with pytest.raises(ValueError, match="is the key that made it still in HOTLINE_ENCRYPTION_KEYS"):
                complaints.masked_phone(copy, stranger, kept)
