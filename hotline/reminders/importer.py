"""Enrolment by staff: one form, or a CSV file checked whole before anything is written (re-import is safe)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, select

from hotline.content import LANGUAGES
from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.keywords import fold
from hotline.models import Enrolment, EnrolmentKind, Household, Volunteer, parse_int
from hotline.phones import InvalidPhone, normalise_phone
from hotline.places import get_gazetteer
from hotline.reminders.dates import is_one_of, parse_date, pregnancy_month
from hotline.reminders.service import (
    EnrolmentError,
    check_birth_date,
    check_due_date,
    due_date_from_month,
    enrol,
    household_of,
)
from hotline.staff.i18n import Explained, catalogues

COLUMNS = ("phone", "kind", "date", "language", "municipality", "send_hour", "consent")
REQUIRED = ("phone", "kind", "date", "consent")
MAX_ROWS = 50_000
MAX_BYTES = 5 * 1024 * 1024


class Problem(Explained):
    """One problem of an import file, with its line, in every interface language."""


class ImportRejected(ValueError):
    """The file cannot be imported; nothing was written. `errors` lists every problem with its line."""

    def __init__(self, errors: list[Problem]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:5]))
        self.errors = errors


@dataclass(frozen=True)
class Row:
    """One checked row, ready to write."""

    line: int
    phone: str
    kind: EnrolmentKind
    day: date
    language: str
    municipality: str | None
    send_hour: int


@dataclass
class ImportResult:
    """What an import wrote."""

    rows: int = 0
    new_households: int = 0
    new_enrolments: int = 0
    already_there: int = 0
    errors: list[str] = field(default_factory=list)


def read_csv(data: bytes) -> list[dict[str, str]]:
    """The rows of an uploaded file (UTF-8, with or without BOM; comma or semicolon), or ImportRejected."""
    if len(data) > MAX_BYTES:
        raise ImportRejected([Problem("import_big", mb=MAX_BYTES // 1024 // 1024)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected([Problem("import_encoding", byte=exc.start)]) from exc
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    problems = []
    if missing:
        problems.append(Problem("import_missing", columns=", ".join(missing), expected=", ".join(COLUMNS)))
    if unknown:
        problems.append(Problem("import_unknown", columns=", ".join(unknown), expected=", ".join(COLUMNS)))
    if problems:
        raise ImportRejected(problems)
    reader.fieldnames = header
    rows = [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    if len(rows) > MAX_ROWS:
        raise ImportRejected([Problem("import_rows", max=MAX_ROWS)])
    return rows


def kind_named(text: str) -> EnrolmentKind | None:
    """The enrolment kind a file names by its code (pregnancy, child) or as the form shows it in any interface
    language (беременность, ребёнок), forgiving case and ё/е."""
    typed = fold(text.strip())
    for kind in (EnrolmentKind.PREGNANCY, EnrolmentKind.CHILD):
        names = {kind.value, *(c[f"stage.{kind.value}"] for c in catalogues().values() if f"stage.{kind.value}" in c)}
        if typed and typed in {fold(name) for name in names}:
            return kind
    return None


def check_row(raw: dict[str, str], line: int, today: date) -> tuple[Row | None, list[Problem]]:
    """A row checked the way the SMS dialogue checks a family's answers."""
    errors: list[Problem] = []
    phone = ""
    try:
        phone = normalise_phone(raw.get("phone", ""))
    except InvalidPhone:
        errors.append(Problem("import_phone", line=line, value=raw.get("phone", "")[:20]))
    kind_text = raw.get("kind", "")
    kind = kind_named(kind_text)
    if kind is None:
        errors.append(Problem("import_kind", line=line, value=kind_text[:20]))
    language = raw.get("language") or "ky"
    if language not in LANGUAGES:
        errors.append(Problem("import_language", line=line, languages=", ".join(LANGUAGES)))
    typed = raw.get("municipality") or None
    place = get_gazetteer().get(typed) or (get_gazetteer().find_exact_name(typed) if typed else None)
    municipality = place.code if place else typed
    if typed and (place is None or place.district is None):
        errors.append(Problem("import_municipality", line=line, value=typed[:32]))
    hour_text = raw.get("send_hour") or "10"
    send_hour = parse_int(hour_text)
    if send_hour is None or send_hour > 23:
        errors.append(Problem("import_hour", line=line))
    consent = raw.get("consent", "").strip()
    # Staff's spreadsheets say Y as often as yes (a family's SMS "y" is not taken: it folds to Cyrillic "и").
    if consent.upper() != "Y" and not is_one_of(consent, "yes"):
        errors.append(Problem("import_consent", line=line))
    day = None
    text = raw.get("date", "")
    try:
        if kind == EnrolmentKind.PREGNANCY:
            month = pregnancy_month(text)
            day = due_date_from_month(month, today) if month is not None else parse_date(text, "ru", today)
            if day is not None:
                check_due_date(day, today)
        elif kind == EnrolmentKind.CHILD:
            day = parse_date(text, "ru", today)
            if day is not None:
                check_birth_date(day, today)
        if kind is not None and day is None:
            errors.append(Problem("import_date", line=line, value=text[:20]))
    except EnrolmentError as refused:
        errors.append(Problem(f"import_{refused.reason}", line=line))
    if errors or kind is None or day is None or send_hour is None:
        return None, errors
    return Row(line, phone, kind, day, language, municipality, send_hour), []


