"""Staff accounts under separation of duties: no one person can give an account the power to reveal complainants'
numbers (a supervisor) or to approve that power (an admin), nor take over such an account by setting its password;
a password chosen for someone else is changed by its owner; the area's supervisors hear of every such step, and an
admin or a supervisor of the area can end an account's sessions and unlock its login. Every step is audited
(docs/ADMIN.md, "Accounts and roles")."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from sqlmodel import Session, col, select, update

from hotline.models import AccountRequest, Jurisdiction, Notification, Role, StaffUser
from hotline.places import get_gazetteer
from hotline.staff import auth
from hotline.staff.access import RANK, Forbidden, staff_in_area
from hotline.staff.audit import audit

# Supervisors reveal numbers; admins approve who may. Gaining either needs a second person.
POWER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
NOTE_PREFIX = "account_"  # the kinds of notification about accounts (the templates draw them apart)
CLI_ACTOR = "CLI"  # how notifications name an account made on the server with `hotline user create`


class RequestKind(StrEnum):
    """What a pending request would do."""

    CREATE = "create"
    CHANGE = "change"  # role or area
    REACTIVATE = "reactivate"  # may carry a new password too
    PASSWORD = "password"  # a password an admin set for a supervisor or admin


class RequestStatus(StrEnum):
    """Where a request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class NoSuchRequest(LookupError):
    """The request id names no request."""


# ---- areas ----------------------------------------------------------------------------------------------------


def _oblast_of(level: Jurisdiction, area: str) -> str | None:
    place = get_gazetteer().get(area)
    return area if level == Jurisdiction.OBLAST else (place.oblast if place else None)


def level_of(code: str) -> Jurisdiction | None:
    """The level of an area code: an oblast, a district (or a town of the oblast) or a municipality; None if unknown."""
    gazetteer = get_gazetteer()
    if code in gazetteer.oblasts:
        return Jurisdiction.OBLAST
    place = gazetteer.get(code)
    if place is None:
        return None
    return Jurisdiction.DISTRICT if place.district is None else Jurisdiction.MUNICIPALITY


def area_choices() -> str:
    """Every area an account may have, as `code (name)`, for an error that says what to choose."""
    gazetteer = get_gazetteer()
    oblasts = [f"{code} ({names.get('ru', code)})" for code, names in gazetteer.oblasts.items()]
    return ", ".join([*oblasts, *(f"{p.code} ({p.name('ru')})" for p in gazetteer.places.values())])


def resolve_area(text: str, level: Jurisdiction | None = None) -> tuple[Jurisdiction, str]:
    """The level and code of an area typed as its code or one of its names (`kara-bak`, `Кара-Бак`); the level,
    when given, must be the area's. AccountError lists the valid choices: no area is ever assumed (an account made
    without one would have seen the whole oblast)."""
    text = text.strip()
    gazetteer = get_gazetteer()
    code = text.lower() if level_of(text.lower()) else None
    if code is None and text:
        named = gazetteer.find_exact_name(text)
        oblast = [c for c, names in gazetteer.oblasts.items() if text.casefold() in map(str.casefold, names.values())]
        code = named.code if named else (oblast[0] if oblast else None)
    if code is None:
        if not text:
            raise auth.AccountError("area_needed", choices=area_choices())
        near = gazetteer.find_by_name(text)
        if near is not None:
            raise auth.AccountError("unknown_area_near", value=text[:40], code=near.code, name=near.name("ru"))
        raise auth.AccountError("unknown_area", value=text[:40], choices=area_choices())
    found = level_of(code) or Jurisdiction.OBLAST
    if level is not None and Jurisdiction(level) != found:
        raise auth.AccountError("wrong_area", code=code, level=Jurisdiction(level).value)
    return found, code


