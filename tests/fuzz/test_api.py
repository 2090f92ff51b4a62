"""Schemathesis over every route of the app's own OpenAPI schema, in-process: no case may get a 5xx.

Each operation runs twice: as a stranger (no session, no signature), and with credentials, so the handlers' logic
is reached, not only the login redirect or the 403: admin pages with a logged-in session of a role that may open
them and the session's CSRF token, Twilio webhooks with a valid X-Twilio-Signature over the generated form.
Twilio's form fields are not in the app's schema (the handlers read the raw form to check its signature first), so
they are added here as Twilio documents them."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.checks import not_a_server_error
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from hotline.config import Settings
from hotline.context import build_context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.main import create_app
from hotline.models import EnrolmentKind, HealthAlert, Jurisdiction, Role, utcnow
from hotline.reminders.service import enrol, household_of
from hotline.webhooks import MAX_FIELDS, sign
from tests.factories import converse
from tests.fuzz.strategies import fuzz_settings
from tests.staff_pages import PASSWORD, csrf_from, make_complaint, make_staff
from tests.support import make_settings

ApiCase = schemathesis.Case[Any]
SID = {"type": "string", "pattern": "^[A-Z]{2}[0-9a-f]{32}$"}
PHONE = {"type": "string", "pattern": "^[+]?[0-9]{9,15}$"}
TEXT = {"type": "string"}
ACCOUNT = {"enum": ["AC" + "1" * 32]}  # the account of tests.support.make_settings: another one is refused (403)
# The fields Twilio posts to each webhook (https://www.twilio.com/docs/messaging/guides/webhook-request,
# .../voice/twiml#request-parameters), AccountSid in every one. Positive cases look like Twilio's; negative ones
# break every constraint.
TWILIO_FORMS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "/twilio/sms": (
        {"AccountSid": ACCOUNT, "MessageSid": SID, "From": PHONE, "To": PHONE, "Body": TEXT},
        ["AccountSid", "MessageSid", "From", "To"],
    ),
    "/twilio/status": (
        {
            "AccountSid": ACCOUNT,
            "MessageSid": SID,
            "MessageStatus": {"enum": ["queued", "sent", "delivered", "undelivered", "failed", "read"]},
            "ErrorCode": TEXT,
        },
        ["AccountSid", "MessageSid", "MessageStatus"],
    ),
}
_VOICE = {
    "AccountSid": ACCOUNT,
    "CallSid": SID,
    "From": PHONE,
    "To": PHONE,
    "Direction": {"enum": ["inbound", "outbound-api"]},
    "Digits": {"type": "string", "pattern": "^[0-9*#]{0,9}$"},
    "CallStatus": {"enum": ["queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer"]},
    "CallDuration": TEXT,
    "RecordingSid": SID,
    "RecordingUrl": TEXT,
    "RecordingDuration": TEXT,
    "RecordingStatus": {"enum": ["completed", "failed", "absent"]},
}
for _path in ("/twilio/voice", "/twilio/voice/step", "/twilio/voice/recording", "/twilio/voice/status"):
    TWILIO_FORMS[_path] = (_VOICE, ["AccountSid", "CallSid", "From", "To", "CallStatus"])

# The role that may open each part of the admin; everything else is a supervisor's (who sees the whole oblast).
ROLES = [
    ("/admin/users", Role.ADMIN),
    ("/admin/reference", Role.ADMIN),
    ("/admin/content", Role.ADMIN),
    ("/admin/health", Role.HEALTH),
    ("/admin/enrol", Role.HEALTH),
    ("/admin/households", Role.HEALTH),
]
# Ids in paths: half the cases name a row that exists, so the handler gets past its 404.
ID_PARAMETERS = {"complaint_id": "complaints", "user_id": "users", "alert_id": "alerts", "enrolment_id": "enrolments"}


def with_twilio_forms(raw: dict[str, Any]) -> dict[str, Any]:
    """The app's schema with Twilio's form fields described on each webhook."""
    raw = copy.deepcopy(raw)
    for path, (properties, required) in TWILIO_FORMS.items():
        body = {"type": "object", "properties": properties, "required": required, "additionalProperties": TEXT}
        raw["paths"][path]["post"]["requestBody"] = {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": body}},
        }
    return raw


@dataclass
class Login:
    """A logged-in admin session: its cookie and CSRF token."""

    cookie: str
    csrf: str


@dataclass
class World:
    """What the fuzzed requests can reach: the app, sessions per role, the ids of existing rows."""

    app: FastAPI
    settings: Settings
    logins: dict[Role, Login]
    ids: dict[str, list[int]]
    fuzzers: set[int]  # accounts whose sessions the fuzzing uses: never deactivated or given a new password


def log_in(app: FastAPI, settings: Settings, username: str, page: str) -> Login:
    """Log in through the form, as a browser does."""
    client = TestClient(app, base_url=settings.public_url)
    form = {"username": username, "password": PASSWORD, "csrf_token": csrf_from(client.get("/admin/login").text)}
    assert client.post("/admin/login", data=form, follow_redirects=False).status_code == 303
    csrf = csrf_from(client.get(page).text)
    return Login(client.cookies["hotline_session"], csrf)


def _schema(config: dict[str, Any]) -> schemathesis.BaseSchema:
    # The schema does not depend on the database: an app on one it never opens describes every route.
    tmp = Path(tempfile.gettempdir())
    app = create_app(make_settings(f"sqlite:///{tmp}/never-opened.db", tmp, simulator=True, migrate_on_start=False))
    loaded = schemathesis.openapi.from_dict(
        with_twilio_forms(app.openapi()), config=schemathesis.Config.from_dict(config)
    )
    loaded.app = app
    return loaded


# With credentials: schemathesis' coverage phase (boundary values, missing and wrong-typed parameters, other
# methods), then generated cases. A stranger only meets the login redirect or the 403: a few cases are enough.
schema = _schema({"phases": {"coverage": {"unexpected-methods": []}}})
stranger_schema = _schema({"phases": {"coverage": {"enabled": False}}})


@pytest.fixture(scope="module")
def clean_tables(engine: Engine) -> Iterator[None]:
    """One world for every operation here (logins are slow by design): tables emptied after the module."""
    yield
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(scope="module")
def world(settings: Settings, engine: Engine, clean_tables: None) -> World:
    """Staff of each role, logged in; complaints (named and anonymous), a danger-sign alert and an enrolment."""
    app = create_app(settings.model_copy(update={"simulator": True, "migrate_on_start": False}))
    ctx = build_context(settings)
    now = utcnow()
    with Session(engine) as session:
        fuzzers = {
            Role.SUPERVISOR: make_staff(session, "fuzz.super", Role.SUPERVISOR, Jurisdiction.OBLAST, "batken"),
            Role.ADMIN: make_staff(session, "fuzz.admin", Role.ADMIN, Jurisdiction.OBLAST, "batken"),
            Role.HEALTH: make_staff(session, "fuzz.health", Role.HEALTH, Jurisdiction.OBLAST, "batken"),
        }
        # Accounts the fuzzed user pages may deactivate or give new passwords.
        victims = [make_staff(session, f"victim{n}", Role.OFFICER, Jurisdiction.MUNICIPALITY, "dara") for n in (1, 2)]
        complaints = [
            make_complaint(session, ctx, "Взятка за справку", now=now),
            make_complaint(session, ctx, "Меня исключили", anonymous=True, phone="+996555000111", now=now),
        ]
        contact = get_or_create_contact(session, ctx, "+996555123456", now)
        contact.municipality_code = "dara"
        session.commit()
        converse(session, ctx, "у ребенка судороги и жар")  # a danger-sign alert for the health staff
        household = household_of(session, contact, now, "sms", "dara")
        enrolment = enrol(session, household, EnrolmentKind.CHILD, now, date.today(), birth_date=date.today())
        session.commit()
        ids = {
            "complaints": [c.id for c in complaints if c.id is not None],
            "users": [v.id for v in victims if v.id is not None],
            "alerts": [a.id for a in session.exec(select(HealthAlert)).all() if a.id is not None],
            "enrolments": [enrolment.id] if enrolment.id is not None else [],
        }
        fuzzer_ids = {user.id for user in fuzzers.values() if user.id is not None}
        usernames = {role: user.username for role, user in fuzzers.items()}
    assert all(ids.values()), ids
    pages = {Role.SUPERVISOR: "/admin/queue", Role.ADMIN: "/admin/users", Role.HEALTH: "/admin/health"}
    logins = {role: log_in(app, settings, name, pages[role]) for role, name in usernames.items()}
    return World(app, settings, logins, ids, fuzzer_ids)


def role_for(path: str) -> Role:
    return next((role for prefix, role in ROLES if path.startswith(prefix)), Role.SUPERVISOR)


def point_at_existing_rows(case: ApiCase, world: World) -> None:
    """Even ids become ids of rows that exist; the fuzzers' own accounts are never the target."""
    parameters = case.path_parameters or {}
    for name, kind in ID_PARAMETERS.items():
        value = parameters.get(name)
        if not isinstance(value, int):
            continue
        if value % 2 == 0 or (kind == "users" and value in world.fuzzers):
            rows = world.ids[kind]
            parameters[name] = rows[(value // 2) % len(rows)]


def twilio_signature(case: ApiCase, settings: Settings) -> str:
    """X-Twilio-Signature over the form exactly as it will be sent, as Twilio computes it."""
    kwargs = case.as_transport_kwargs(base_url=settings.public_url)
    wanted = ("method", "url", "headers", "params", "data", "json", "files", "cookies")
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in wanted}).prepare()
    body = prepared.body or b""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
        form = dict(parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS))
    except (UnicodeDecodeError, ValueError):
        form = {}  # refused before the signature is looked at
    url = urlsplit(prepared.url or "")
    signed_url = settings.public_url.rstrip("/") + url.path + (f"?{url.query}" if url.query else "")
    return sign(settings, signed_url, form)


def credentials(case: ApiCase, world: World) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and cookies that get the case past authentication: a signature, or a session and its token."""
    path = case.operation.path
    if path.startswith("/twilio/"):
        return {"X-Twilio-Signature": twilio_signature(case, world.settings)}, {}
    if not path.startswith("/admin"):
        return {}, {}
    login = world.logins[role_for(path)]
    if isinstance(case.body, dict) and "csrf_token" in case.body:
        case.body["csrf_token"] = login.csrf
    return {"X-CSRF-Token": login.csrf}, {"hotline_session": login.cookie}


@schema.parametrize()
@fuzz_settings(10)
def test_every_route_with_credentials(case: ApiCase, world: World) -> None:
    point_at_existing_rows(case, world)
    headers, cookies = credentials(case, world)
    response = case.call(base_url=world.settings.public_url, headers=headers, cookies=cookies, app=world.app)
    case.validate_response(response, checks=[not_a_server_error])


@stranger_schema.parametrize()
@fuzz_settings(3)
def test_every_route_as_a_stranger(case: ApiCase, world: World) -> None:
    point_at_existing_rows(case, world)
    response = case.call(base_url=world.settings.public_url, app=world.app)
    case.validate_response(response, checks=[not_a_server_error])
