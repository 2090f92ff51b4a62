"""What staff changed over the files in the package (#21): the approved revisions of texts and programme rules, laid
over the seed files by the template loader and the catalogue. Cached per process: a change made here is seen at once
(changed()), one made by another process within RECHECK_SECONDS (a one-row query, never on every message)."""

from __future__ import annotations

import json
import logging
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from jinja2 import BaseLoader, Environment, FileSystemLoader
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from hotline import models
from hotline.benefits.service import PROGRAMMES_FILE, Catalogue, ProgrammeVersion
from hotline.content import TEMPLATE_SUFFIX, TextLibrary
from hotline.db import get_engine
from hotline.models import ContentRevision, RevisionKind, RevisionStatus

log = logging.getLogger(__name__)
RECHECK_SECONDS = 5.0
# The fields of a programme version kept in columns of their own (the rest are its facts).
VERSION_FIELDS = ("needs_review", "template")


@dataclass(frozen=True)
class Snapshot:
    """The approved revisions at one moment, each subject's versions oldest first."""

    generation: int
    texts: dict[tuple[str, str], list[tuple[date, str]]] = field(default_factory=dict)
    programmes: dict[str, list[tuple[date, str, dict[str, Any]]]] = field(default_factory=dict)

    def text(self, language: str, name: str, day: date) -> str | None:
        """The source of a text staff changed, in force on `day`; None: the file's."""
        found = None
        for start, source in self.texts.get((language, name), []):
            if start <= day:
                found = source
        return found


class Overlay:
    """One database's approved revisions, reloaded when they change."""

    def __init__(self, database_url: str, tz: ZoneInfo) -> None:
        self.database_url, self.tz = database_url, tz
        self._lock = threading.Lock()
        self._snapshot = Snapshot(0)
        self._stamp: tuple[Any, ...] | None = None
        self._checked = float("-inf")

    def today(self) -> date:
        """The hotline's day now (models.utcnow looked up at call time, so a test's controlled clock applies)."""
        return models.utcnow().astimezone(self.tz).date()

    def invalidate(self) -> None:
        """Look again at the next use."""
        self._checked = float("-inf")

    def snapshot(self) -> Snapshot:
        """The current revisions: the cached ones unless RECHECK_SECONDS passed or changed() was called."""
        if time.monotonic() - self._checked < RECHECK_SECONDS:
            return self._snapshot
        with self._lock:
            if time.monotonic() - self._checked >= RECHECK_SECONDS:
                self._refresh()
        return self._snapshot

    def _refresh(self) -> None:
        approved = col(ContentRevision.status) == RevisionStatus.APPROVED
        stamp_query = sa.select(
            sa.func.count(), sa.func.max(col(ContentRevision.id)), sa.func.max(col(ContentRevision.decided_at))
        ).where(approved)
        try:
            with get_engine(self.database_url).connect() as conn:
                stamp = tuple(conn.execute(stamp_query).one())
                if stamp != self._stamp:
                    rows = conn.execute(
                        select(ContentRevision)
                        .where(approved)
                        .order_by(col(ContentRevision.effective_from), col(ContentRevision.id))
                    ).all()
                    self._snapshot = _snapshot(
                        self._snapshot.generation + 1, [ContentRevision(**r._mapping) for r in rows]
                    )
                    self._stamp = stamp
        except SQLAlchemyError as exc:
            # An unreachable or not yet migrated database: keep answering with what is loaded (the seed at worst).
            log.warning("content overrides not reloaded: %s", type(exc).__name__)
        self._checked = time.monotonic()


def _snapshot(generation: int, rows: list[ContentRevision]) -> Snapshot:
    snapshot = Snapshot(generation)
    for row in rows:
        if row.kind == RevisionKind.TEXT and row.language:
            snapshot.texts.setdefault((row.language, row.subject), []).append((row.effective_from, row.body))
        elif row.kind == RevisionKind.PROGRAMME:
            fields = json.loads(row.body)
            snapshot.programmes.setdefault(row.subject, []).append((row.effective_from, row.source, fields))
    return snapshot


_OVERLAYS: dict[tuple[str, str], Overlay] = {}


def get_overlay(database_url: str, timezone: str) -> Overlay:
    """The process's overlay of one database."""
    return _OVERLAYS.setdefault((database_url, timezone), Overlay(database_url, ZoneInfo(timezone)))


