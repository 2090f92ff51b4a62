"""Roles, jurisdictions, login, sessions and CSRF over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlmodel import Session, col, select

from hotline.config import Settings
from hotline.context import Context
from hotline.models import AuditEntry, LoginFailure, StaffUser
from tests.staff_pages import PASSWORD, csrf_from, log_in, make_complaint

Web = Callable[[], TestClient]


def test_every_admin_page_sends_anonymous_users_to_login(web: Web, staff: dict[str, StaffUser]) -> None:
    client = web()
    for path in (
        "/admin",
        "/admin/queue",
        "/admin/complaints/1",
        "/admin/audit",
        "/admin/dashboard",
        "/admin/users",
        "/admin/password",
        "/admin/queue.csv",
        "/admin/audit.csv",
        "/admin/content",
        "/admin/reference",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login?next=")


def test_wrong_roles_get_403(web: Web, staff: dict[str, StaffUser]) -> None:
    officer = web()
    log_in(officer, "dara.officer")
    for path in ("/admin/audit", "/admin/users", "/admin/content", "/admin/reference", "/admin/audit.csv"):
        assert officer.get(path, headers={"accept": "text/html"}).status_code == 403, path
    admin = web()
    log_in(admin, "admin")
    # Admins manage accounts and content; complaint contents are not theirs to read.
    for path in ("/admin/queue", "/admin/dashboard", "/admin/queue.csv"):
        assert admin.get(path).status_code == 403, path
    assert admin.get("/admin/users").status_code == 200


def test_login_refuses_wrong_password_and_throttles_after_five(
    web: Web, staff: dict[str, StaffUser], session: Session
) -> None:
    client = web()
    for _ in range(5):
        page = client.get("/admin/login")
        response = client.post(
            "/admin/login",
            data={"username": "dara.officer", "password": "wrong password!", "csrf_token": csrf_from(page.text)},
        )
        assert response.status_code == 401
        assert "Неверное имя пользователя или пароль" in response.text
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login", data={"username": "dara.officer", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    # Even the right password waits: the account is under attack.
    assert response.status_code == 429
    assert "Слишком много неудачных попыток" in response.text
    failures = session.exec(select(LoginFailure)).all()
    assert failures and all("dara" not in f.key for f in failures)  # usernames are kept only hashed
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "login_failed")).all()


def test_session_cookie_is_httponly_samesite_and_secure(web: Web, staff: dict[str, StaffUser]) -> None:
    client = web()
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"username": "dara.officer", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie and "path=/admin" in cookie


def test_forged_or_missing_csrf_token_is_refused_and_changes_nothing(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Аким просил деньги", municipality="kyshtut")
    client = web()
    log_in(client, "batken.super")
    for token in ("forged", ""):
        response = client.post(
            f"/admin/complaints/{complaint.id}/note",
            data={"note": "x", "csrf_token": token},
            headers={"accept": "text/html"},
        )
        assert response.status_code == 403
        assert "CSRF" in response.text
    session.expire_all()
    from hotline.complaints.service import events_of

    assert "note" not in [e.kind for e in events_of(session, complaint)]


def test_expired_session_asks_to_log_in_again(web: Web, staff: dict[str, StaffUser], settings: Settings) -> None:
    client = web()
    log_in(client, "dara.officer")
    cookie = client.cookies.get("hotline_session")
    assert cookie
    payload = cookie.rsplit(".", 2)[0]
    # The same session, signed 9 hours ago: past the 8-hour idle limit.
    signer = TimestampSigner(settings.secret_key)
    signer.get_timestamp = lambda: int(__import__("time").time()) - 9 * 3600  # type: ignore[method-assign]
    client.cookies.set("hotline_session", signer.sign(payload).decode(), domain="hotline.example.org", path="/admin")
    response = client.get("/admin/queue", follow_redirects=False)
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]
    assert "Сеанс истёк" in client.get(response.headers["location"]).text


def test_password_change_ends_other_sessions(web: Web, staff: dict[str, StaffUser], session: Session) -> None:
    officer = web()
    log_in(officer, "dara.officer")
    admin = web()
    token = log_in(admin, "admin")
    response = admin.post(
        f"/admin/users/{staff['dara'].id}", data={"active": "1", "password": "a new long password", "csrf_token": token}
    )
    assert response.status_code == 200 and "Saved" in response.text
    assert officer.get("/admin/queue", follow_redirects=False).status_code == 303


def test_login_does_not_redirect_to_other_sites(web: Web, staff: dict[str, StaffUser]) -> None:
    client = web()
    page = client.get("/admin/login?next=https://evil.example/")
    assert "evil" not in page.text
    response = client.post(
        "/admin/login",
        data={
            "username": "dara.officer",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/admin"


def test_officer_of_another_municipality_gets_403_and_the_attempt_is_audited(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Не выплатили пособие", municipality="dara")
    other = web()
    log_in(other, "kyshtut.officer")
    response = other.get(f"/admin/complaints/{complaint.id}", headers={"accept": "text/html"})
    assert response.status_code == 403
    assert complaint.text not in response.text
    denied = session.exec(select(AuditEntry).where(AuditEntry.action == "denied")).all()
    assert [(d.user_id, d.complaint_id) for d in denied] == [(staff["kyshtut"].id, complaint.id)]
    own = web()
    log_in(own, "dara.officer")
    assert complaint.text in own.get(f"/admin/complaints/{complaint.id}").text


def test_routed_corruption_complaint_is_hidden_from_the_accused_municipality(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    # "аким" names the municipality's own head: the complaint goes to the district.
    routed = make_complaint(session, ctx, "Аким айыл окмоту просил взятку 2000 сом", municipality="dara")
    plain = make_complaint(session, ctx, "Не выплатили пособие три месяца", municipality="dara", phone="+996555000111")
    assert routed.jurisdiction == "district" and plain.jurisdiction == "municipality"
    dara = web()
    log_in(dara, "dara.officer")
    queue = dara.get("/admin/queue").text
    assert plain.reference in queue and routed.reference not in queue
    assert dara.get(f"/admin/complaints/{routed.id}").status_code == 403
    assert dara.get("/admin/queue?q=взятку").text.count(routed.reference) == 0
    district = web()
    log_in(district, "batken.officer")
    queue = district.get("/admin/queue").text
    assert plain.reference in queue and routed.reference in queue
    kyshtut = web()
    log_in(kyshtut, "kyshtut.officer")
    assert routed.reference not in kyshtut.get("/admin/queue").text
    denied = session.exec(select(AuditEntry).where(AuditEntry.action == "denied")).all()
    assert [d.user_id for d in denied] == [staff["dara"].id]
    assert session.exec(select(StaffUser).where(col(StaffUser.username) == "dara.officer")).one().active