def area_contains(level: Jurisdiction, area: str, inner_level: Jurisdiction, inner_area: str) -> bool:
    """An area holds another: itself, its districts and municipalities (an oblast), its municipalities (a district)."""
    level, inner_level = Jurisdiction(level), Jurisdiction(inner_level)
    if RANK[inner_level] > RANK[level]:
        return False
    if level == Jurisdiction.OBLAST:
        return _oblast_of(inner_level, inner_area) == area
    if level == Jurisdiction.DISTRICT:
        place = get_gazetteer().get(inner_area)
        return inner_area == area or (place is not None and place.district == area)
    return inner_area == area


def may_manage_logins(actor: StaffUser, target: StaffUser) -> bool:
    """An admin, or a supervisor whose area holds the account's, may end its sessions and unlock its login."""
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.SUPERVISOR and area_contains(actor.level, actor.area_code, target.level, target.area_code)


def grants_power(target: StaffUser | None, role: Role, level: Jurisdiction, area: str) -> bool:
    """True when an account with this role and area could do what `target` (if any, and active) cannot: reveal
    numbers it could not reveal before (a new supervisor, or one given an area outside its own), or approve."""
    if role not in POWER_ROLES:
        return False
    if target is None or not target.active:
        return True
    if role == Role.ADMIN:
        return target.role != Role.ADMIN
    return target.role != Role.SUPERVISOR or not area_contains(target.level, target.area_code, level, area)


# ---- notifications --------------------------------------------------------------------------------------------


def supervisors_over(session: Session, level: Jurisdiction, area: str) -> list[StaffUser]:
    """Active supervisors whose area holds this one (the district's and the oblast's)."""
    candidates = session.exec(
        select(StaffUser).where(StaffUser.role == Role.SUPERVISOR, col(StaffUser.active).is_(True))
    ).all()
    return [s for s in candidates if area_contains(s.level, s.area_code, level, area)]


def _notify(
    session: Session, kind: str, now: datetime, *, by: str, about: AccountDetails, exclude: set[int | None]
) -> None:
    """Tell the area's supervisors; if there is none but those involved, the other admins, so that someone besides
    the person acting always knows."""
    over = supervisors_over(session, Jurisdiction(about["level"]), about["area"])
    recipients = [s for s in over if s.id not in exclude]
    if not recipients:
        admins = session.exec(select(StaffUser).where(StaffUser.role == Role.ADMIN, col(StaffUser.active).is_(True)))
        recipients = [a for a in admins if a.id not in exclude]
    for recipient in recipients:
        session.add(Notification(user_id=recipient.id or 0, kind=kind, details={**about, "by": by}, created_at=now))


class AccountDetails(TypedDict):
    """Which account a notification or an audit row is about."""

    username: str
    role: str
    level: str
    area: str


def _about(username: str, role: Role | str, level: Jurisdiction | str, area: str) -> AccountDetails:
    return {"username": username, "role": str(role), "level": str(level), "area": area}


def account_notes(session: Session, user: StaffUser) -> list[Notification]:
    """Unread notifications about accounts (not complaints), newest first."""
    return list(
        session.exec(
            select(Notification)
            .where(
                Notification.user_id == user.id,
                col(Notification.kind).startswith(NOTE_PREFIX),
                col(Notification.read_at).is_(None),
            )
            .order_by(col(Notification.id).desc())
            .limit(50)
        )
    )


def dismiss_account_notes(session: Session, user: StaffUser, now: datetime) -> None:
    """Mark the user's account notifications read."""
    session.execute(
        update(Notification)
        .where(
            col(Notification.user_id) == user.id,
            col(Notification.kind).startswith(NOTE_PREFIX),
            col(Notification.read_at).is_(None),
        )
        .values(read_at=now)
    )


# ---- requests for power ---------------------------------------------------------------------------------------


def sets_password(request: AccountRequest) -> bool:
    """True when approving the request gives an existing account a password the requester chose."""
    return request.kind != RequestKind.CREATE and bool(request.password_hash)