def check_all(raw_rows: list[dict[str, str]], today: date) -> list[Row]:
    """Every row checked, duplicates within the file refused; ImportRejected lists all problems at once."""
    rows: list[Row] = []
    errors: list[Problem] = []
    seen: dict[tuple[str, EnrolmentKind, date], int] = {}
    for number, raw in enumerate(raw_rows, start=2):  # line 1 is the header
        row, problems = check_row(raw, number, today)
        errors.extend(problems)
        if row is None:
            continue
        key = (row.phone, row.kind, row.day)
        if key in seen:
            errors.append(Problem("import_duplicate", line=number, first=seen[key]))
            continue
        seen[key] = number
        rows.append(row)
    if not raw_rows:
        errors.append(Problem("import_empty"))
    if errors:
        raise ImportRejected(errors)
    return rows


def write_rows(
    session: Session,
    ctx: Context,
    rows: list[Row],
    now: datetime,
    channel: str,
    progress: Callable[[int], None] | None = None,
    in_area: Callable[[str | None], bool] | None = None,
) -> ImportResult:
    """Write checked rows (the caller commits once: all or nothing); already enrolled ones are left as they are.

    For staff, `in_area` says which municipalities are theirs: a number whose household lies elsewhere keeps that
    household as it is (only the pregnancy or child is added, so the family gets its reminders) and is counted as a
    new household and enrolment, so the answer says nothing about whether it was enrolled."""
    result = ImportResult(rows=len(rows))
    today = ctx.local_day(now)
    for done, row in enumerate(rows, start=1):
        contact = get_or_create_contact(session, ctx, row.phone, now)
        if contact.id is None:
            session.flush()
        existing = session.exec(select(Household).where(Household.contact_id == contact.id)).first()
        elsewhere = existing is not None and in_area is not None and not in_area(existing.municipality_code)
        if existing is None:
            contact.language = row.language
            session.add(contact)
        if existing is None or elsewhere:
            result.new_households += 1
        household = existing or household_of(session, contact, now, channel, row.municipality)
        if not elsewhere:
            household.send_hour = row.send_hour
            session.add(household)
        before = _count(session, household)
        dates = {"due_date": row.day} if row.kind == EnrolmentKind.PREGNANCY else {"birth_date": row.day}
        enrol(session, household, row.kind, now, today, **dates)
        if elsewhere or _count(session, household) > before:
            result.new_enrolments += 1
        else:
            result.already_there += 1
        if progress:
            progress(done)
    return result


def _count(session: Session, household: Household) -> int:
    return len(session.exec(select(Enrolment.id).where(Enrolment.household_id == household.id)).all())


class StaffRequestError(Explained):
    """A staff request (a volunteer, an enrolment action) that cannot be done as asked."""


def register_volunteer(
    session: Session, ctx: Context, phone: str, municipality: str, name: str, now: datetime
) -> Volunteer:
    """Register (or reactivate) a volunteer for a municipality; the number is stored only encrypted."""
    place = get_gazetteer().get(municipality)
    if place is None or place.district is None:
        raise StaffRequestError("municipality", code=municipality)
    contact = get_or_create_contact(session, ctx, phone, now)
    volunteer = session.exec(select(Volunteer).where(Volunteer.contact_id == contact.id)).first()
    if volunteer is None:
        volunteer = Volunteer(
            contact_id=contact.id or 0, municipality_code=municipality, name=name[:120], created_at=now
        )
    volunteer.municipality_code, volunteer.active, volunteer.name = municipality, True, name[:120] or volunteer.name
    session.add(volunteer)
    session.flush()
    return volunteer
