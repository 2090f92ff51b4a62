"""Staff accounts under separation of duties (no one grants the power to reveal alone), passwords chosen by their
owners, server-side sessions that end on logout, and locked logins that a supervisor can unlock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from hotline.cli import app as cli_app
from hotline.config import Settings
from hotline.context import Context
from hotline.models import (
    AccountRequest,
    AuditEntry,
    Jurisdiction,
    LoginFailure,
    Notification,
    Role,
    StaffSession,
    StaffUser,
    utcnow,
)
from hotline.staff import auth
from hotline.staff.jobs import purge_login_failures
from tests.staff_pages import PASSWORD, csrf_from, log_in, make_complaint, make_staff

Web = Callable[[], TestClient]
NEW_PASSWORD = "a password only I know"
ADMIN_SET = "set by the admin 123"


def try_log_in(client: TestClient, username: str, password: str) -> int:
    """Post the login form; the status code (303 logged in, 401 refused, 429 throttled)."""
    page = client.get("/admin/login")
    form = {"username": username, "password": password, "csrf_token": csrf_from(page.text)}
    return int(client.post("/admin/login", data=form, follow_redirects=False).status_code)


def token_of(client: TestClient, path: str = "/admin/password") -> str:
    return csrf_from(client.get(path).text)


def actions(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def notified(session: Session, kind: str) -> set[str]:
    """Usernames holding a notification of this kind."""
    session.expire_all()
    rows = session.exec(
        select(StaffUser.username)
        .join(Notification, col(Notification.user_id) == col(StaffUser.id))
        .where(Notification.kind == kind)
    )
    return set(rows)


def account(session: Session, username: str) -> StaffUser | None:
    session.expire_all()
    return session.exec(select(StaffUser).where(StaffUser.username == username)).first()


def pending(session: Session) -> AccountRequest:
    session.expire_all()
    return session.exec(select(AccountRequest).where(AccountRequest.status == "pending")).one()


def create_form(token: str, **fields: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "username": "new.super",
        "password": ADMIN_SET,
        "role": "supervisor",
        "level": "district",
        "area_code": "batken-rayon",
        "display_name": "Новый",
        "ui_language": "en",
    }
    return {**form, **fields}


def change_own_password(client: TestClient, current: str, new: str = NEW_PASSWORD) -> str:
    token = token_of(client)
    form = {"csrf_token": token, "current_password": current, "new_password": new, "confirm_password": new}
    return str(client.post("/admin/password", data=form).text)


# ---- separation of duties -------------------------------------------------------------------------------------


def test_a_supervisor_account_waits_for_a_second_person(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    admin = web()
    token = log_in(admin, "admin")
    page = admin.post("/admin/users", data=create_form(token)).text
    # The account does not exist: its password opens nothing, whoever typed it.
    assert try_log_in(web(), "new.super", ADMIN_SET) == 401
    assert account(session, "new.super") is None
    assert "waits for a second person" in page
    request = pending(session)
    assert request.requested_by_id == staff["admin"].id and request.password_hash.startswith("$argon2id$")
    assert ADMIN_SET not in str(request.model_dump())
    # The area's supervisors (the district's and the oblast's) are told; the officers are not.
    assert notified(session, "account_requested") == {"batken.super", "oblast.super"}
    district = web()
    log_in(district, "batken.super")
    assert "new.super" in district.get("/admin/queue").text
    # The requester cannot approve their own request; a district supervisor cannot approve at all.
    refused = admin.post(f"/admin/users/requests/{request.id}/approve", data={"csrf_token": token})
    assert "another person must decide" in refused.text
    d_token = token_of(district, "/admin/users")
    assert district.post(f"/admin/users/requests/{request.id}/approve", data={"csrf_token": d_token}).status_code == 403
    assert account(session, "new.super") is None and pending(session).id == request.id
    # An oblast supervisor approves: the account exists, and its owner must choose a new password.
    oblast = web()
    o_token = log_in(oblast, "oblast.super")
    assert "new.super" in oblast.get("/admin/users").text
    assert "Saved" in oblast.post(f"/admin/users/requests/{request.id}/approve", data={"csrf_token": o_token}).text
    created = account(session, "new.super")
    assert created and created.role == Role.SUPERVISOR and created.must_change_password
    assert created.password_set_by_id == staff["admin"].id
    assert notified(session, "account_approved") >= {"batken.super"}
    approved = actions(session, "account_approved")
    assert approved and approved[0].user_id == staff["oblast"].id
    assert approved[0].details["requested_by"] == "admin"
    session.expire_all()
    assert session.get(AccountRequest, request.id).password_hash == ""  # type: ignore[union-attr]


def test_a_refused_request_is_audited_and_creates_nothing(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    admin = web()
    token = log_in(admin, "admin")
    admin.post("/admin/users", data=create_form(token, role="admin", level="oblast", area_code="batken"))
    request = pending(session)
    oblast = web()
    o_token = log_in(oblast, "oblast.super")
    assert "Saved" in oblast.post(f"/admin/users/requests/{request.id}/refuse", data={"csrf_token": o_token}).text
    assert account(session, "new.super") is None
    assert try_log_in(web(), "new.super", ADMIN_SET) == 401
    session.expire_all()
    decided = session.get(AccountRequest, request.id)
    assert decided and decided.status == "refused" and decided.decided_by_id == staff["oblast"].id
    refusal = actions(session, "account_refused")
    assert refusal and refusal[0].details["username"] == "new.super"
    # A decided request cannot be decided again.
    again = oblast.post(f"/admin/users/requests/{request.id}/approve", data={"csrf_token": o_token})
    assert "already decided" in again.text and account(session, "new.super") is None


def test_an_officer_account_is_created_at_once_but_its_password_must_be_changed(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    admin = web()
    token = log_in(admin, "admin")
    form = create_form(token, username="leilek.officer", role="officer", area_code="leilek-rayon")
    assert "Saved" in admin.post("/admin/users", data=form).text
    created = account(session, "leilek.officer")
    assert created and created.must_change_password
    officer = web()
    assert try_log_in(officer, "leilek.officer", ADMIN_SET) == 303
    # Every page leads to the password page, which says why.
    for path in ("/admin/queue", "/admin/dashboard", "/admin", "/admin/complaints/1"):
        response = officer.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin/password", path
    page = officer.get("/admin/password").text
    assert "An administrator set your password" in page
    assert "at least 10" in change_own_password(officer, ADMIN_SET, "short")
    assert "current password is wrong" in change_own_password(officer, "not the password")
    assert "Password changed" in change_own_password(officer, ADMIN_SET)
    assert officer.get("/admin/queue", follow_redirects=False).status_code == 200
    # The admin's password no longer opens the account.
    assert try_log_in(web(), "leilek.officer", ADMIN_SET) == 401
    assert try_log_in(web(), "leilek.officer", NEW_PASSWORD) == 303
    assert actions(session, "password_changed")


def test_role_and_area_changes_that_give_the_power_to_reveal_wait_for_approval(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    admin = web()
    token = log_in(admin, "admin")
    officer_id, district_id = staff["district"].id, staff["supervisor"].id
    # An officer made supervisor: still an officer until a second person approves.
    promote = {"csrf_token": token, "role": "supervisor", "level": "district", "area_code": "batken-rayon"}
    assert "waits for a second person" in admin.post(f"/admin/users/{officer_id}/role", data=promote).text
    assert account(session, "batken.officer").role == Role.OFFICER  # type: ignore[union-attr]
    assert notified(session, "account_requested") >= {"batken.super", "oblast.super"}
    # A supervisor moved to another district would reveal numbers there: it waits too.
    move = {"csrf_token": token, "role": "supervisor", "level": "district", "area_code": "leilek-rayon"}
    assert "waits for a second person" in admin.post(f"/admin/users/{district_id}/role", data=move).text
    assert account(session, "batken.super").area_code == "batken-rayon"  # type: ignore[union-attr]
    oblast = web()
    o_token = log_in(oblast, "oblast.super")
    for request in session.exec(select(AccountRequest).where(AccountRequest.status == "pending")).all():
        oblast.post(f"/admin/users/requests/{request.id}/approve", data={"csrf_token": o_token})
    assert account(session, "batken.officer").role == Role.SUPERVISOR  # type: ignore[union-attr]
    assert account(session, "batken.super").area_code == "leilek-rayon"  # type: ignore[union-attr]
    # Taking power away needs no second person.
    demote = {"csrf_token": token, "role": "officer", "level": "district", "area_code": "leilek-rayon"}
    assert "Saved" in admin.post(f"/admin/users/{district_id}/role", data=demote).text
    assert account(session, "batken.super").role == Role.OFFICER  # type: ignore[union-attr]
    changed = actions(session, "user_role_changed")
    assert changed and changed[-1].details["old_role"] == "supervisor"


def test_reactivating_a_supervisor_waits_for_approval(web: Web, staff: dict[str, StaffUser], session: Session) -> None:
    admin = web()
    token = log_in(admin, "admin")
    target = staff["supervisor"].id
    assert "Saved" in admin.post(f"/admin/users/{target}", data={"csrf_token": token}).text  # deactivated at once
    assert not account(session, "batken.super").active  # type: ignore[union-attr]
    # Reactivated with a new password (its owner forgot the old one): one request for both.
    form = {"csrf_token": token, "active": "1", "password": ADMIN_SET}
    page = admin.post(f"/admin/users/{target}", data=form).text
    assert try_log_in(web(), "batken.super", ADMIN_SET) == 401
    assert not account(session, "batken.super").active  # type: ignore[union-attr]
    assert "Saved: the change waits for a second person" in page
    request = pending(session)
    assert request.kind == "reactivate" and request.password_hash
    assert "reactivation, new password" in admin.get("/admin/users").text
    second = make_staff(session, "admin2", Role.ADMIN, Jurisdiction.OBLAST, "batken")
    other = web()
    o_token = log_in(other, "admin2")
    assert "Saved" in other.post(f"/admin/users/requests/{request.id}/approve", data={"csrf_token": o_token}).text
    assert account(session, "batken.super").active  # type: ignore[union-attr]
    assert actions(session, "account_approved")[0].user_id == second.id
    assert try_log_in(web(), "batken.super", PASSWORD) == 401
    back = web()
    assert try_log_in(back, "batken.super", ADMIN_SET) == 303
    assert back.get("/admin/queue", follow_redirects=False).headers["location"] == "/admin/password"


def test_an_admin_cannot_approve_through_an_account_whose_password_they_set(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    second = make_staff(session, "admin2", Role.ADMIN, Jurisdiction.OBLAST, "batken")
    admin = web()
    token = log_in(admin, "admin")
    # The admin resets the other admin's password; once a second person lets it take effect (not knowing), the
    # admin logs in as them and chooses its new password...
    admin.post(f"/admin/users/{second.id}", data={"csrf_token": token, "active": "1", "password": ADMIN_SET})
    assert "oblast.super" in notified(session, "account_password_requested")
    oblast = web()
    o_token = log_in(oblast, "oblast.super")
    oblast.post(f"/admin/users/requests/{pending(session).id}/approve", data={"csrf_token": o_token})
    admin.post("/admin/users", data=create_form(token))
    request = pending(session)
    puppet = web()
    assert try_log_in(puppet, "admin2", ADMIN_SET) == 303
    change_own_password(puppet, ADMIN_SET)
    # ...but that account cannot approve their request: it is still one person.
    page = puppet.post(f"/admin/users/requests/{request.id}/approve", data={"csrf_token": token_of(puppet)}).text
    assert "another person must decide" in page
    assert account(session, "new.super") is None


def test_a_supervisors_new_password_waits_for_a_second_person(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    owner = web()
    log_in(owner, "batken.super")
    admin = web()
    token = log_in(admin, "admin")
    target = staff["supervisor"]
    form = {"csrf_token": token, "active": "1", "password": ADMIN_SET}
    assert "Saved: the change waits for a second person" in admin.post(f"/admin/users/{target.id}", data=form).text
    # Until a second person approves, the admin's password opens nothing; the owner's own works, and their session
    # goes on.
    assert try_log_in(web(), "batken.super", ADMIN_SET) == 401
    assert try_log_in(web(), "batken.super", PASSWORD) == 303
    assert owner.get("/admin/queue", follow_redirects=False).status_code == 200
    request = pending(session)
    assert request.kind == "password" and request.target_id == target.id
    assert request.password_hash.startswith("$argon2id$") and ADMIN_SET not in str(request.model_dump())
    assert not account(session, "batken.super").must_change_password  # type: ignore[union-attr]
    # The admin sees it waiting; the area's supervisors (the owner too) hear of it.
    users_page = admin.get("/admin/users").text
    assert "new password" in users_page.split('id="requests"', 1)[1].split("</table>", 1)[0]
    assert "new password waits for approval" in users_page.split(f'id="user-{target.id}"', 1)[1].split("</tr>", 1)[0]
    assert notified(session, "account_password_requested") == {"batken.super", "oblast.super"}
    assert "batken.super" in log_and_read_queue(web(), "oblast.super")
    # The requester cannot approve it.
    assert (
        "another person must decide"
        in admin.post(f"/admin/users/requests/{request.id}/approve", data={"csrf_token": token}).text
    )
    assert try_log_in(web(), "batken.super", ADMIN_SET) == 401
    # Another admin approves: the new password takes effect, the old one and the owner's sessions end.
    second = make_staff(session, "admin2", Role.ADMIN, Jurisdiction.OBLAST, "batken")
    other = web()
    o_token = log_in(other, "admin2")
    assert "Approve" in other.get("/admin/users").text
    assert "Saved" in other.post(f"/admin/users/requests/{request.id}/approve", data={"csrf_token": o_token}).text
    assert owner.get("/admin/queue", follow_redirects=False).status_code == 303
    assert try_log_in(web(), "batken.super", PASSWORD) == 401
    changed = account(session, "batken.super")
    assert changed and changed.must_change_password and changed.password_set_by_id == staff["admin"].id
    taken = web()
    assert try_log_in(taken, "batken.super", ADMIN_SET) == 303
    assert taken.get("/admin/queue", follow_redirects=False).headers["location"] == "/admin/password"
    assert "An administrator set your password" in taken.get("/admin/password").text
    reset = actions(session, "password_reset")
    assert reset and reset[0].user_id == staff["admin"].id and reset[0].details["username"] == "batken.super"
    assert reset[0].details["approved_by"] == "admin2"
    assert actions(session, "account_approved")[0].user_id == second.id
    assert notified(session, "account_password_approved") >= {"oblast.super"}
    session.expire_all()
    assert session.get(AccountRequest, request.id).password_hash == ""  # type: ignore[union-attr]


def test_the_account_whose_password_was_set_cannot_approve_it(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    admin = web()
    token = log_in(admin, "admin")
    form = {"csrf_token": token, "active": "1", "password": ADMIN_SET}
    admin.post(f"/admin/users/{staff['oblast'].id}", data=form)
    request = pending(session)
    oblast = web()
    o_token = log_in(oblast, "oblast.super")
    page = oblast.post(f"/admin/users/requests/{request.id}/approve", data={"csrf_token": o_token}).text
    assert "another person must decide" in page
    assert pending(session).id == request.id and try_log_in(web(), "oblast.super", ADMIN_SET) == 401
    # The requester may withdraw it; the password is forgotten.
    assert "Saved" in admin.post(f"/admin/users/requests/{request.id}/refuse", data={"csrf_token": token}).text
    session.expire_all()
    withdrawn = session.get(AccountRequest, request.id)
    assert withdrawn and withdrawn.status == "withdrawn" and withdrawn.password_hash == ""


def test_an_officers_password_reset_takes_effect_at_once(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    admin = web()
    token = log_in(admin, "admin")
    form = {"csrf_token": token, "active": "1", "password": ADMIN_SET}
    assert "Saved" in admin.post(f"/admin/users/{staff['dara'].id}", data=form).text
    assert try_log_in(web(), "dara.officer", ADMIN_SET) == 303
    assert try_log_in(web(), "dara.officer", PASSWORD) == 401
    assert account(session, "dara.officer").must_change_password  # type: ignore[union-attr]
    assert actions(session, "password_reset")[0].details["username"] == "dara.officer"
    assert not session.exec(select(AccountRequest)).all()


def log_and_read_queue(client: TestClient, username: str) -> str:
    log_in(client, username)
    return str(client.get("/admin/queue").text)


def test_the_cli_creates_accounts_directly_and_audits_it(env: Settings, session: Session) -> None:
    make_staff(session, "oblast.super", Role.SUPERVISOR, Jurisdiction.OBLAST, "batken")
    result = CliRunner().invoke(
        cli_app,
        ["user", "create", "cli.super", "--role", "supervisor", "--area", "batken-rayon", "--password-stdin"],
        input="a long server password\n",
    )
    assert result.exit_code == 0, result.output
    created = actions(session, "user_created")
    assert created and created[0].user_id is None and created[0].details["via"] == "cli"
    assert created[0].details["username"] == "cli.super"
    assert notified(session, "account_created") == {"oblast.super"}
    # The operator's own password: no forced change for the first admin or an account made on the server.
    assert not account(session, "cli.super").must_change_password  # type: ignore[union-attr]
    # The sole admin locked out by someone guessing: the operator unlocks the login on the server, audited.
    now = utcnow()
    for _ in range(5):
        auth.record_failure(session, env.secret_key, "cli.super", "203.0.113.9", now)
    session.commit()
    assert auth.throttled(session, env.secret_key, "cli.super", "198.51.100.1", now)
    unlocked = CliRunner().invoke(cli_app, ["user", "unlock", "cli.super"])
    assert unlocked.exit_code == 0 and "5 failed logins forgotten" in unlocked.output
    assert not auth.throttled(session, env.secret_key, "cli.super", "198.51.100.1", now)
    assert actions(session, "login_unlocked")[0].details["via"] == "cli"


# ---- sessions -------------------------------------------------------------------------------------------------


def test_a_copied_cookie_stops_working_after_logout(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие")
    officer = web()
    token = log_in(officer, "dara.officer")
    copied = officer.cookies["hotline_session"]
    thief = web()

    def replay() -> None:  # the copied cookie, sent again on every request (a server answer may not replace it)
        thief.cookies.set("hotline_session", copied, domain="hotline.example.org", path="/admin")

    replay()
    assert thief.get("/admin/queue", follow_redirects=False).status_code == 200
    officer.post("/admin/logout", data={"csrf_token": token})
    replay()
    response = thief.get("/admin/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")
    replay()
    posted = thief.post(
        f"/admin/complaints/{complaint.id}/note", data={"csrf_token": token, "note": "x"}, follow_redirects=False
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/admin/login")
    from hotline.complaints.service import events_of

    session.expire_all()
    assert "note" not in [e.kind for e in events_of(session, complaint)]
    assert session.exec(select(StaffSession)).one().ended_at is not None


def test_log_out_everywhere(web: Web, staff: dict[str, StaffUser], session: Session) -> None:
    laptop, phone = web(), web()
    token = log_in(laptop, "dara.officer")
    log_in(phone, "dara.officer")
    page = laptop.get("/admin/password").text
    assert "Log out everywhere" in page and "2 open sessions" in page
    response = laptop.post("/admin/sessions/end", data={"csrf_token": token}, follow_redirects=False)
    assert response.headers["location"].startswith("/admin/login")
    for client in (laptop, phone):
        assert client.get("/admin/queue", follow_redirects=False).status_code == 303
    assert actions(session, "sessions_ended")


def test_a_supervisor_or_admin_ends_another_accounts_sessions(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    officer = web()
    log_in(officer, "dara.officer")
    other_district = make_staff(session, "leilek.super", Role.SUPERVISOR, Jurisdiction.DISTRICT, "leilek-rayon")
    outsider = web()
    x_token = log_in(outsider, "leilek.super")
    target = staff["dara"].id
    # A supervisor of another district, or an officer, may not (nor does that supervisor see the account).
    assert "dara.officer" not in outsider.get("/admin/users").text
    assert outsider.post(f"/admin/users/{target}/sessions/end", data={"csrf_token": x_token}).status_code == 403
    peer = web()
    p_token = log_in(peer, "kyshtut.officer")
    assert peer.post(f"/admin/users/{target}/sessions/end", data={"csrf_token": p_token}).status_code == 403
    assert officer.get("/admin/queue", follow_redirects=False).status_code == 200
    supervisor = web()
    s_token = log_in(supervisor, "batken.super")
    assert "Saved" in supervisor.post(f"/admin/users/{target}/sessions/end", data={"csrf_token": s_token}).text
    assert officer.get("/admin/queue", follow_redirects=False).status_code == 303
    ended = actions(session, "sessions_ended")
    assert ended and ended[0].user_id == staff["supervisor"].id and ended[0].details["username"] == "dara.officer"
    # An admin may end anyone's sessions.
    log_in(officer, "dara.officer")
    admin = web()
    a_token = log_in(admin, "admin")
    admin.post(f"/admin/users/{target}/sessions/end", data={"csrf_token": a_token})
    assert officer.get("/admin/queue", follow_redirects=False).status_code == 303
    assert other_district.id


def test_server_side_idle_and_absolute_limits(staff: dict[str, StaffUser], session: Session) -> None:
    user = staff["dara"]
    start = utcnow()
    cookie: dict[str, object] = {}
    auth.start_session(session, cookie, user, start)
    session.commit()
    # Active every 7 hours: alive at 7 h, at 11 h 59 min, and gone at 12 h 1 min whatever the activity.
    assert auth.session_user(session, cookie, start + timedelta(hours=7)) is not None
    session.commit()
    assert auth.session_user(session, cookie, start + timedelta(hours=11, minutes=59)) is not None
    session.commit()
    assert auth.session_user(session, cookie, start + timedelta(hours=12, minutes=1)) is None
    # Idle for more than 8 hours: gone, though the cookie itself may be replayed within its signature's age.
    idle: dict[str, object] = {}
    auth.start_session(session, idle, user, start)
    session.commit()
    assert auth.session_user(session, idle, start + timedelta(hours=8, minutes=1)) is None


def test_the_hourly_purge_deletes_sessions_ended_or_expired_more_than_a_day_ago(
    staff: dict[str, StaffUser], session: Session
) -> None:
    now = utcnow()
    day, idle, absolute = timedelta(days=1), auth.SESSION_IDLE, auth.SESSION_ABSOLUTE
    minute = timedelta(minutes=1)
    rows = {  # name: (created, last seen, ended)
        "ended_long_ago": (now - 2 * day, now - 2 * day, now - day - minute),
        "ended_today": (now - day, now - day, now - day + minute),
        "idle_long_ago": (now - idle - day - minute, now - idle - day - minute, None),
        "idle_today": (now - idle - day + minute, now - idle - day + minute, None),
        "too_old_long_ago": (now - absolute - day - minute, now - minute, None),
        "too_old_today": (now - absolute - day + minute, now - minute, None),
        "live": (now - minute, now - minute, None),
    }
    for name, (created, seen, ended) in rows.items():
        session.add(
            StaffSession(
                token_hash=name, user_id=staff["dara"].id or 0, created_at=created, last_seen_at=seen, ended_at=ended
            )
        )
    session.add(LoginFailure(key="k" * 64, at=now - timedelta(hours=1)))
    session.commit()
    assert purge_login_failures(session, now) == 4  # three sessions and the failure
    session.commit()
    session.expire_all()
    kept = set(session.exec(select(StaffSession.token_hash)))
    assert kept == {"ended_today", "idle_today", "too_old_today", "live"}
    assert not session.exec(select(LoginFailure)).all()


# ---- locked logins --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unlocker", ["batken.super", "admin"])
def test_a_supervisor_of_the_area_or_an_admin_unlocks_a_login(
    web: Web, staff: dict[str, StaffUser], session: Session, unlocker: str
) -> None:
    officer = web()
    # From an address of its own, so only the username's lock stands between the officer and the page.
    with TestClient(officer.app, base_url="https://hotline.example.org", client=("203.0.113.9", 4000)) as attacker:
        for _ in range(5):
            assert try_log_in(attacker, "dara.officer", "guessing wrongly") == 401
    assert try_log_in(officer, "dara.officer", PASSWORD) == 429
    make_staff(session, "leilek.super", Role.SUPERVISOR, Jurisdiction.DISTRICT, "leilek-rayon")
    outsider = web()
    x_token = log_in(outsider, "leilek.super")
    target = staff["dara"].id
    assert outsider.post(f"/admin/users/{target}/unlock", data={"csrf_token": x_token}).status_code == 403
    helper = web()
    token = log_in(helper, unlocker)
    page = helper.get("/admin/users").text
    assert "locked" in page.split("dara.officer", 1)[1].split("</tr>", 1)[0]
    assert "Saved" in helper.post(f"/admin/users/{target}/unlock", data={"csrf_token": token}).text
    assert try_log_in(officer, "dara.officer", PASSWORD) == 303
    unlocked = actions(session, "login_unlocked")
    assert unlocked and unlocked[0].details["username"] == "dara.officer"
