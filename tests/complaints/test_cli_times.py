"""Issue 19, point 14: `hotline complaints` shows times in the hotline's time zone, as the admin page does."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.context import build_context
from tests.staff_pages import make_complaint


def test_complaint_times_are_local(env: Settings, session: Session) -> None:
    filed = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)  # 02:30 the next day in Bishkek (UTC+6)
    complaint = make_complaint(session, build_context(env), "Пособие не выплатили", now=filed)
    listing = CliRunner().invoke(app, ["complaints", "list"])
    assert listing.exit_code == 0, listing.output
    assert f"{complaint.reference}  2026-03-02 02:30" in listing.stdout
    shown = CliRunner().invoke(app, ["complaints", "show", complaint.reference]).stdout
    assert "2026-03-02 02:30" in shown and "2026-03-01 20:30" not in shown
