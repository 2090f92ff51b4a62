"""Liveness and readiness probes for load balancers and operators."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hotline.db import SessionDep

router = APIRouter()
log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
# Errors that mean "the database cannot be reached or dropped the connection", not "this request is wrong": the
# server is restarting, the network failed, the pool is exhausted. Anything else stays a 500 with its traceback.
UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(session: SessionDep) -> JSONResponse:
    """The database answers; 503 otherwise, so a balancer stops sending traffic here."""
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except SQLAlchemyError as exc:
        log.error("readiness: database unreachable: %s", type(exc).__name__)
        return JSONResponse({"status": "database unreachable"}, status_code=503)
    return JSONResponse({"status": "ready"})


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """503 with Retry-After when the database is down: Twilio then calls the fallback URL (a 500 would too, but
    with a traceback in our log for what is an outage, not a bug). Logged with the error's class, never its SQL."""
    orig = getattr(exc, "orig", None) or exc  # the driver's error (psycopg's OperationalError, AdminShutdown, …)
    state = getattr(orig, "sqlstate", None)
    log.warning(
        "database unavailable, answered 503: %s%s",
        type(orig).__name__,
        f" ({state})" if state else "",
        extra={"error": type(orig).__name__},
    )
    return PlainTextResponse(
        "Service temporarily unavailable", status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def install_database_errors(app: FastAPI) -> None:
    """Answer database outages with 503 on every route (webhooks, admin pages, probes)."""
    for error in UNAVAILABLE:
        app.add_exception_handler(error, database_unavailable)
