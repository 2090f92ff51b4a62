"""Staff logins: argon2 password hashes, throttled logins, server-side sessions named by a signed cookie, CSRF."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.models import Jurisdiction, LoginFailure, Role, StaffSession, StaffUser
from hotline.places import Gazetteer, get_gazetteer
from hotline.staff.audit import audit
from hotline.staff.i18n import Explained

PASSWORDS = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # argon2 takes any length; refuse a megabyte "password" before hashing it
LOGIN_WINDOW = timedelta(minutes=15)
MAX_LOGIN_FAILURES = 5  # per username and per client address within the window
SESSION_IDLE_SECONDS = 8 * 3600  # the signed cookie's own max age, renewed by each request
SESSION_IDLE = timedelta(seconds=SESSION_IDLE_SECONDS)  # the same limit on the server, where a copy cannot reset it
SESSION_ABSOLUTE = timedelta(hours=12)  # a working day; after that, log in again whatever the activity
SESSION_TOUCH = timedelta(minutes=1)  # last_seen_at is written at most this often (not on every request)
UI_LANGUAGES = ("ru", "en", "ky")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# A hash to verify against when the username does not exist, so both cases take the same time.
_DUMMY_HASH = PASSWORDS.hash(secrets.token_urlsafe(16))


class AccountError(Explained):
    """A staff account cannot be created or changed as asked; the message says why."""


class LoginRefused(Exception):
    """A login that did not succeed: wrong username or password, or too many failures."""

    def __init__(self, throttled: bool) -> None:
        super().__init__("throttled" if throttled else "invalid")
        self.throttled = throttled


def check_password_rules(password: str) -> None:
    """Refuse passwords too short to resist guessing, or absurdly long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password_short", min=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError("password_long", max=MAX_PASSWORD_LENGTH)


def check_area(role: Role, level: Jurisdiction, area_code: str, gazetteer: Gazetteer | None = None) -> None:
    """The area must exist at the level; supervisors watch a district or the oblast."""
    gazetteer = gazetteer or get_gazetteer()
    if role == Role.SUPERVISOR and level == Jurisdiction.MUNICIPALITY:
        raise AccountError("supervisor_area")
    if level == Jurisdiction.OBLAST:
        if area_code not in {p.oblast for p in gazetteer.places.values()}:
            raise AccountError("unknown_oblast", code=area_code)
        return
    place = gazetteer.get(area_code)
    is_district = place is not None and place.district is None
    if place is None or (level == Jurisdiction.DISTRICT) != is_district:
        raise AccountError("wrong_area", code=area_code, level=level.value)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    level: Jurisdiction,
    area_code: str,
    display_name: str = "",
    ui_language: str = "ru",
) -> StaffUser:
    """Create a staff account (the caller commits); AccountError names what is wrong."""
    user = new_account(
        username=username,
        password_hash=hash_password(password),
        role=role,
        level=level,
        area_code=area_code,
        display_name=display_name,
        ui_language=ui_language,
    )
    insert_account(session, user)
    return user


def new_account(
    *,
    username: str,
    password_hash: str,
    role: Role,
    level: Jurisdiction,
    area_code: str,
    display_name: str = "",
    ui_language: str = "ru",
) -> StaffUser:
    """A checked, unsaved account (a request keeps its fields until a second person approves)."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise AccountError("username")
    if role == Role.ADMIN:
        level = Jurisdiction.OBLAST
    check_area(role, level, area_code)
    if ui_language not in UI_LANGUAGES:
        raise AccountError("ui_language", languages=", ".join(UI_LANGUAGES))
    return StaffUser(
        username=username,
        display_name=display_name.strip()[:120] or username,
        password_hash=password_hash,
        role=role,
        level=level,
        area_code=area_code,
        ui_language=ui_language,
    )


def insert_account(session: Session, user: StaffUser) -> None:
    """Add an account; AccountError if its username is taken."""
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise AccountError("username_taken", username=user.username) from exc


def hash_password(password: str) -> str:
    """The argon2 hash of a password that passes the rules."""
    check_password_rules(password)
    return PASSWORDS.hash(password)


def password_matches(user: StaffUser | None, password: str) -> bool:
    """True when the password is the account's (an absent account takes as long to say no)."""
    try:
        return len(password) <= MAX_PASSWORD_LENGTH and PASSWORDS.verify(
            user.password_hash if user else _DUMMY_HASH, password
        )
    except (VerificationError, InvalidHashError):
        return False


def set_password(
    session: Session, user: StaffUser, password: str, now: datetime, *, set_by: StaffUser | None = None
) -> None:
    """A new password; every session of the account ends. One chosen by someone else (`set_by`) must be changed at
    the next login, and who chose it is kept."""
    set_password_hash(session, user, hash_password(password), now, set_by_id=set_by.id if set_by else None)


def set_password_hash(
    session: Session, user: StaffUser, password_hash: str, now: datetime, *, set_by_id: int | None = None
) -> None:
    """set_password with a hash made earlier (a reset that waited for a second person's approval)."""
    user.password_hash = password_hash
    user.session_version += 1
    user.must_change_password = set_by_id is not None
    if set_by_id is not None:
        user.password_set_by_id = set_by_id
    session.add(user)
    end_sessions(session, user, now)


def _failure_keys(secret: str, username: str, client: str) -> list[str]:
    # Hashed so the table never lists the usernames (or passwords typed into the username box) people tried.
    return [
        hmac.new(secret.encode(), f"{kind}:{value}".encode(), sha256).hexdigest()
        for kind, value in (("user", username.strip().lower()), ("client", client))
    ]


