"""CSV files for staff to open in a spreadsheet, with every cell defused so that none can run as a formula.

A spreadsheet runs a cell that starts with = + - or @ (CSV injection), and it may cut a cell into several: a
re-import with `;` or tab as the separator, a paste that splits at line breaks, trimming spaces and quotes on the
way. So a formula character is defused wherever such a part could begin: at the start of the cell, or after a
`,` `;` tab or line break, past any spaces and double quotes. Defusing puts a single quote just before the
character (`a;=cmd` becomes `a;'=cmd`), the mark spreadsheets read as "this is text"; nothing is removed, and text
without such a spot (almost all text) is left as it is. A cell that starts with a tab or a carriage return gets
a quote in front too, as OWASP advises."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

# Excel reads a CSV file as the computer's old code page (Cyrillic as mojibake) unless it starts with this mark.
BOM = "\ufeff"
# A Russian Excel splits columns at ";" (its list separator), not ",": the download links offer both.
DELIMITERS = {"": ",", "comma": ",", "semicolon": ";"}
FORMULA_START = frozenset("=+-@")
SEPARATORS = frozenset(",;\t\r\n")
LEADING_BLANKS = frozenset("\t\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: str) -> str:
    """The cell with a ' before every formula character that begins a part a spreadsheet could read alone."""
    out = ["'"] if value[:1] in LEADING_BLANKS else []
    part_start = True  # at the start of the cell or of a part after a separator, spaces and quotes skipped
    for char in value:
        if part_start and char in FORMULA_START:
            out.append("'")
            part_start = False
        elif char in SEPARATORS:
            part_start = True
        elif not (char.isspace() or char == '"'):
            part_start = False
        out.append(char)
    return "".join(out)


class SafeWriter:
    """csv.writer whose every cell goes through safe_cell (numbers and None too, written as text)."""

    def __init__(self, stream: _Writable, delimiter: str = ",") -> None:
        self._writer = csv.writer(stream, delimiter=delimiter)

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row, each cell defused."""
        self._writer.writerow([safe_cell("" if cell is None else str(cell)) for cell in row])


def csv_stream(header: Iterable[object], rows: Iterable[Iterable[object]], *, delimiter: str = ",") -> Iterator[str]:
    """A CSV file as it streams out: the byte order mark and the header line at once (so an empty export still has
    its columns), then each row; every cell defused."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer, delimiter)
    buffer.write(BOM)
    writer.writerow(header)
    for row in rows:
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
    yield buffer.getvalue()


def delimiter_of(choice: str) -> str:
    """The separator a download link asks for (`sep=semicolon` for a Russian Excel), a comma otherwise."""
    return DELIMITERS.get(choice, ",")
