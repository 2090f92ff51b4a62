"""create_app(): settings, migrations on start, routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from hotline import health
from hotline.config import Settings, resolve_secrets
from hotline.context import build_context
from hotline.db import get_engine, migrate
from hotline.messaging import routes as messaging_routes
from hotline.sms import routes as sms_routes
from hotline.sms import simulator

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application; secrets are checked here so a misconfigured server never starts."""
    settings = resolve_secrets(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await run_in_threadpool(migrate, settings.database_url)
        if settings.development:
            log.warning("development mode: simulator at %s/simulator", settings.public_url.rstrip("/"))
        yield

    app = FastAPI(title="Batken hotline", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.ctx = build_context(settings)
    app.state.engine = get_engine(settings.database_url)
    app.include_router(health.router)
    app.include_router(sms_routes.router)
    app.include_router(messaging_routes.router)
    if settings.simulator_enabled:
        app.include_router(simulator.router)
    return app
