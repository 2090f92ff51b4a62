"""Staff accounts: argon2 password hashes, throttled logins, signed-cookie sessions and CSRF tokens."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.models import Jurisdiction, LoginFailure, Role, StaffUser
from hotline.places import Gazetteer, get_gazetteer
from hotline.staff.audit import audit
from hotline.staff.i18n import Explained

PASSWORDS = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # argon2 takes any length; refuse a megabyte "password" before hashing it
LOGIN_WINDOW = timedelta(minutes=15)
MAX_LOGIN_FAILURES = 5  # per username and per client address within the window
SESSION_IDLE_SECONDS = 8 * 3600  # the signed cookie's own max age, renewed by each request
SESSION_ABSOLUTE = timedelta(hours=12)  # a working day; after that, log in again whatever the activity
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
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise AccountError("username")
    check_password_rules(password)
    if role == Role.ADMIN:
        level = Jurisdiction.OBLAST
    check_area(role, level, area_code)
    if ui_language not in UI_LANGUAGES:
        raise AccountError("ui_language", languages=", ".join(UI_LANGUAGES))
    user = StaffUser(
        username=username,
        display_name=display_name.strip()[:120] or username,
        password_hash=PASSWORDS.hash(password),
        role=role,
        level=level,
        area_code=area_code,
        ui_language=ui_language,
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise AccountError("username_taken", username=username) from exc
    return user


def set_password(session: Session, user: StaffUser, password: str) -> None:
    """A new password; every session of the account ends (its cookies carry the old version)."""
    check_password_rules(password)
    user.password_hash = PASSWORDS.hash(password)
    user.session_version += 1
    session.add(user)


def add_account(session: Session, admin: StaffUser, now: datetime, **account: Any) -> StaffUser:
    """An admin creates an account (create_user's fields), audited; AccountError names what is wrong."""
    created = create_user(session, **account)
    session.flush()
    audit(session, admin, "user_created", now, username=created.username, role=created.role)
    return created


def change_account(
    session: Session, admin: StaffUser, target: StaffUser, now: datetime, *, active: bool, password: str = ""
) -> None:
    """An admin deactivates or reactivates an account or sets its password (both end its sessions), audited. An
    admin cannot deactivate their own account: the hotline would be left without one who can undo it."""
    if password:
        set_password(session, target, password)
    if target.active != active:
        if target.id == admin.id:
            raise AccountError("own_account")
        target.active = active
        target.session_version += 1
        session.add(target)
    audit(
        session,
        admin,
        "user_changed",
        now,
        username=target.username,
        active=target.active,
        password_changed=bool(password),
    )


def _failure_keys(secret: str, username: str, client: str) -> list[str]:
    # Hashed so the table never lists the usernames (or passwords typed into the username box) people tried.
    return [
        hmac.new(secret.encode(), f"{kind}:{value}".encode(), sha256).hexdigest()
        for kind, value in (("user", username.strip().lower()), ("client", client))
    ]


def authenticate(session: Session, secret: str, username: str, password: str, client: str, now: datetime) -> StaffUser:
    """The active account with this username and password; LoginRefused otherwise, every attempt audited."""
    keys = _failure_keys(secret, username, client)
    recent = session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(col(LoginFailure.key).in_(keys), col(LoginFailure.at) > now - LOGIN_WINDOW)
        .group_by(LoginFailure.key)
    ).all()
    if any(n >= MAX_LOGIN_FAILURES for n in recent):
        audit(session, None, "login_throttled", now)
        raise LoginRefused(throttled=True)
    user = session.exec(select(StaffUser).where(StaffUser.username == username.strip().lower())).first()
    valid = False
    try:
        if len(password) <= MAX_PASSWORD_LENGTH:
            valid = PASSWORDS.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        valid = False
    if not valid or user is None or not user.active:
        for key in keys:
            session.add(LoginFailure(key=key, at=now))
        audit(session, user, "login_failed", now)
        raise LoginRefused(throttled=False)
    if PASSWORDS.check_needs_rehash(user.password_hash):
        user.password_hash = PASSWORDS.hash(password)
    user.last_login_at = now
    session.add(user)
    audit(session, user, "login", now)
    return user


def start_session(data: dict[str, Any], user: StaffUser, now: datetime) -> None:
    """Fill a fresh signed-cookie session for a user (a new CSRF token too: no fixation)."""
    data.clear()
    data.update(
        uid=user.id,
        ver=user.session_version,
        iat=int(now.timestamp()),
        csrf=secrets.token_urlsafe(32),
        lang=user.ui_language,  # for pages drawn before the account is loaded (a refused form, an error)
    )


def session_user(session: Session, data: dict[str, Any], now: datetime) -> StaffUser | None:
    """The account a session cookie stands for, if it is still valid (active, same version, not too old)."""
    uid, version, issued = data.get("uid"), data.get("ver"), data.get("iat")
    if not isinstance(uid, int) or not isinstance(issued, int):
        return None
    if now.timestamp() - issued > SESSION_ABSOLUTE.total_seconds():
        return None
    user = session.get(StaffUser, uid)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


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
