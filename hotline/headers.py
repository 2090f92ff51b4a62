"""Security headers on every response: a Content-Security-Policy that runs no inline code and forbids framing, no
content sniffing, no Referer; staff pages (complaints, numbers, the audit) and every CSV are never stored."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages load scripts, styles, audio and fetches from this server only; nothing inline (an injected <script> or
# onclick= does not run), no plugins, no <base> rewriting links, forms post here only, no page inside a frame.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),  # a complaint's URL (its id) never reaches another site
    ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers that predate it
)
STAFF_PREFIX = "/admin"
STATIC_PREFIX = "/admin/static/"  # the pages' scripts and styles: nothing personal, may be cached


def never_stored(path: str, content_type: str) -> bool:
    """A staff page (anything under /admin but its static files) or a CSV download, wherever it comes from."""
    if content_type.split(";")[0].strip().lower() == "text/csv":
        return True
    staff = path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")
    return staff and not path.startswith(STATIC_PREFIX)


class SecurityHeaders:
    """ASGI middleware: adds HEADERS to every HTTP response (a route's own value wins) and Cache-Control: no-store
    to what must never sit in a browser's or a proxy's cache."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    headers.setdefault(name, value)
                if never_stored(path, headers.get("content-type", "")):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
