"""Staff accounts, complaints and logged-in browsers for the tests of the staff pages (registered as a plugin in
tests/conftest.py, so every test folder can use its fixtures)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hotline.complaints.service import file_complaint
from hotline.config import Settings
from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.main import create_app
from hotline.models import Complaint, Jurisdiction, Role, StaffUser, utcnow
from hotline.places import get_gazetteer
from hotline.staff.auth import create_user

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_staff(
    session: Session, username: str, role: Role, level: Jurisdiction, area: str, language: str = "en"
) -> StaffUser:
    """A committed staff account with the shared test password."""
    user = create_user(
        session, username=username, password=PASSWORD, role=role, level=level, area_code=area, ui_language=language
    )
    session.commit()
    session.refresh(user)
    return user


def make_complaint(
    session: Session,
    ctx: Context,
    text: str,
    *,
    municipality: str = "dara",
    phone: str = "+996555123456",
    anonymous: bool = False,
    now: datetime | None = None,
    language: str = "ru",
) -> Complaint:
    """A complaint filed through the same service the SMS flow uses, in a known municipality."""
    now = now or utcnow()
    contact = get_or_create_contact(session, ctx, phone, now)
    contact.language = language
    filed = file_complaint(
        session, ctx, contact=contact, text=text, anonymous=anonymous, place=get_gazetteer().get(municipality), now=now
    )
    session.commit()
    session.refresh(filed.complaint)
    return filed.complaint


def csrf_from(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form as a browser does; return the session's CSRF token."""
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/admin/queue" if "admin" not in username else "/admin/users").text)


@pytest.fixture
def web(settings: Settings) -> Iterator[Callable[[], TestClient]]:
    """A factory of HTTPS clients on one app (each has its own cookies, like separate browsers)."""
    app = create_app(settings)
    clients: list[TestClient] = []

    def new() -> TestClient:
        client = TestClient(app, base_url="https://hotline.example.org")
        client.__enter__()
        clients.append(client)
        return client

    yield new
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def staff(session: Session) -> dict[str, StaffUser]:
    """Officers of two municipalities and a district, a district and an oblast supervisor, an admin."""
    return {
        "dara": make_staff(session, "dara.officer", Role.OFFICER, Jurisdiction.MUNICIPALITY, "dara"),
        "kyshtut": make_staff(session, "kyshtut.officer", Role.OFFICER, Jurisdiction.MUNICIPALITY, "kyshtut"),
        "district": make_staff(session, "batken.officer", Role.OFFICER, Jurisdiction.DISTRICT, "batken-rayon"),
        "supervisor": make_staff(session, "batken.super", Role.SUPERVISOR, Jurisdiction.DISTRICT, "batken-rayon"),
        "oblast": make_staff(session, "oblast.super", Role.SUPERVISOR, Jurisdiction.OBLAST, "batken"),
        "admin": make_staff(session, "admin", Role.ADMIN, Jurisdiction.OBLAST, "batken"),
    }
