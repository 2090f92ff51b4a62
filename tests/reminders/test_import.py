"""Enrolment by staff: CSV import (checked whole, all or nothing, safe to repeat), the form, and the CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.context import Context
from hotline.models import Enrolment, Household, utcnow
from hotline.reminders import importer

TODAY = utcnow().date()
BORN = (TODAY - timedelta(days=100)).strftime("%d.%m.%Y")
DUE = (TODAY + timedelta(days=100)).strftime("%d.%m.%Y")
GOOD = (
    f"phone,kind,date,language,municipality,send_hour,consent\n0555 123 456,child,{BORN},ru,dara,9,yes\n"
    f"+996555000111,pregnancy,{DUE},ky,,,да\n+996555000222,pregnancy,5 месяц,uz,kyshtut,18,yes\n"
)


def counts(session: Session) -> tuple[int, int]:
    session.expire_all()
    return len(session.exec(select(Household)).all()), len(session.exec(select(Enrolment)).all())


def test_import_writes_everything_once_and_a_repeat_adds_nothing(session: Session, ctx: Context) -> None:
    for expected_new in (3, 0):
        rows = importer.check_all(importer.read_csv(GOOD.encode()), TODAY)
        result = importer.write_rows(session, ctx, rows, utcnow(), "import")
        session.commit()
        assert (result.rows, result.new_enrolments) == (3, expected_new)
    assert counts(session) == (3, 3)
    household = session.exec(select(Household).where(Household.municipality_code == "dara")).one()
    assert household.send_hour == 9 and household.consent_channel == "import"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"telephone,kind,date,consent\n0555123456,child,01.01.2026,yes\n", "missing column(s): phone"),
        (b"phone,kind,date,consent,extra\n", "unknown column(s): extra"),
        (f"phone,kind,date,consent\n0555123456,child,{BORN},yes\n".encode("cp1251"), None),
        ("phone,kind,date,consent\nабв,child,01.01.2026,yes\n".encode("cp1251"), "not UTF-8"),
        (b"phone,kind,date,consent\n12,child,01.01.2026,yes\n", "is not a phone number"),
        (b"phone,kind,date,consent\n0555123456,baby,01.01.2026,yes\n", "kind must be pregnancy or child"),
        (b"phone,kind,date,consent\n0555123456,child,31.02.2026,yes\n", "is not a date"),
        (f"phone,kind,date,consent\n0555123456,child,{DUE},yes\n".encode(), "in the future"),
        (b"phone,kind,date,consent\n0555123456,child,01.01.2019,yes\n", "5 or older"),
        (b"phone,kind,date,consent\n0555123456,pregnancy,12 month,yes\n", "1 to 9"),
        (b"phone,kind,date,consent\n0555123456,pregnancy,01.01.2040,yes\n", "more than 10 months"),
        (b"phone,kind,date,consent\n0555123456,child,01.01.2026,no\n", "consent must be yes"),
        (
            f"phone,kind,date,consent\n0555123456,child,{BORN},yes\n+996555123456,child,{BORN},yes\n".encode(),
            "line 3: the same enrolment as line 2",
        ),
        (b"phone,kind,date,consent\n", "no rows"),
    ],
)
def test_bad_files_are_refused_whole_with_the_line(
    session: Session, ctx: Context, content: bytes, message: str | None
) -> None:
    try:
        rows = importer.check_all(importer.read_csv(content), TODAY)
    except importer.ImportRejected as rejected:
        assert message is not None and any(message in str(e) for e in rejected.errors), rejected.errors
        assert counts(session) == (0, 0)
    else:
        assert message is None and rows  # plain ASCII saved as cp1251 is valid UTF-8 too


def test_cli_import_reports_lines_and_imports_nothing_on_error(session: Session, env: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "0555,child,xx,ru,,,yes\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["households", "import", str(bad)])
    assert result.exit_code == 2 and "line 5" in result.output and "Nothing was imported" in result.output
    assert counts(session) == (0, 0)
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(app, ["households", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 new households, 3 new enrolments, 0 already enrolled" in result.output


@pytest.mark.parametrize(("consent", "accepted"), [("Y", True), ("y", True), ("ooba", True), ("и", False)])
def test_consent_as_staff_write_it(consent: str, accepted: bool) -> None:
    """Staff's spreadsheets say Y for yes; a lone "и" ("and") is no consent."""
    rows = importer.read_csv(f"phone,kind,date,consent\n0555123456,child,{BORN},{consent}\n".encode())
    if accepted:
        assert len(importer.check_all(rows, TODAY)) == 1
    else:
        with pytest.raises(importer.ImportRejected, match="consent must be yes"):
            importer.check_all(rows, TODAY)
