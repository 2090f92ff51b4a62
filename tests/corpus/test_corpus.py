"""The public corpus (issue #17 point 8): every message in messages.tsv is read as a person would read it.

One case per row, each on a fresh phone at a fixed time; the reading (intent, reply language, complaint category
and place, number, date) is taken from the hotline's public behaviour by tests/corpus/reading.py, which
`python -m bench.understanding` shares to print the share understood per language and script."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import Session

from hotline.context import Context
from tests.corpus.reading import CONTEXTS, LANGUAGES, SCRIPTS, Row, load_rows, read
from tests.factories import PHONE

ROWS = load_rows()


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_message_is_understood(session: Session, ctx: Context, row: Row) -> None:
    """The message is read as the row says."""
    reading = read(session, ctx, row, PHONE)
    assert reading.understood, f"{row.message!r} ({row.context or 'no context'}): {'; '.join(reading.mismatches)}"


def test_corpus_covers_every_language_script_and_intent() -> None:
    """At least 250 rows; every language in each of its scripts, every intent and dialogue has rows."""
    assert len(ROWS) >= 250
    cells = Counter((row.lang, row.script) for row in ROWS)
    for language in LANGUAGES:
        for script in SCRIPTS if language != "en" else ("latn",):
            assert cells[language, script] >= 10, (language, script)
    intents = {row.intent for row in ROWS}
    assert intents >= {"BENEFITS", "CHECK", "COMPLAINT", "ANON", "STATUS", "JOIN", "BORN", "LOSS", "PAUSE"}
    assert intents >= {"DANGER", "STOP", "START", "HELP", "LANG", "MENU"}
    assert {row.context for row in ROWS} == set(CONTEXTS)


def test_messages_are_not_repeated() -> None:
    """The same message twice in the same situation would count twice."""
    seen = Counter((row.message.casefold(), row.lang, row.context) for row in ROWS)
    assert [key for key, count in seen.items() if count > 1] == []