def _request(
    session: Session, actor: StaffUser, kind: RequestKind, now: datetime, target: StaffUser | None, **fields: Any
) -> AccountRequest:
    waiting = session.exec(
        select(AccountRequest).where(
            AccountRequest.username == fields["username"], AccountRequest.status == RequestStatus.PENDING
        )
    ).first()
    if waiting is not None:
        raise auth.AccountError("request_pending", username=fields["username"])
    request = AccountRequest(
        kind=kind, requested_by_id=actor.id or 0, target_id=target.id if target else None, created_at=now, **fields
    )
    session.add(request)
    session.flush()
    about = _about(request.username, request.role, request.level, request.area_code)
    audit(session, actor, "account_requested", now, kind=kind.value, request=request.id, **about)
    # The account's owner hears of a new password too: the one most likely to know they did not ask for it.
    note = "account_password_requested" if sets_password(request) else "account_requested"
    _notify(session, note, now, by=actor.username, about=about, exclude={actor.id})
    return request


def add_account(
    session: Session,
    admin: StaffUser,
    now: datetime,
    *,
    username: str,
    password: str,
    role: Role,
    level: Jurisdiction,
    area_code: str,
    display_name: str = "",
    ui_language: str = "ru",
) -> AccountRequest | None:
    """An admin creates an account whose owner must change the password at the first login; a supervisor or admin
    account is only requested (returned) until a second person approves. AccountError names what is wrong."""
    user = auth.new_account(
        username=username,
        password_hash=auth.hash_password(password),
        role=role,
        level=level,
        area_code=area_code,
        display_name=display_name,
        ui_language=ui_language,
    )
    if session.exec(select(StaffUser.id).where(StaffUser.username == user.username)).first() is not None:
        raise auth.AccountError("username_taken", username=user.username)
    if user.role in POWER_ROLES:
        fields = {**_fields(user), "password_hash": user.password_hash}
        return _request(session, admin, RequestKind.CREATE, now, None, **fields)
    user.must_change_password, user.password_set_by_id = True, admin.id
    auth.insert_account(session, user)
    session.flush()
    audit(session, admin, "user_created", now, **_about(user.username, user.role, user.level, user.area_code))
    return None


def _fields(user: StaffUser) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "level": user.level,
        "area_code": user.area_code,
        "ui_language": user.ui_language,
    }


def create_on_server(session: Session, now: datetime, os_user: str, **account: Any) -> StaffUser:
    """`hotline user create`: whoever runs it holds the server (its database and keys), so no approval; audited as
    made there, and a supervisor or admin made this way is told to the area's supervisors."""
    user = auth.create_user(session, **account)
    session.flush()
    about = _about(user.username, user.role, user.level, user.area_code)
    audit(session, None, "user_created", now, via="cli", os_user=os_user, **about)
    if user.role in POWER_ROLES:
        _notify(session, "account_created", now, by=CLI_ACTOR, about=about, exclude={user.id})
    return user


def change_account(
    session: Session, admin: StaffUser, target: StaffUser, now: datetime, *, active: bool, password: str = ""
) -> AccountRequest | None:
    """An admin sets another account's password (its owner must change it; its sessions end) or deactivates it at
    once. For a supervisor or admin, a new password and a reactivation are only requested (returned, one request
    carrying both when both are asked): whoever knows the password could reveal numbers as that account. An admin
    cannot deactivate their own account (the hotline would be left without one who can undo it), nor set its
    password here."""
    if password and target.id == admin.id:
        raise auth.AccountError("own_password")
    if target.active != active and target.id == admin.id:
        raise auth.AccountError("own_account")
    if target.role in POWER_ROLES and (password or (active and not target.active)):
        kind = RequestKind.REACTIVATE if active and not target.active else RequestKind.PASSWORD
        hashed = auth.hash_password(password) if password else ""
        request = _request(session, admin, kind, now, target, **_fields(target), password_hash=hashed)
        if not active and target.active:
            _set_active(session, admin, target, now, active=False)
        return request
    if password:
        auth.set_password(session, target, password, now, set_by=admin)
        about = _about(target.username, target.role, target.level, target.area_code)
        audit(session, admin, "password_reset", now, **about)
    if target.active != active:
        _set_active(session, admin, target, now, active=active)
    return None


