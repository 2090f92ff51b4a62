"""Content edits lie over the package's files in a per-process cache: each test here leaves it to be reloaded, so the
next test (on emptied tables) answers from the files again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotline.overrides import changed


@pytest.fixture(autouse=True)
def fresh_overrides() -> Iterator[None]:
    changed()
    yield
    changed()
