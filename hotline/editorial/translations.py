"""Translation review (#21 point 2): every family-facing text out to a native reviewer as a spreadsheet (XLSX) or
gettext PO, and back in, checked as a staff edit is (placeholders, syntax, segment budget), all or nothing."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlmodel import Session

from hotline.content import LANGUAGES
from hotline.context import Context
from hotline.editorial.service import (
    REVIEW_MARK,
    ContentRefused,
    current_source,
    is_voice,
    needs_review,
    prepare_text,
    save,
    text_names,
    without_mark,
)
from hotline.models import ContentRevision, StaffUser

SOURCE_LANGUAGE = "en"  # the texts were drafted in English; the others are translations of it
COLUMNS = ("name", "language", "source_language", "source_text", "context", "needs_review", "text", "reviewed")
REQUIRED = ("name", "language", "text", "reviewed")
REVIEWER_COLUMN = "reviewer"
YES = frozenset({"yes", "y", "1", "true", "да", "ооба", "ha", "x", "✓"})
MAX_ROWS = 5000


@dataclass(frozen=True)
class TextRow:
    """One text in one language, as a reviewer sees it."""

    name: str
    language: str
    source_text: str
    context: str
    needs_review: bool
    text: str  # empty: not translated


@dataclass(frozen=True)
class Reviewed:
    """One row a reviewer sent back."""

    row: int
    name: str
    language: str
    text: str
    reviewed: bool
    reviewer: str


def _context(ctx: Context, name: str) -> str:
    if is_voice(name):
        return f"{name}: spoken on the voice line (no SMS limit); keep every {{{{ ... }}}} and {{% ... %}} as it is"
    return f"{name}: SMS, at most {ctx.texts.budget(name)} segment(s); keep every {{{{ ... }}}} and {{% ... %}}"


def text_rows(ctx: Context) -> list[TextRow]:
    """Every text in every language, in force today, with its English source and review state."""
    rows = []
    names = {language: set(text_names(ctx, language)) for language in LANGUAGES}
    for name in text_names(ctx, SOURCE_LANGUAGE):
        source = without_mark(current_source(ctx, name, SOURCE_LANGUAGE))
        for language in LANGUAGES:
            present = name in names[language]
            text = current_source(ctx, name, language) if present else ""
            rows.append(
                TextRow(
                    name, language, source, _context(ctx, name), needs_review(text) or not present, without_mark(text)
                )
            )
    return rows


def untranslated(ctx: Context) -> dict[str, dict[str, list[str]]]:
    """Per language, the texts missing (or still the English words) and those not reviewed by a native speaker."""
    found: dict[str, dict[str, list[str]]] = {lang: {"untranslated": [], "unreviewed": []} for lang in LANGUAGES}
    for row in text_rows(ctx):
        if not row.text or (row.language != SOURCE_LANGUAGE and row.text == row.source_text):
            found[row.language]["untranslated"].append(row.name)
        elif row.needs_review:
            found[row.language]["unreviewed"].append(row.name)
    return found


def export_xlsx(ctx: Context) -> bytes:
    """The spreadsheet a reviewer fills in: `text` to correct, `reviewed` = yes, `reviewer` = their name."""
    book = Workbook()
    sheet = book.active
    sheet.title = "texts"
    sheet.append([*COLUMNS, REVIEWER_COLUMN])
    for row in text_rows(ctx):
        values = [
            row.name,
            row.language,
            SOURCE_LANGUAGE,
            row.source_text,
            row.context,
            "yes" if row.needs_review else "no",
            row.text,
            "",
            "",
        ]
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            cell.data_type = "s"  # a text starting with "=" stays text, never a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_xlsx(data: bytes) -> list[Reviewed]:
    """The rows of a reviewer's spreadsheet; ContentRefused for a missing column, a formula, a file that is not
    XLSX."""
    try:
        book = load_workbook(io.BytesIO(data), data_only=False, read_only=False)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise ContentRefused("content_not_xlsx") from exc
    sheet = book.worksheets[0]
    if sheet.max_row > MAX_ROWS + 1:
        raise ContentRefused("content_too_many_rows", most=MAX_ROWS)
    rows = list(sheet.iter_rows())
    for row in rows:
        for cell in row:
            if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                raise ContentRefused("content_formula", cell=cell.coordinate)
    header = [str(c.value or "").strip().lower() for c in rows[0]] if rows else []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ContentRefused("content_columns", columns=", ".join(missing))
    at = {name: header.index(name) for name in (*REQUIRED, REVIEWER_COLUMN) if name in header}
    found = []
    for number, row in enumerate(rows[1:], 2):
        values = [("" if c.value is None else str(c.value)) for c in row]
        if not any(v.strip() for v in values):
            continue

        def value(column: str, values: list[str] = values) -> str:
            index = at.get(column)
            return values[index] if index is not None and index < len(values) else ""

        reviewed = value("reviewed").strip().lower() in YES
        found.append(
            Reviewed(
                number, value("name").strip(), value("language").strip(), value("text"), reviewed, value("reviewer")
            )
        )
    return found


def export_po(ctx: Context, language: str) -> bytes:
    """One language as a gettext catalogue: msgctxt the text's name, msgid the English, fuzzy while not reviewed."""
    if language not in LANGUAGES:
        raise ContentRefused("content_language", code=language, languages=", ".join(LANGUAGES))
    catalog = Catalog(locale=language, project="Batken hotline", charset="utf-8")
    for row in text_rows(ctx):
        if row.language == language:
            flags = ["fuzzy"] if row.needs_review else []
            catalog.add(row.source_text, row.text, auto_comments=[row.context], flags=flags, context=row.name)
    out = io.BytesIO()
    write_po(out, catalog, width=0, omit_header=False)
    return out.getvalue()