def _set_active(session: Session, admin: StaffUser, target: StaffUser, now: datetime, *, active: bool) -> None:
    target.active = active
    target.session_version += 1
    session.add(target)
    auth.end_sessions(session, target, now)
    audit(session, admin, "user_changed", now, username=target.username, active=active)


def change_role(
    session: Session, admin: StaffUser, target: StaffUser, now: datetime, *, role: Role, level: Jurisdiction, area: str
) -> AccountRequest | None:
    """An admin changes an account's role or area: at once when it gives no new power to reveal or approve,
    otherwise only requested (returned)."""
    if target.id == admin.id:
        raise auth.AccountError("own_role")
    level = Jurisdiction.OBLAST if role == Role.ADMIN else level
    auth.check_area(role, level, area)
    old = (Role(target.role), Jurisdiction(target.level), target.area_code)
    if old == (role, level, area):
        return None
    if grants_power(target, role, level, area):
        fields = {**_fields(target), "role": role, "level": level, "area_code": area}
        return _request(session, admin, RequestKind.CHANGE, now, target, **fields)
    target.role, target.level, target.area_code = role, level, area
    session.add(target)
    audit(
        session,
        admin,
        "user_role_changed",
        now,
        **_about(target.username, role, level, area),
        old_role=old[0].value,
        old_level=old[1].value,
        old_area=old[2],
    )
    return None


def may_decide(actor: StaffUser, request: AccountRequest) -> bool:
    """Admins and the oblast's supervisors decide requests (whether this one is theirs to decide: second_person)."""
    if actor.role == Role.ADMIN:
        return True
    return (
        actor.role == Role.SUPERVISOR
        and actor.level == Jurisdiction.OBLAST
        and _oblast_of(Jurisdiction(request.level), request.area_code) == actor.area_code
    )


def second_person(actor: StaffUser, request: AccountRequest) -> bool:
    """True when the actor is someone other than the requester: not the requester, not the account concerned, and
    not an account whose password the requester chose (they may have logged in as it)."""
    return actor.id not in (request.requested_by_id, request.target_id) and (
        actor.password_set_by_id != request.requested_by_id
    )


def decide(session: Session, actor: StaffUser, request_id: int, now: datetime, *, approve: bool) -> AccountRequest:
    """Approve or refuse a pending request (a second person only); its requester may withdraw it. Audited; an
    approval is told to the area's supervisors. Forbidden (audited) for staff who may not decide."""
    request = session.get(AccountRequest, request_id)
    if request is None:
        raise NoSuchRequest(request_id)
    about = _about(request.username, request.role, request.level, request.area_code)
    withdrawing = not approve and actor.id == request.requested_by_id
    if not withdrawing and not may_decide(actor, request):
        audit(session, actor, "denied", now, what="account_request", request=request.id)
        raise Forbidden
    if request.status != RequestStatus.PENDING:
        raise auth.AccountError("request_decided")
    requester = session.get(StaffUser, request.requested_by_id)

    def record(action: str) -> None:
        requested_by = requester.username if requester else ""
        audit(session, actor, action, now, **about, kind=request.kind, request=request.id, requested_by=requested_by)

    if withdrawing:
        request.status = RequestStatus.WITHDRAWN
        record("account_withdrawn")
    elif not second_person(actor, request):
        raise auth.AccountError("second_person")
    elif approve:
        _apply(session, request, now)
        request.status = RequestStatus.APPROVED
        record("account_approved")
        note = "account_approved"
        if sets_password(request):
            # In the requester's name, as when it takes effect at once: they chose the password.
            audit(session, requester, "password_reset", now, **about, approved_by=actor.username, request=request.id)
            note = "account_password_approved"
        _notify(session, note, now, by=actor.username, about=about, exclude={actor.id})
    else:
        request.status = RequestStatus.REFUSED
        record("account_refused")
    request.decided_by_id, request.decided_at, request.password_hash = actor.id, now, ""
    session.add(request)
    return request


