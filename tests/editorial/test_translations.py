"""Translation review (#21 point 2): every text out as XLSX and PO, a reviewer's file back in, marked reviewed and by
whom; a spreadsheet with a missing column, a wrong language, a formula or a broken placeholder refused whole."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from babel.messages.pofile import read_po, write_po
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, select

from hotline.context import Context
from hotline.editorial import translations
from hotline.editorial.service import ContentRefused, current_source, needs_review
from hotline.models import ContentRevision, Jurisdiction, Role, StaffUser
from tests.staff_pages import make_staff

NAME = "reminders/labour_signs"


@pytest.fixture
def reviewer(session: Session, ctx: Context, monkeypatch: pytest.MonkeyPatch) -> StaffUser:
    monkeypatch.setattr("hotline.models.utcnow", lambda: now(ctx))
    return make_staff(session, "aida", Role.CONTENT, Jurisdiction.OBLAST, "batken")


def now(ctx: Context) -> datetime:
    return datetime(2026, 12, 1, 10, 0, tzinfo=ctx.tz)


def rows_of(data: bytes) -> tuple[list[str], list[list[str]]]:
    sheet = load_workbook(io.BytesIO(data)).active
    rows = [["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    return rows[0], rows[1:]


def to_xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    book = Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_reviewed_spreadsheet_round_trips(session: Session, ctx: Context, reviewer: StaffUser) -> None:
    header, rows = rows_of(translations.export_xlsx(ctx))
    assert header[:8] == list(translations.COLUMNS)
    at = {name: header.index(name) for name in header}
    (row,) = [r for r in rows if r[at["name"]] == NAME and r[at["language"]] == "ky"]
    assert row[at["needs_review"]] == "yes" and row[at["source_language"]] == "en"
    assert "needs_review" not in row[at["text"]] and row[at["source_text"]]
    assert NAME in translations.untranslated(ctx)["ky"]["unreviewed"]
    row[at["reviewed"]], row[at["reviewer"]] = "yes", "Гүлнара"
    row[at["text"]] = row[at["text"]].replace("\n", " ")  # a reviewer's edit: one line
    count = translations.apply_review(
        session, ctx, reviewer, translations.read_xlsx(to_xlsx(header, rows)), "", now(ctx)
    )
    assert count == 1  # the rows left as they were change nothing
    revision = session.exec(select(ContentRevision)).one()
    assert (revision.subject, revision.language, revision.reviewed_by) == (NAME, "ky", "Гүлнара")
    assert not needs_review(current_source(ctx, NAME, "ky"))
    assert NAME not in translations.untranslated(ctx)["ky"]["unreviewed"]
    _, again = rows_of(translations.export_xlsx(ctx))
    (row,) = [r for r in again if r[at["name"]] == NAME and r[at["language"]] == "ky"]
    assert row[at["needs_review"]] == "no"


def test_a_reviewed_po_file_round_trips(session: Session, ctx: Context, reviewer: StaffUser) -> None:
    catalog = read_po(io.BytesIO(translations.export_po(ctx, "ru")))
    message = next(m for m in catalog if m.context == NAME)
    assert message.fuzzy and message.auto_comments
    message.flags.discard("fuzzy")
    message.string = f"{message.string} "  # reviewed, the text kept
    catalog.last_translator = "Ольга Петрова <olga@example.org>"
    out = io.BytesIO()
    write_po(out, catalog)
    assert (
        translations.apply_review(session, ctx, reviewer, translations.read_po_file(out.getvalue()), "", now(ctx)) == 1
    )
    revision = session.exec(select(ContentRevision)).one()
    assert (revision.language, revision.reviewed_by) == ("ru", "Ольга Петрова")
    assert not needs_review(current_source(ctx, NAME, "ru"))
    again = read_po(io.BytesIO(translations.export_po(ctx, "ru")))
    assert not next(m for m in again if m.context == NAME).fuzzy


def edited(ctx: Context, change: str) -> bytes:
    header, rows = rows_of(translations.export_xlsx(ctx))
    at = {name: i for i, name in enumerate(header)}
    row = next(r for r in rows if r[at["name"]] == "help" and r[at["language"]] == "ky")
    row[at["reviewed"]] = "yes"
    if change == "column":
        return to_xlsx([h for h in header if h != "text"], [r[: at["text"]] + r[at["text"] + 1 :] for r in rows])
    if change == "language":
        row[at["language"]] = "kz"
    if change == "formula":
        row[at["reviewer"]] = '=HYPERLINK("http://evil.example","x")'
    if change == "placeholder":
        row[at["text"]] = row[at["text"]].replace("{% if free|default(false) %}", "{% if gratis %}")
    return to_xlsx(header, rows)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("column", "Missing column(s): text"),
        ("language", "Row "),
        ("formula", "holds a formula"),
        ("placeholder", "placeholders must stay"),
    ],
)
def test_a_bad_spreadsheet_is_refused_whole(
    session: Session, ctx: Context, reviewer: StaffUser, change: str, message: str
) -> None:
    with pytest.raises(ContentRefused) as refused:
        rows = translations.read_xlsx(edited(ctx, change))
        translations.apply_review(session, ctx, reviewer, rows, "", now(ctx))
    assert message in str(refused.value)
    if change == "language":
        assert "'kz'" in str(refused.value)
    assert session.exec(select(ContentRevision)).first() is None
    assert needs_review(current_source(ctx, "help", "ky"))