def _recent_failures(session: Session, keys: list[str], now: datetime) -> dict[str, int]:
    rows = session.exec(
        select(LoginFailure.key, func.count())
        .where(col(LoginFailure.key).in_(keys), col(LoginFailure.at) > now - LOGIN_WINDOW)
        .group_by(LoginFailure.key)
    ).all()
    return {key: int(n) for key, n in rows}


def throttled(session: Session, secret: str, username: str, client: str, now: datetime) -> bool:
    """True when the username or the client address has failed too often within the window."""
    recent = _recent_failures(session, _failure_keys(secret, username, client), now)
    return any(n >= MAX_LOGIN_FAILURES for n in recent.values())


def record_failure(session: Session, secret: str, username: str, client: str, now: datetime) -> None:
    """Count a wrong password against the username and the client address."""
    for key in _failure_keys(secret, username, client):
        session.add(LoginFailure(key=key, at=now))


def locked_usernames(session: Session, secret: str, usernames: list[str], now: datetime) -> set[str]:
    """Which of these usernames are locked by failed logins (whatever the address), for the accounts page."""
    keys = {_failure_keys(secret, name, "")[0]: name for name in usernames}
    recent = _recent_failures(session, list(keys), now)
    return {keys[key] for key, n in recent.items() if n >= MAX_LOGIN_FAILURES}


def unlock_login(session: Session, secret: str, username: str) -> int:
    """Forget the failed logins counted against a username (not against addresses); how many were forgotten."""
    key = _failure_keys(secret, username, "")[0]
    result = session.execute(delete(LoginFailure).where(col(LoginFailure.key) == key))
    return int(result.rowcount)  # type: ignore[attr-defined]


def authenticate(session: Session, secret: str, username: str, password: str, client: str, now: datetime) -> StaffUser:
    """The active account with this username and password; LoginRefused otherwise, every attempt audited."""
    if throttled(session, secret, username, client, now):
        audit(session, None, "login_throttled", now)
        raise LoginRefused(throttled=True)
    user = session.exec(select(StaffUser).where(StaffUser.username == username.strip().lower())).first()
    if not password_matches(user, password) or user is None or not user.active:
        record_failure(session, secret, username, client, now)
        audit(session, user, "login_failed", now)
        raise LoginRefused(throttled=False)
    if PASSWORDS.check_needs_rehash(user.password_hash):
        user.password_hash = PASSWORDS.hash(password)
    user.last_login_at = now
    session.add(user)
    audit(session, user, "login", now)
    return user


def _token_hash(token: str) -> str:
    return sha256(token.encode()).hexdigest()


def start_session(session: Session, data: dict[str, Any], user: StaffUser, now: datetime) -> StaffSession:
    """A new server session for a user, named in a fresh signed cookie (a new CSRF token too: no fixation); the
    caller commits."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_hash=_token_hash(token), user_id=user.id or 0, created_at=now, last_seen_at=now)
    session.add(row)
    data.clear()
    data.update(
        sid=token,
        ver=user.session_version,
        csrf=secrets.token_urlsafe(32),
        lang=user.ui_language,  # for pages drawn before the account is loaded (a refused form, an error)
    )
    return row


def _live_session(session: Session, data: dict[str, Any], now: datetime) -> StaffSession | None:
    token = data.get("sid")
    if not isinstance(token, str):
        return None
    row = session.exec(select(StaffSession).where(StaffSession.token_hash == _token_hash(token))).first()
    if row is None or row.ended_at is not None:
        return None
    if now - row.created_at > SESSION_ABSOLUTE or now - row.last_seen_at > SESSION_IDLE:
        return None
    return row


def session_user(session: Session, data: dict[str, Any], now: datetime) -> StaffUser | None:
    """The account a session cookie stands for, if its server session is live (not ended, not idle for 8 hours,
    not older than 12) and the account is active; marks the session seen (the caller commits)."""
    row = _live_session(session, data, now)
    if row is None:
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.active or user.session_version != data.get("ver"):
        return None
    if now - row.last_seen_at >= SESSION_TOUCH:
        row.last_seen_at = now
        session.add(row)
    return user


def end_session(session: Session, data: dict[str, Any], now: datetime) -> StaffSession | None:
    """Logout: end the cookie's server session (a copy of the cookie stops working) and empty the cookie."""
    row = _live_session(session, data, now)
    if row is not None:
        row.ended_at = now
        session.add(row)
    data.clear()
    return row


def end_sessions(session: Session, user: StaffUser, now: datetime) -> int:
    """End every live session of an account (log out everywhere); how many were live."""
    result = session.execute(
        update(StaffSession)
        .where(col(StaffSession.user_id) == user.id, col(StaffSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def open_sessions(session: Session, user_ids: list[int], now: datetime) -> dict[int, int]:
    """How many live sessions each of these accounts has."""
    rows = session.exec(
        select(StaffSession.user_id, func.count())
        .where(
            col(StaffSession.user_id).in_(user_ids),
            col(StaffSession.ended_at).is_(None),
            col(StaffSession.created_at) > now - SESSION_ABSOLUTE,
            col(StaffSession.last_seen_at) > now - SESSION_IDLE,
        )
        .group_by(col(StaffSession.user_id))
    ).all()
    return {user_id: int(n) for user_id, n in rows}


def csrf_token(data: dict[str, Any]) -> str:
    """The session's CSRF token, created on first use (the login form has one too)."""
    token = data.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        data["csrf"] = token
    return token


def csrf_valid(data: dict[str, Any], submitted: str | None) -> bool:
    """True when a form or header carries the session's token."""
    token = data.get("csrf")
    return isinstance(token, str) and bool(submitted) and hmac.compare_digest(token, submitted or "")
