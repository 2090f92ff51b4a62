"""How well the hotline understands what families type: the share of the public corpus read right.

    python -m bench.understanding [--failures] [--corpus tests/corpus/messages.tsv]

Every row of the corpus (tests/corpus/messages.tsv) goes through the engine on a throwaway SQLite database, each
from its own phone, at the corpus's fixed time, and is read exactly as tests/corpus/test_corpus.py reads it. Prints
the share understood per language and script and overall; --failures lists each row not understood and why."""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session

from hotline.context import Context, build_context
from hotline.db import get_engine
from tests.corpus.reading import CORPUS, LANGUAGES, SCRIPTS, Row, load_rows, read
from tests.support import make_settings, throwaway_database


@contextmanager
def hotline() -> Iterator[Context]:
    """The context of a hotline on a new, migrated SQLite file."""
    with tempfile.TemporaryDirectory() as folder, throwaway_database(None, Path(folder)) as url:
        yield build_context(make_settings(url, Path(folder)))


def understand(ctx: Context, rows: list[Row]) -> dict[Row, list[str]]:
    """Each row's mismatches (empty when understood); a crash counts as not understood, with its error."""
    engine = get_engine(ctx.settings.database_url)
    found: dict[Row, list[str]] = {}
    for index, row in enumerate(rows):
        with Session(engine) as session:
            try:
                found[row] = read(session, ctx, row, f"+996700{index:06d}").mismatches
            except Exception as error:  # a crash is a message not understood: report it and go on
                session.rollback()
                found[row] = [f"crashed: {type(error).__name__}: {error}"]
    return found


def table(found: dict[Row, list[str]]) -> str:
    """Understood / rows and the share, per language and script, then overall (Markdown)."""
    cells: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for row, mismatches in found.items():
        cells[row.lang, row.script].append(not mismatches)
        cells[row.lang, "all"].append(not mismatches)
        cells["all", row.script].append(not mismatches)
        cells["all", "all"].append(not mismatches)
    lines = ["| language | script | understood | share |", "| --- | --- | --- | --- |"]
    for language in (*LANGUAGES, "all"):
        for script in (*SCRIPTS, "all"):
            results = cells.get((language, script))
            if results and not (script == "all" and language != "all" and len(_scripts(found, language)) < 2):
                share = 100 * sum(results) / len(results)
                lines.append(f"| {language} | {script} | {sum(results)} / {len(results)} | {share:.0f} % |")
    return "\n".join(lines)


def _scripts(found: dict[Row, list[str]], language: str) -> set[str]:
    return {row.script for row in found if row.lang == language}


def main() -> None:
    """Run the corpus and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--failures", action="store_true", help="list the rows not understood")
    args = parser.parse_args()
    rows = load_rows(args.corpus)
    with hotline() as ctx:
        found = understand(ctx, rows)
    if args.failures:
        for row, mismatches in found.items():
            if mismatches:
                print(f"{row.id}\t{row.context or '-'}\t{row.message}\t{'; '.join(mismatches)}")
        print()
    print(f"{args.corpus}: {len(rows)} messages")
    print(table(found))


if __name__ == "__main__":
    main()
