"""What every request, job and CLI command needs besides a session: settings and loaded data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from hotline.benefits.service import Catalogue, get_catalogue
from hotline.config import Settings
from hotline.content import TextLibrary, get_library
from hotline.keywords import KeywordMatcher, get_matcher
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
        texts=get_library(settings.templates_dir, settings.max_segments),
        matcher=get_matcher(),
        catalogue=get_catalogue(),
        tz=ZoneInfo(settings.timezone),
    )


def get_context(request: Request) -> Context:
    """FastAPI dependency: the app's context."""
    ctx: Context = request.app.state.ctx
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]
