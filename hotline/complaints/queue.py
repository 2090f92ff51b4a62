"""The triage queue: filters, full-text search, due-date order, pages, counts per status, CSV export."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from hotline.complaints.reference import is_valid_reference
from hotline.models import Complaint, StaffUser, parse_int
from hotline.places import Place, get_gazetteer
from hotline.staff.access import place_in_area, visible_clause
from hotline.staff.audit import audit
from hotline.staff.csv_export import csv_stream
from hotline.staff.i18n import translator

PER_PAGE = 50
MAX_QUERY_CHARS = 200
_WORD = re.compile(r"\w+", re.UNICODE)
_REFERENCE_GAPS = re.compile(r"[\s\-.]")


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters as the page's query string gives them (all optional)."""

    status: str = ""
    category: str = ""
    municipality: str = ""
    assignee: str = ""  # "me", "none" or a user id
    overdue: bool = False
    anonymous: str = ""  # "yes", "no" or ""
    q: str = ""
    page: int = 1

    def params(self, **changes: Any) -> dict[str, str]:
        """The filter as query parameters (for links to other pages or sorts)."""
        f = replace(self, **changes)
        values = {
            "status": f.status,
            "category": f.category,
            "municipality": f.municipality,
            "assignee": f.assignee,
            "overdue": "1" if f.overdue else "",
            "anonymous": f.anonymous,
            "q": f.q,
            "page": str(f.page) if f.page > 1 else "",
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and what the page header shows."""

    rows: list[Complaint]
    total: int
    counts: dict[str, int]
    page: int
    pages: int
    counts_capped: bool = False  # the per-status counts stopped at COUNT_CAP: not shown
    total_capped: bool = False  # more than COUNT_CAP match: "1000+", and pages go on while they are full
    has_next: bool = False


def _words_clause(words: list[str], dialect: str) -> Any:
    if dialect == "postgresql":
        # Each word as a prefix, all required; served by the GIN index of the migration. Words are \w+ only,
        # so nothing the user typed reaches to_tsquery's own syntax.
        tsquery = " & ".join(f"{w}:*" for w in words)
        return func.to_tsvector(sa.literal_column("'simple'"), col(Complaint.text)).op("@@")(
            func.to_tsquery(sa.literal_column("'simple'"), tsquery)
        )
    # SQLite: casefold() is registered on every connection (hotline.db), for Cyrillic too
    return sa.and_(*(func.casefold(col(Complaint.text)).contains(w.casefold(), autoescape=True) for w in words))


def _place_clause(place: Place, dialect: str) -> Any:
    # A place typed as staff spell it ("Карабак" for Кара-Бак): the complaints from it, and those whose text names
    # it as the gazetteer writes it.
    text = col(Complaint.text)
    names = set(place.names.values())
    if dialect == "postgresql":
        named = [text.contains(v, autoescape=True) for n in names for v in {n, n.lower(), n.upper()}]
    else:
        named = [func.casefold(text).contains(n.casefold(), autoescape=True) for n in names]
    return sa.or_(col(Complaint.municipality_code) == place.code, col(Complaint.district_code) == place.code, *named)


def _search(query: Any, text: str, dialect: str) -> Any:
    text = text.strip()[:MAX_QUERY_CHARS]
    compact = _REFERENCE_GAPS.sub("", text)  # "8123 4847" or "8123-4847", as a reference is read out or written
    if is_valid_reference(compact):
        return query.where(Complaint.reference == compact)
    words = _WORD.findall(text.casefold())[:8]
    if not words:  # only punctuation: nothing can match it (rather than silently showing everything)
        return query.where(sa.false())
    place = get_gazetteer().find_by_name(text)
    if place is None:
        return query.where(_words_clause(words, dialect))
    return query.where(sa.or_(_words_clause(words, dialect), _place_clause(place, dialect)))


def village_choices(user: StaffUser) -> list[tuple[Place, list[Place]]]:
    """The municipalities the user's complaints can come from, by district (the queue's filter offers no other)."""
    gazetteer = get_gazetteer()
    choices = [
        (d, [m for m in gazetteer.municipalities[d.code] if place_in_area(user, m.code)]) for d in gazetteer.districts
    ]
    return [(d, villages) for d, villages in choices if villages]


def _filtered(user: StaffUser, f: QueueFilter, now: datetime, dialect: str, *, with_status: bool) -> Any:
    query = select(Complaint).where(visible_clause(user))
    if with_status and f.status:
        query = query.where(Complaint.status == f.status)
    if f.category:
        query = query.where(Complaint.category == f.category)
    if f.municipality:
        query = query.where(Complaint.municipality_code == f.municipality)
    if f.assignee == "me":
        query = query.where(Complaint.assignee_id == user.id)
    elif f.assignee == "none":
        query = query.where(col(Complaint.assignee_id).is_(None))
    elif (assignee := parse_int(f.assignee)) is not None:
        query = query.where(Complaint.assignee_id == assignee)
    if f.overdue:
        query = query.where(col(Complaint.due_at) < now)
    if f.anonymous in ("yes", "no"):
        query = query.where(Complaint.anonymous == (f.anonymous == "yes"))
    if f.q.strip():
        query = _search(query, f.q, dialect)
    return query


COUNT_CAP = 1000  # a filtered queue counts up to this many and then says "1000+" (exact counts read every row)


def _narrowed(f: QueueFilter) -> bool:
    return bool(f.category or f.municipality or f.assignee or f.overdue or f.anonymous or f.q.strip())


def queue_page(session: Session, user: StaffUser, f: QueueFilter, now: datetime) -> QueuePage:
    """The complaints a user may see, filtered, the soonest due first, a page at a time."""
    dialect = session.get_bind().dialect.name
    narrowed = _narrowed(f)
    # One grouped count gives both the per-status counts and the total. Unfiltered, it is exact and served from
    # the (area, level, status) indexes alone; with filters it stops after COUNT_CAP + 1 rows.
    inner = _filtered(user, f, now, dialect, with_status=False).with_only_columns(col(Complaint.status))
    base = (inner.limit(COUNT_CAP + 1) if narrowed else inner).subquery()
    counts = {
        str(status): int(n)
        for status, n in session.exec(select(base.c.status, func.count()).group_by(base.c.status)).all()
    }
    capped = narrowed and sum(counts.values()) > COUNT_CAP
    total = counts.get(f.status, 0) if f.status else sum(counts.values())
    if capped and f.status:
        matching = _filtered(user, f, now, dialect, with_status=True).with_only_columns(col(Complaint.id))
        total = session.exec(select(func.count()).select_from(matching.limit(COUNT_CAP + 1).subquery())).one()
    total_capped = capped and total > COUNT_CAP
    if total_capped:
        total = COUNT_CAP
    pages = max(1, -(-total // PER_PAGE))
    page = max(1, f.page) if total_capped else min(max(1, f.page), pages)
    rows = session.exec(
        _filtered(user, f, now, dialect, with_status=True)
        .order_by(col(Complaint.due_at).asc().nulls_last(), col(Complaint.id).desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    has_next = page < pages or (total_capped and len(rows) == PER_PAGE)
    return QueuePage(list(rows), total, counts, page, pages, capped, total_capped, has_next)


def newer_than(session: Session, user: StaffUser, f: QueueFilter, after_id: int, now: datetime) -> list[Complaint]:
    """Complaints filed since the page was drawn that match its filters (the page polls for these)."""
    dialect = session.get_bind().dialect.name
    query = _filtered(user, f, now, dialect, with_status=True).where(col(Complaint.id) > after_id)
    return list(session.exec(query.order_by(col(Complaint.id).desc()).limit(PER_PAGE)).all())


CSV_COLUMNS = [
    "reference",
    "created",
    "status",
    "category",
    "municipality",
    "district",
    "jurisdiction",
    "anonymous",
    "assignee",
    "first_answer_due",
    "resolution_due",
    "first_answered",
    "decided",
    "overdue",
    "text",
]


def export_queue(
    session: Session,
    user: StaffUser,
    f: QueueFilter,
    now: datetime,
    tz: ZoneInfo,
    *,
    language: str = "en",
    delimiter: str = ",",
) -> Iterator[str]:
    """The whole filtered queue as CSV for a spreadsheet in the staff member's language: headers, statuses,
    categories, places and people by name; without any phone number (none is in the complaint table)."""
    dialect = session.get_bind().dialect.name
    t = translator(language)
    gazetteer = get_gazetteer()
    staff = dict(session.exec(select(StaffUser.id, StaffUser.display_name)).all())

    def when(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M") if moment else ""

    def row(c: Complaint) -> list[object]:
        overdue = c.due_at is not None and c.due_at < now
        return [
            c.reference,
            when(c.created_at),
            t(f"status.{c.status}"),
            t(f"category.{c.category}"),
            gazetteer.area_name(c.municipality_code, language) if c.municipality_code else t("queue.unknown_village"),
            gazetteer.area_name(c.district_code, language) if c.district_code else "",
            t(f"level.{c.jurisdiction}"),
            t("yes") if c.anonymous else t("no"),
            staff.get(c.assignee_id, "") if c.assignee_id else "",
            when(c.first_answer_due),
            when(c.resolution_due),
            when(c.first_answered_at),
            when(c.decided_at),
            t("yes") if overdue else t("no"),
            c.text,
        ]

    query = _filtered(user, f, now, dialect, with_status=True).order_by(col(Complaint.id))
    rows = (row(c) for c in session.exec(query.execution_options(yield_per=1000)))
    yield from csv_stream([t(f"csv.{name}") for name in CSV_COLUMNS], rows, delimiter=delimiter)


def start_export(
    session: Session, user: StaffUser, f: QueueFilter, now: datetime, tz: ZoneInfo, *, delimiter: str = ","
) -> Iterator[str]:
    """The CSV of the filtered queue, its export audited first (the caller commits before the rows stream out)."""
    audit(session, user, "export_queue", now, filters=f.params())
    return export_queue(session, user, f, now, tz, language=user.ui_language, delimiter=delimiter)
