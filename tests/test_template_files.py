"""Template files are compiled once in production (no stat per render) and reread when edited in development; a
text staff changed is seen in both."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from hotline.config import Settings
from hotline.context import build_context
from hotline.models import ContentRevision, RevisionKind, RevisionStatus
from hotline.overrides import changed


def write_then_edit(root: Path, settings: Settings, env: str) -> tuple[str, str]:
    """The text rendered before and after the file is rewritten (with a later modification time)."""
    (root / "en").mkdir(parents=True)
    path = root / "en" / "greeting.txt.j2"
    path.write_text("Salam, first wording", encoding="utf-8")
    texts = build_context(settings.model_copy(update={"env": env, "templates_dir": root})).texts
    before = texts.render("greeting", "en").text
    path.write_text("Salam, second wording", encoding="utf-8")
    later = path.stat().st_mtime + 10
    os.utime(path, (later, later))
    return before, texts.render("greeting", "en").text


def test_production_never_rereads_a_template_file(settings: Settings, tmp_path: Path) -> None:
    assert write_then_edit(tmp_path, settings, "production") == ("Salam, first wording", "Salam, first wording")


def test_development_shows_an_edited_template_at_the_next_render(settings: Settings, tmp_path: Path) -> None:
    assert write_then_edit(tmp_path, settings, "development") == ("Salam, first wording", "Salam, second wording")


@pytest.mark.parametrize("env", ["production", "development"])
def test_a_text_staff_changed_is_seen_without_a_restart(
    settings: Settings, session: Session, tmp_path: Path, env: str
) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "greeting.txt.j2").write_text("Salam from the file", encoding="utf-8")
    texts = build_context(settings.model_copy(update={"env": env, "templates_dir": tmp_path})).texts
    changed()
    assert texts.render("greeting", "en").text == "Salam from the file"
    session.add(
        ContentRevision(
            kind=RevisionKind.TEXT,
            subject="greeting",
            language="en",
            body="Salam from staff",
            effective_from=date(2000, 1, 1),
            source="test",
            status=RevisionStatus.APPROVED,
        )
    )
    session.commit()
    changed()  # what the editor calls after saving (another process sees it within RECHECK_SECONDS)
    try:
        assert texts.render("greeting", "en").text == "Salam from staff"
    finally:
        changed()
