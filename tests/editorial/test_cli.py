"""`hotline content export/import`: what staff changed moves to another installation; a broken file changes nothing."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.context import Context
from hotline.editorial import service
from hotline.models import ContentRevision, Jurisdiction, RevisionStatus, Role
from tests.editorial.test_service import UBK
from tests.staff_pages import make_staff


def test_export_then_import_into_an_empty_installation(
    env: Settings, session: Session, ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = datetime(2026, 12, 1, 10, 0, tzinfo=ctx.tz)
    monkeypatch.setattr("hotline.models.utcnow", lambda: moment)
    author = make_staff(session, "aida", Role.CONTENT, Jurisdiction.OBLAST, "batken")
    revision, _ = service.prepare_programme(
        ctx,
        author,
        programme_id="uy_bulogo_komok",
        form={**UBK, "amount_som": "1500"},
        effective_from=date(2027, 1, 1),
        source="Resolution 5",
        now=moment,
    )
    service.save(session, author, [revision], moment)
    runner = CliRunner()
    file = tmp_path / "content.json"
    assert runner.invoke(app, ["content", "export", str(file)]).exit_code == 0
    document = json.loads(file.read_text(encoding="utf-8"))
    assert [r["status"] for r in document["revisions"]] == ["pending"]
    session.delete(session.exec(select(ContentRevision)).one())
    session.commit()

    broken = {**document, "revisions": [{**document["revisions"][0], "kind": "poem"}]}
    (tmp_path / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    refused = runner.invoke(app, ["content", "import", str(tmp_path / "broken.json")])
    assert refused.exit_code == 2 and "Item 1" in refused.output
    assert session.exec(select(ContentRevision)).first() is None

    result = runner.invoke(app, ["content", "import", str(file)])
    assert result.exit_code == 0, result.output
    assert "Imported 1 change(s)." in result.output
    imported = session.exec(select(ContentRevision)).one()
    assert (imported.status, imported.author_id) == (RevisionStatus.PENDING, None)  # still waits here
    assert "Imported 0" in runner.invoke(app, ["content", "import", str(file)]).output  # twice changes nothing
