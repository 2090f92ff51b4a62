"""One access rule for every page: each route under /admin declares the roles it lets in (a role dependency, read by
hotline.staff.web.access_rule), and every other role gets 403 or a redirect there, never the page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from hotline.config import Settings
from hotline.main import create_app
from hotline.models import Jurisdiction, Role
from hotline.staff.web import Staff, access_rule
from tests.staff_pages import log_in, make_staff

Web = Callable[[], TestClient]

# The only admin routes open without a login (each with why): nothing else may be added here lightly.
NO_RULE_NEEDED = {
    ("GET", "/admin/login"),  # the login form
    ("POST", "/admin/login"),  # the login itself
    ("POST", "/admin/logout"),  # ends whatever session the cookie names (none: nothing to end)
    ("MOUNT", "/admin/static"),  # the stylesheet and script, the same for everyone
}
REDIRECTS = {302, 303, 307}


def admin_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, object]]:
    """(method, path, route) of every route under /admin, those of included routers and mounted apps too (a mount
    without routes of its own, like static files, is one entry with the method MOUNT)."""
    for context in iter_route_contexts(routes):  # FastAPI includes routers lazily: this is the routes it serves
        original = context.original_route
        path = prefix + (context.path or "")
        if isinstance(original, Mount):
            if original.routes:
                yield from admin_routes(original.routes, path)
            elif path.startswith("/admin"):
                yield "MOUNT", path, context
        elif path.startswith("/admin"):
            for method in sorted(context.methods or {"ANY"}):  # a websocket has no methods: it needs a rule too
                if method != "HEAD":
                    yield method, path, context


def routes_without_rule(app: FastAPI) -> list[str]:
    """Every admin route that declares no access rule and is not one of the few open ones."""
    return [
        f"{method} {path}"
        for method, path, route in admin_routes(app.routes)
        if access_rule(route) is None and (method, path) not in NO_RULE_NEEDED
    ]


def test_every_admin_route_declares_who_may_use_it(settings: Settings) -> None:
    app = create_app(settings)
    assert routes_without_rule(app) == []
    # The open ones still exist (a renamed login page must not leave a stale exception behind).
    present = {(method, path) for method, path, _ in admin_routes(app.routes)}
    assert NO_RULE_NEEDED <= present
    assert len(present) > 30, "the walk found the staff pages"


def test_a_route_added_without_a_rule_is_caught(settings: Settings) -> None:
    app = create_app(settings)

    def forgotten() -> str:
        return "every complaint"

    def guarded(user: Staff) -> str:
        return "mine"

    app.add_api_route("/admin/forgotten", forgotten, methods=["GET", "POST"])
    app.add_api_route("/admin/guarded", guarded)
    inner = FastAPI(openapi_url=None)
    inner.add_api_route("/report", forgotten)
    app.mount("/admin/extra", inner)
    app.mount("/admin/files", StaticFiles(directory=str(settings.voice_audio_dir), check_dir=False))
    assert routes_without_rule(app) == [
        "GET /admin/forgotten",
        "POST /admin/forgotten",
        "GET /admin/extra/report",
        "MOUNT /admin/files",
    ]


def test_every_role_not_allowed_gets_403_or_a_redirect(web: Web, session: Session) -> None:
    # One account of each role at the oblast (the widest area): a refusal here is the role's, not the area's.
    browsers: dict[Role, tuple[TestClient, str]] = {}
    for r in Role:
        make_staff(session, f"rules.{r.value}", r, Jurisdiction.OBLAST, "batken")
        browser = web()
        browsers[r] = (browser, log_in(browser, f"rules.{r.value}"))
    anonymous = web()
    app = anonymous.app
    assert isinstance(app, FastAPI)
    checked = 0
    for method, path, route in admin_routes(app.routes):
        if (method, path) in NO_RULE_NEEDED:
            continue
        allowed = access_rule(route) or frozenset()
        url = re.sub(r"{[^}]+}", "1", path)  # ids: what a page would be asked for; no row needs to exist
        callers = [(r.value, *browsers[r]) for r in Role if r not in allowed] + [("anonymous", anonymous, "")]
        for who, browser, token in callers:
            response = browser.request(
                method,
                url,
                data={"csrf_token": token} if method != "GET" else None,
                headers={"accept": "text/html"},
                follow_redirects=False,
            )
            assert response.status_code == 403 or response.status_code in REDIRECTS, (who, method, path)
            if who == "anonymous" and response.status_code in REDIRECTS:
                assert response.headers["location"].startswith("/admin/login"), (method, path)
            checked += 1
    assert checked > 50
