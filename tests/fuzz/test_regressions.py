"""The 500s the fuzzing found, kept as plain tests so they cannot come back unnoticed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.context import Context
from hotline.main import create_app
from hotline.models import Jurisdiction, LoginFailure, Role, parse_int, utcnow
from hotline.reminders.importer import check_row
from tests.factories import post_form
from tests.staff_pages import log_in, make_complaint, make_staff
from tests.voice.phone import Phone

# str.isdigit() accepts these, int() refuses them: every "is it a number?" check must use isdecimal().
NOT_NUMBERS = ["²", "①", "12³"]


@pytest.fixture
def supervisor(settings: Settings, session: Session) -> Iterator[TestClient]:
    """A logged-in oblast supervisor (who may open the audit log, the queue and the dashboard), CSRF token set."""
    make_staff(session, "oblast.super", Role.SUPERVISOR, Jurisdiction.OBLAST, "batken")
    with TestClient(create_app(settings), base_url=settings.public_url) as client:
        client.headers["X-CSRF-Token"] = log_in(client, "oblast.super")
        yield client


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_superscripts_and_circled_digits_are_not_numbers(text: str) -> None:
    assert parse_int(text) is None
    assert parse_int("١٢") == 12  # digits of other scripts are numbers to int(), and so to us


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_voice_webhooks_answer_odd_digits_without_a_500(client: TestClient, settings: Settings, text: str) -> None:
    phone = Phone(client, settings)
    phone.post(f"{settings.public_url}/twilio/voice")
    phone.post(f"{settings.public_url}/twilio/voice/step?{urlencode({'n': 'main', 's': text, 't': text})}", Digits=text)
    status = post_form(client, settings, phone.form(CallStatus="completed", CallDuration=text), "/twilio/voice/status")
    assert status.status_code == 204
    recording = phone.form(RecordingSid="RE" + "0" * 32, RecordingStatus="completed", RecordingDuration=text)
    assert post_form(client, settings, recording, "/twilio/voice/recording").status_code == 204


@pytest.mark.parametrize(
    "query",
    [
        "/admin/audit?from=0001-01-01",
        "/admin/audit.csv?to=9999-12-31",
        "/admin/dashboard?from=0001-01-05",
        "/admin/dashboard?to=0001-01-05",
        "/admin/dashboard?to=9999-12-31",
    ],
)
def test_days_at_the_ends_of_the_calendar_are_refused_not_a_500(supervisor: TestClient, query: str) -> None:
    assert supervisor.get(query, headers={"accept": "text/html"}).status_code == 422


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_admin_filters_with_odd_digits(supervisor: TestClient, text: str) -> None:
    assert supervisor.get("/admin/queue", params={"assignee": text}).status_code == 200
    assert supervisor.get("/admin/audit", params={"user": text}).status_code == 200


@pytest.mark.parametrize("hour", [*NOT_NUMBERS, "1" * 5000])
def test_an_import_row_with_an_odd_hour_is_a_problem_not_a_crash(hour: str) -> None:
    row = {"phone": "0555123456", "kind": "child", "date": "01.02.2026", "send_hour": hour, "consent": "да"}
    _, problems = check_row(row, 2, date(2026, 11, 23))
    assert [problem.key for problem in problems] == ["refused.import_hour"]


@pytest.mark.parametrize("menu", ["benefits", "district"])
def test_keys_past_int_conversion_limit_are_a_wrong_key_not_a_500(
    client: TestClient, settings: Settings, menu: str
) -> None:
    # int() refuses strings of more than 4,300 digits; a forged or broken Digits field can be any length.
    phone = Phone(client, settings)
    phone.post(f"{settings.public_url}/twilio/voice")
    phone.post(f"{settings.public_url}/twilio/voice/step?{urlencode({'n': menu, 'l': 'ru'})}", Digits="1" * 5000)


BEYOND_INTEGER = 2**31  # ids are INTEGER columns: PostgreSQL refused the comparison with a 500


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", f"/admin/complaints/{BEYOND_INTEGER}"),
        ("GET", f"/admin/complaints/{BEYOND_INTEGER}/recording"),
        ("POST", f"/admin/complaints/{BEYOND_INTEGER}/escalate"),
        ("POST", f"/admin/households/enrolments/{BEYOND_INTEGER}"),
        ("GET", f"/admin/queue/new?after={BEYOND_INTEGER}"),
        ("GET", f"/admin/complaints/{10**30}"),  # past SQLite's 64-bit integers too
    ],
)
def test_ids_past_an_integer_column_are_refused_not_a_500(supervisor: TestClient, method: str, url: str) -> None:
    assert supervisor.request(method, url, headers={"accept": "text/html"}).status_code == 422


@pytest.mark.parametrize("number", [str(BEYOND_INTEGER), "9" * 12])
def test_filters_naming_ids_past_an_integer_column(supervisor: TestClient, number: str) -> None:
    assert supervisor.get("/admin/queue", params={"assignee": number}).status_code == 200
    assert supervisor.get("/admin/audit", params={"user": number}).status_code == 200


NUL = "a\x00b"  # PostgreSQL can neither store nor compare it: each of these was a 500 there


def test_a_nul_reaches_any_database_as_a_replacement_character(session: Session) -> None:
    session.add(LoginFailure(key=NUL, at=utcnow()))
    session.commit()
    found = session.exec(select(LoginFailure).where(LoginFailure.key == NUL)).one()  # compared alike
    assert found.key == "a\ufffdb"


@pytest.mark.parametrize(
    ("username", "posts", "pages"),
    [
        (
            "oblast.super",
            [("/complaints/{id}/answer", {"text": NUL}), ("/complaints/{id}/note", {"note": NUL})],
            ["/queue?status=a%00b&category=a%00b&municipality=a%00b&q=a%00b", "/audit?action=a%00b&reference=a%00b"],
        ),
        ("admin", [("/users", {"username": "new.user", "password": "correct horse battery", "display_name": NUL})], []),
        ("admin", [("/login", {"username": NUL, "password": NUL})], []),
    ],
)
def test_nul_in_admin_forms_and_filters_is_not_a_500(
    settings: Settings,
    session: Session,
    ctx: Context,
    username: str,
    posts: list[tuple[str, dict[str, str]]],
    pages: list[str],
) -> None:
    make_staff(session, username, Role.ADMIN if username == "admin" else Role.SUPERVISOR, Jurisdiction.OBLAST, "batken")
    complaint = make_complaint(session, ctx, "Взятка")
    with TestClient(create_app(settings), base_url=settings.public_url) as client:
        token = log_in(client, username)
        for path, form in posts:
            fields = {"role": "officer", "level": "municipality", "area_code": "dara", **form, "csrf_token": token}
            response = client.post(f"/admin{path}".format(id=complaint.id), data=fields, follow_redirects=False)
            assert response.status_code < 500, path
        for page in pages:
            assert client.get(f"/admin{page}").status_code == 200, page