def read_po_file(data: bytes) -> list[Reviewed]:
    """A reviewer's PO file: its Language header, each entry reviewed unless marked fuzzy."""
    try:
        catalog = read_po(io.BytesIO(data), abort_invalid=True)
    except Exception as exc:  # Babel raises its own and plain errors on a file that is not PO
        raise ContentRefused("content_not_po") from exc
    language = str(catalog.locale) if catalog.locale else ""
    if language not in LANGUAGES:
        raise ContentRefused("content_language", code=language or "—", languages=", ".join(LANGUAGES))
    reviewer = (catalog.last_translator or "").split("<")[0].strip()
    reviewer = "" if reviewer.upper() == "FULL NAME" else reviewer
    found = []
    for number, message in enumerate(catalog, 1):
        if not message.id:
            continue  # the header
        if not message.context:
            raise ContentRefused("content_po_context", row=number)
        text = message.string if isinstance(message.string, str) else ""
        found.append(Reviewed(number, message.context, language, text, not message.fuzzy, reviewer))
    return found


def import_review(
    ctx: Context, user: StaffUser, rows: list[Reviewed], reviewer: str, now: datetime
) -> list[ContentRevision]:
    """New versions for the texts the reviewer changed or marked reviewed; nothing if one row is refused."""
    revisions = []
    today = ctx.local_day(now)
    names = {language: set(text_names(ctx, language)) for language in LANGUAGES}
    for row in rows:
        if row.language not in LANGUAGES:
            raise ContentRefused(
                "content_row", row=row.row, error=f"language {row.language!r} ({', '.join(LANGUAGES)})"
            )
        if row.name not in names[row.language]:
            raise ContentRefused("content_row", row=row.row, error=f"no text {row.name!r}")
        if not row.text.strip():
            continue  # left untranslated
        old = current_source(ctx, row.name, row.language)
        text = row.text.replace("\r\n", "\n").strip("\n")
        mark = REVIEW_MARK.search(old)
        if text == without_mark(old) and (mark is None or not row.reviewed):
            continue  # neither changed nor newly reviewed
        # Not reviewed yet: a marked text keeps its mark.
        body = mark.group(0) + text if mark and not row.reviewed else text
        who = (row.reviewer or reviewer).strip()[:120] or user.display_name
        try:
            revisions.append(
                prepare_text(
                    ctx,
                    user,
                    name=row.name,
                    language=row.language,
                    body=body,
                    effective_from=today,
                    source=f"translation review: {who}",
                    now=now,
                    reviewed_by=who if row.reviewed else None,
                )
            )
        except ContentRefused as refused:
            raise ContentRefused(
                "content_row", row=row.row, error=f"{row.language}/{row.name}: {refused.text(user.ui_language)}"
            ) from refused
    return revisions


def apply_review(
    session: Session, ctx: Context, user: StaffUser, rows: list[Reviewed], reviewer: str, now: datetime
) -> int:
    """Check every row, then save the new versions together (audited); how many texts changed."""
    revisions = import_review(ctx, user, rows, reviewer, now)
    save(session, user, revisions, now)
    return len(revisions)
