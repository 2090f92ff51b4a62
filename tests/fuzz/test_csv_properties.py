"""No cell of a CSV the app writes can start a spreadsheet formula, wherever a spreadsheet may cut it: at the start,
or after a `,` `;` tab or line break (a re-import with another separator, a paste), past spaces and quotes that an
import may trim. Harmless text comes out as it went in."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from hotline.context import Context
from hotline.models import StaffUser
from hotline.staff.csv_export import safe_cell
from tests.fuzz.strategies import fuzz_settings
from tests.staff_pages import log_in, make_complaint

SEPARATORS = ",;\t\r\n"
FORMULA = "=+-@"
# Text made mostly of what matters here (separators, formula characters, spaces, quotes), with any other character.
tricky = st.sampled_from([*SEPARATORS, *FORMULA, " ", "\u00a0", '"', "'", "a", "1", "ы"])
anything = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=3)
cell_text = st.lists(st.one_of(tricky, anything), max_size=16).map("".join)
harmless = st.text(st.characters(exclude_categories=["Cs"], exclude_characters=FORMULA + "\t\r"), max_size=40)


def formula_parts(cell: str) -> list[str]:
    """The parts of a cell a spreadsheet could read as a formula."""
    parts = [cell]
    for separator in SEPARATORS:
        parts = [piece for part in parts for piece in part.split(separator)]
    dangerous = []
    for part in parts:
        rest = part
        while rest and (rest[0].isspace() or rest[0] == '"'):  # trimmed or unquoted on import
            rest = rest[1:]
        if rest[:1] in tuple(FORMULA):
            dangerous.append(part)
    return dangerous


def assert_defused(cell: str) -> None:
    assert formula_parts(cell) == [], repr(cell)
    assert cell[:1] not in ("\t", "\r"), repr(cell)


@fuzz_settings(500)
@given(text=cell_text)
def test_no_part_of_a_defused_cell_starts_a_formula(text: str) -> None:
    assert_defused(safe_cell(text))


@fuzz_settings(200)
@given(text=cell_text)
def test_defusing_only_adds_quotes_and_twice_changes_nothing(text: str) -> None:
    defused = safe_cell(text)
    assert defused.replace("'", "") == text.replace("'", "")  # the text stays readable: nothing lost or reordered
    assert safe_cell(defused) == defused


@fuzz_settings(200)
@given(text=harmless)
def test_harmless_text_is_left_as_it_is(text: str) -> None:
    assert safe_cell(text) == text


def test_examples_read_naturally() -> None:
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("a;=cmd|' /C calc'!A0") == "a;'=cmd|' /C calc'!A0"
    assert safe_cell("цена 1000, -5% скидка") == "цена 1000, '-5% скидка"
    assert safe_cell('x," @SUM(1)"') == 'x," \'@SUM(1)"'
    assert safe_cell("\tпробел") == "'\tпробел"
    assert safe_cell("2026-03-12 a+b a=b e-mail@x") == "2026-03-12 a+b a=b e-mail@x"


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


@pytest.fixture
def supervisor(web: Callable[[], TestClient], staff: dict[str, StaffUser]) -> Iterator[TestClient]:
    """An oblast supervisor's browser, logged in once for every generated case."""
    browser = web()
    log_in(browser, "oblast.super")
    yield browser


@fuzz_settings(25)
@given(text=cell_text)
def test_exported_csv_files_hold_no_formula(supervisor: TestClient, session: Session, ctx: Context, text: str) -> None:
    # The text reaches the queue CSV as a complaint's text, and the audit CSV as the search its export recorded.
    make_complaint(session, ctx, text or "пусто")
    queue = supervisor.get("/admin/queue.csv")
    searched = supervisor.get("/admin/queue.csv", params={"q": text})
    audit = supervisor.get("/admin/audit.csv")
    for response in (queue, searched, audit):
        assert response.status_code == 200
        for cell in csv_cells(response.text):
            assert_defused(cell)
