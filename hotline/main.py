"""create_app(): settings, migrations on start, routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from hotline import metrics as metrics_routes
from hotline import probes
from hotline.admin import routes as admin_routes
from hotline.channels import android, kannel, twilio
from hotline.complaints import routes as complaint_routes
from hotline.complaints.categories import get_rules
from hotline.config import Settings, resolve_secrets
from hotline.content import LANGUAGES
from hotline.context import build_context
from hotline.db import POOL_SIZE, get_engine, migrate
from hotline.editorial import routes as editorial_routes
from hotline.engine import handle
from hotline.fastpath import FastPath
from hotline.headers import SecurityHeaders
from hotline.logs import RequestContext
from hotline.metrics import WebhookMetrics, registry_for
from hotline.polls import routes as poll_routes
from hotline.publications import routes as publication_routes
from hotline.reminders import importer
from hotline.reminders import routes as reminder_routes
from hotline.reminders.reports import OUTCOMES
from hotline.scheduler import build_scheduler
from hotline.simulator import sms as simulator
from hotline.staff import routes as staff_routes
from hotline.staff import web
from hotline.voice import routes as voice_routes
from hotline.voice import simulator as voice_simulator

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application; secrets are checked here so a misconfigured server never starts."""
    settings = resolve_secrets(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Request threads no more than pooled connections: more would only wait for a connection, or open one.
        anyio.to_thread.current_default_thread_limiter().total_tokens = POOL_SIZE
        if settings.migrate_on_start:
            await run_in_threadpool(migrate, settings.database_url)
        if settings.development:
            log.warning("development mode: simulator at %s/simulator", settings.public_url.rstrip("/"))
        scheduler = build_scheduler(settings, blocking=False) if settings.scheduler_in_process else None
        if scheduler is not None:
            scheduler.start()
            log.info("scheduler running in this process (HOTLINE_SCHEDULER_IN_PROCESS)")
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            await app.state.fast.aclose()

    # The API description only in development: in production it would map every route for an attacker. /docs and
    # /redoc stay off everywhere (Swagger UI needs an inline script and a CDN, which the CSP forbids).
    openapi_url = "/openapi.json" if settings.development else None
    app = FastAPI(title="Batken hotline", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=openapi_url)
    app.state.ctx = build_context(settings)
    app.state.engine = get_engine(settings.database_url)
    app.state.metrics = registry_for(app.state.engine, settings.channel_list)
    app.state.fast = FastPath(app.state.ctx, app.state.engine)
    app.include_router(probes.router)
    probes.install_database_errors(app)  # a database outage is a 503 (Twilio's fallback answers), not a 500
    app.include_router(metrics_routes.router)
    app.add_middleware(WebhookMetrics)
    app.add_middleware(RequestContext)  # outside the routes and metrics: every log line of a request has its id

    # Every channel hands its messages to the one conversation engine. Twilio's routes stay on for the voice line
    # and its signed callbacks; a channel's routes refuse requests while it is not in HOTLINE_CHANNELS.
    app.include_router(twilio.routes(handle, app.state.fast.answer))
    app.include_router(kannel.routes(handle, app.state.fast.answer))
    app.include_router(android.routes(handle, app.state.fast.answer))
    app.include_router(voice_routes.router)
    if settings.simulator_enabled:
        app.include_router(simulator.router)
        app.include_router(voice_simulator.router)
        app.mount("/simulator/static", StaticFiles(directory=simulator.STATIC_DIR), name="simulator-static")
    web.install(
        app,
        [
            staff_routes.router,
            complaint_routes.router,
            admin_routes.router,
            reminder_routes.router,
            poll_routes.router,
            editorial_routes.router,
            publication_routes.router,
        ],
        page_values={"categories": list(get_rules().categories), "outcomes": list(OUTCOMES), "languages": LANGUAGES},
        # The CSV import, with room for the form around the file.
        upload_limits={
            "/admin/enrol/import": importer.MAX_BYTES + 64 * 1024,
            "/admin/edit/translations": editorial_routes.MAX_UPLOAD_BYTES + 64 * 1024,
        },
    )
    # Whoever opens the bare address (field staff after `make run`, staff at the production domain) lands on a page.
    home = "/simulator" if settings.simulator_enabled else "/admin"
    app.add_api_route("/", lambda: RedirectResponse(home), methods=["GET"], include_in_schema=False)
    app.add_middleware(SecurityHeaders)  # added last, so outermost: even a 500 written by a middleware has them
    return app