def changed() -> None:
    """Staff changed content in this process: every overlay looks again at its next use."""
    for overlay in _OVERLAYS.values():
        overlay.invalidate()


class OverlayLoader(BaseLoader):
    """Jinja's loader: a text staff changed, in force today, else the file in the package. Jinja asks a loaded
    template's `uptodate` at every render: it compares the overlay's generation and the day (in memory), and only
    with `reload_files` (development) also stats the file, so an edited file shows at the next render."""

    def __init__(self, files: FileSystemLoader, overlay: Overlay, reload_files: bool = True) -> None:
        self.files, self.overlay, self.reload_files = files, overlay, reload_files

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        snapshot, day = self.overlay.snapshot(), self.overlay.today()
        language, _, rest = template.partition("/")
        source = snapshot.text(language, rest.removesuffix(TEMPLATE_SUFFIX), day)

        def uptodate(files_fresh: Callable[[], bool] = lambda: True) -> bool:
            return (
                files_fresh()
                and self.overlay.snapshot().generation == snapshot.generation
                and (self.overlay.today() == day)
            )

        if source is not None:
            return source, None, uptodate
        text, filename, files_fresh = self.files.get_source(environment, template)
        return text, filename, (lambda: uptodate(files_fresh)) if self.reload_files else uptodate


@lru_cache(maxsize=8)
def overlaid_library(
    root: Path, max_segments: int, database_url: str, timezone: str, reload_files: bool = True
) -> TextLibrary:
    """The template library whose texts staff may have changed (SMS and spoken alike); `reload_files` (development)
    also sees an edited file at once, production compiles each file once (the package's files do not change)."""
    library = TextLibrary(root, max_segments)
    overlay = get_overlay(database_url, timezone)
    for env in (library.env, library.speech_env):
        env.loader = OverlayLoader(FileSystemLoader(str(root)), overlay, reload_files)
    return library


class OverlaidCatalogue(Catalogue):
    """The shipped programmes with the versions staff approved: the latest in force on a day answers."""

    def __init__(self, data: dict[str, Any], overlay: Overlay) -> None:
        super().__init__(data)
        self.overlay = overlay
        self._built: tuple[int, dict[str, list[ProgrammeVersion]]] = (-1, {})

    def staff_versions(self) -> dict[str, list[ProgrammeVersion]]:
        """The approved versions by programme, oldest first (built once per snapshot)."""
        snapshot = self.overlay.snapshot()
        if self._built[0] != snapshot.generation:
            built: dict[str, list[ProgrammeVersion]] = {}
            for pid, versions in snapshot.programmes.items():
                seed = self.seed_versions(pid)
                if seed:
                    built[pid] = [staff_version(seed[0], start, source, fields) for start, source, fields in versions]
            self._built = (snapshot.generation, built)
        return self._built[1]

    def seed_versions(self, programme_id: str) -> list[ProgrammeVersion]:
        """The versions in the package's file."""
        return list(self._versions.get(programme_id, []))

    def all_versions(self) -> list[ProgrammeVersion]:
        return super().all_versions() + [v for versions in self.staff_versions().values() for v in versions]

    def in_force(self, programme_id: str, day: date) -> ProgrammeVersion | None:
        current = super().in_force(programme_id, day)
        for version in self.staff_versions().get(programme_id, []):
            # On the same day a staff version wins over the file's (it was made later, on purpose).
            if version.effective_from <= day and (current is None or version.effective_from >= current.effective_from):
                current = version
        return current


def staff_version(seed: ProgrammeVersion, start: date, source: str, fields: dict[str, Any]) -> ProgrammeVersion:
    """A programme version from a revision's fields (the programme's id and number from the seed)."""
    facts = {k: v for k, v in fields.items() if k not in VERSION_FIELDS}
    return ProgrammeVersion(
        seed.id,
        seed.number,
        start,
        bool(fields.get("needs_review", seed.needs_review)),
        source,
        str(fields.get("template", seed.template)),
        facts,
    )


@lru_cache(maxsize=8)
def overlaid_catalogue(database_url: str, timezone: str) -> OverlaidCatalogue:
    """The catalogue the hotline answers with."""
    data = tomllib.loads(PROGRAMMES_FILE.read_text(encoding="utf-8"))
    return OverlaidCatalogue(data, get_overlay(database_url, timezone))
