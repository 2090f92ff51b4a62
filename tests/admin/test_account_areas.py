"""Issue 19, point 12: an account's area is required and checked, by its code or its name, with the valid choices
named; the oblast is given only when chosen."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.models import Jurisdiction, StaffUser
from tests.staff_pages import log_in

runner = CliRunner()
Web = Callable[[], TestClient]


def _create(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["user", "create", *args, "--password-stdin"], input="a long enough password\n")
    return result.exit_code, result.output


def test_cli_officer_needs_an_area_named_by_code_or_name(env: Settings, engine: Engine) -> None:
    code, output = _create("aigul", "--role", "officer")
    assert code == 2 and "choose the account's area" in output and "dara (Дара)" in output
    code, output = _create("aigul", "--role", "officer", "--area", "karabok")
    assert code == 2 and "unknown oblast" not in output and "did you mean kara-bak (Кара-Бак)" in output
    code, output = _create("aigul", "--role", "officer", "--area", "nowhere-at-all")
    assert code == 2 and "choose one of" in output and "batken-rayon (Баткенский район)" in output
    code, output = _create("aigul", "--role", "officer", "--area", "dara", "--level", "district")
    assert code == 2 and "dara is not a district code" in output
    code, output = _create("aigul", "--role", "officer", "--area", "Кара-Бак")
    assert code == 0, output
    code, output = _create("aigul2", "--role", "officer", "--area", "karabak")  # the name, hyphen left out
    assert code == 0 and "kara-bak" in output, output
    code, output = _create("super", "--role", "supervisor", "--area", "batken")
    assert code == 0, output
    with Session(engine) as session:
        aigul = session.exec(select(StaffUser).where(StaffUser.username == "aigul")).one()
        assert (aigul.level, aigul.area_code) == (Jurisdiction.MUNICIPALITY, "kara-bak")
        boss = session.exec(select(StaffUser).where(StaffUser.username == "super")).one()
        assert (boss.level, boss.area_code) == (Jurisdiction.OBLAST, "batken")
    listed = runner.invoke(app, ["user", "list"]).output
    assert "kara-bak (Кара-Бак)" in listed and "batken (Баткенская область)" in listed


def test_web_form_needs_an_area_and_takes_its_level_from_it(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    admin = web()
    token = log_in(admin, "admin")
    form = {"csrf_token": token, "username": "katran.officer", "password": "long enough pass", "role": "officer"}
    # What the form sent before an area was chosen: refused, saying what to choose, nothing created.
    refused = admin.post("/admin/users", data={**form, "area_code": ""}).text
    assert "choose the account&#39;s area" in refused and "katran (Катран)" in refused
    assert "unknown oblast" not in admin.post("/admin/users", data={**form, "area_code": "karabok"}).text
    assert "Saved" in admin.post("/admin/users", data={**form, "area_code": "katran"}).text
    created = session.exec(select(StaffUser).where(StaffUser.username == "katran.officer")).one()
    assert (created.level, created.area_code) == (Jurisdiction.MUNICIPALITY, "katran")
    page = admin.get("/admin/users").text
    assert "Katran" in page and "Batken oblast: the whole oblast" in page
