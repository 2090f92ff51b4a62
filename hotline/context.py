"""What every request, job and CLI command needs besides a session: settings and loaded data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from hotline.benefits.service import Catalogue
from hotline.config import Settings
from hotline.content import TextLibrary
from hotline.keywords import KeywordMatcher, get_matcher
from hotline.overrides import overlaid_catalogue, overlaid_library
from hotline.phones import PhoneVault


@dataclass(frozen=True)
class Context:
    """Settings plus the objects built from them once per process."""

    settings: Settings
    vault: PhoneVault
    texts: TextLibrary
    matcher: KeywordMatcher
    catalogue: Catalogue
    tz: ZoneInfo

    def local_day(self, moment: datetime) -> date:
        """The calendar day in the hotline's time zone (rules in force are chosen by it)."""
        return moment.astimezone(self.tz).date()


def build_context(settings: Settings) -> Context:
    """Build the context for resolved settings (secrets filled in)."""
    return Context(
        settings=settings,
        vault=PhoneVault(settings.encryption_key_list(), settings.lookup_key),
        # The package's files with what staff changed laid over them (hotline/overrides.py).
        texts=overlaid_library(
            settings.templates_dir,
            settings.max_segments,
            settings.database_url,
            settings.timezone,
            reload_files=settings.development,
        ),
        matcher=get_matcher(),
        catalogue=overlaid_catalogue(settings.database_url, settings.timezone),
        tz=ZoneInfo(settings.timezone),
    )


async def get_context(request: Request) -> Context:
    """FastAPI dependency: the app's context (async: a plain function would run in a worker thread)."""
    ctx: Context = request.app.state.ctx
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]