def _apply(session: Session, request: AccountRequest, now: datetime) -> None:
    if request.kind == RequestKind.CREATE:
        user = auth.new_account(
            username=request.username,
            password_hash=request.password_hash,
            role=Role(request.role),
            level=Jurisdiction(request.level),
            area_code=request.area_code,
            display_name=request.display_name,
            ui_language=request.ui_language,
        )
        user.must_change_password, user.password_set_by_id = True, request.requested_by_id
        auth.insert_account(session, user)
        session.flush()
        request.target_id = user.id
        return
    target = session.get(StaffUser, request.target_id)
    if target is None:
        raise NoSuchRequest(request.id)
    if request.kind == RequestKind.REACTIVATE:
        target.active = True
    elif request.kind == RequestKind.CHANGE:
        target.role, target.level, target.area_code = Role(request.role), Jurisdiction(request.level), request.area_code
    session.add(target)
    if sets_password(request):
        auth.set_password_hash(session, target, request.password_hash, now, set_by_id=request.requested_by_id)


def pending_requests(session: Session, viewer: StaffUser) -> list[AccountRequest]:
    """Requests waiting for a decision that the viewer may see (admins: all; supervisors: their area's)."""
    waiting = session.exec(
        select(AccountRequest)
        .where(AccountRequest.status == RequestStatus.PENDING)
        .order_by(col(AccountRequest.created_at))
    ).all()
    if viewer.role == Role.ADMIN:
        return list(waiting)
    return [r for r in waiting if area_contains(viewer.level, viewer.area_code, r.level, r.area_code)]


def visible_accounts(session: Session, viewer: StaffUser) -> list[StaffUser]:
    """Every account for an admin; the accounts of the supervisor's area for a supervisor."""
    query = select(StaffUser).order_by(StaffUser.username)
    if viewer.role != Role.ADMIN:
        query = query.where(staff_in_area(viewer))
    return list(session.exec(query))


# ---- passwords, sessions, locked logins -----------------------------------------------------------------------


def change_own_password(
    session: Session, secret: str, user: StaffUser, client: str, now: datetime, *, current: str, new: str, confirm: str
) -> None:
    """The owner chooses a new password (the current one first, throttled like a login); every session of the
    account ends (the caller starts a new one for this browser). AccountError says what is wrong; a wrong current
    password is counted and audited, so the caller commits even then."""
    if auth.throttled(session, secret, user.username, client, now):
        raise auth.AccountError("password_throttled")
    if not auth.password_matches(user, current):
        auth.record_failure(session, secret, user.username, client, now)
        audit(session, user, "password_change_failed", now)
        raise auth.AccountError("current_password")
    if new != confirm:
        raise auth.AccountError("password_mismatch")
    if new == current:
        raise auth.AccountError("password_same")
    forced = user.must_change_password
    auth.set_password(session, user, new, now)
    audit(session, user, "password_changed", now, forced=forced)


def end_sessions_of(session: Session, actor: StaffUser, target: StaffUser, now: datetime) -> int:
    """End every session of an account: one's own (log out everywhere), or another's by an admin or a supervisor
    of its area (Forbidden, audited, for anyone else). How many were live."""
    if actor.id != target.id and not may_manage_logins(actor, target):
        audit(session, actor, "denied", now, what="end_sessions", username=target.username)
        raise Forbidden
    ended = auth.end_sessions(session, target, now)
    audit(session, actor, "sessions_ended", now, username=target.username, sessions=ended)
    return ended


def unlock(session: Session, secret: str, actor: StaffUser, target: StaffUser, now: datetime) -> int:
    """Forget the failed logins that lock an account's username: an admin or a supervisor of its area (Forbidden,
    audited, for anyone else). How many failures were forgotten."""
    if not may_manage_logins(actor, target):
        audit(session, actor, "denied", now, what="unlock", username=target.username)
        raise Forbidden
    forgotten = auth.unlock_login(session, secret, target.username)
    audit(session, actor, "login_unlocked", now, username=target.username, failures=forgotten)
    return forgotten
