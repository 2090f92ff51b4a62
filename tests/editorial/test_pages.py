"""Done for #21 point 1: a content officer changes an amount on the admin page, a second officer approves it, and the
next SMS through the real Twilio webhook says the new amount from its date, not before (a controlled clock)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.context import Context
from hotline.editorial import service
from hotline.main import create_app
from hotline.models import ContentRevision, Jurisdiction, RevisionStatus, Role
from tests.editorial.test_service import UBK
from tests.factories import text_in
from tests.staff_pages import log_in, make_staff
from tests.voice.conftest import write_placeholder_audio
from tests.voice.phone import Phone

Web = Callable[[], TestClient]


class Clock:
    """The moment every part of the app reads as now."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, ctx: Context) -> None:
        self.ctx, self.moment = ctx, datetime(2026, 12, 1, 10, 0, tzinfo=ctx.tz)
        for where in ("hotline.channels.twilio.utcnow", "hotline.editorial.routes.utcnow", "hotline.models.utcnow"):
            monkeypatch.setattr(where, lambda: self.moment)

    def set(self, year: int, month: int, day: int, hour: int, minute: int) -> None:
        self.moment = datetime(year, month, day, hour, minute, tzinfo=self.ctx.tz)


def test_an_amount_changed_and_approved_reaches_the_next_sms_from_its_date(
    web: Web,
    session: Session,
    ctx: Context,
    settings: Settings,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch, ctx)
    make_staff(session, "aida", Role.CONTENT, Jurisdiction.OBLAST, "batken")
    make_staff(session, "bakyt", Role.CONTENT, Jurisdiction.OBLAST, "batken")
    author, second = web(), web()
    author_token, second_token = log_in(author, "aida"), log_in(second, "bakyt")
    form = {**UBK, "csrf_token": author_token, "effective_from": "2027-01-01", "source": "Resolution No. 5, 2026"}
    url = "/admin/edit/programmes/uy_bulogo_komok"

    preview = author.post(url, data={**form, "amount_som": "1500", "action": "preview"})
    assert preview.status_code == 200
    assert "1 500 сом/мес" in preview.text and "1 500 som/month" in preview.text  # four languages
    assert re.search(r"amount_som</th><td>1200</td><td>1500", preview.text)  # the diff against the version in force
    assert "SMS" in preview.text

    without_source = author.post(url, data={**form, "amount_som": "1500", "source": ""})
    assert without_source.status_code == 422 and "needs its source" in without_source.text
    saved = author.post(url, data={**form, "amount_som": "1500"})
    assert "second person approves" in saved.text
    revision = session.exec(select(ContentRevision)).one()
    own = author.post(f"/admin/edit/revisions/{revision.id}/approve", data={"csrf_token": author_token})
    assert "a second person must approve" in own.text

    clock.set(2027, 1, 1, 9, 0)
    assert "1 200 som" in text_in(client, settings, "BENEFITS 1")[0]  # not approved: the old amount
    approved = second.post(f"/admin/edit/revisions/{revision.id}/approve", data={"csrf_token": second_token})
    assert approved.status_code == 200
    session.refresh(revision)
    assert revision.status == RevisionStatus.APPROVED

    assert "1 500 som/month" in text_in(client, settings, "BENEFITS 1")[0]
    clock.set(2026, 12, 31, 23, 30)  # the day before, in Bishkek
    assert "1 200 som/month" in text_in(client, settings, "BENEFITS 1")[0]


def test_a_text_edit_that_breaks_a_placeholder_shows_why(
    web: Web, session: Session, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    Clock(monkeypatch, ctx)  # 2026-12-01 is in force today: on the real clock, refused as too far back after a week
    make_staff(session, "aida", Role.CONTENT, Jurisdiction.OBLAST, "batken")
    browser = web()
    token = log_in(browser, "aida")
    page = browser.get("/admin/edit/text", params={"name": "help", "language": "ru"})
    assert page.status_code == 200 and "textarea" in page.text
    response = browser.post(
        "/admin/edit/text",
        data={
            "csrf_token": token,
            "name": "help",
            "language": "ru",
            "body": "Помощь {{ phone_number }}",
            "effective_from": "2026-12-01",
        },
    )
    assert response.status_code == 422 and "placeholders must stay" in response.text
    assert session.exec(select(ContentRevision)).first() is None


def test_the_overview_lists_what_is_unreviewed_per_language(web: Web, session: Session) -> None:
    make_staff(session, "aida", Role.CONTENT, Jurisdiction.OBLAST, "batken")
    browser = web()
    log_in(browser, "aida")
    page = browser.get("/admin/edit").text
    assert 'id="gaps"' in page and "Not reviewed by a native speaker" in page
    assert "reminders/labour_signs" in page  # marked needs_review in ky, ru and uz


VOICE_RULES = "voice/benefits/uy_bulogo_komok"


def test_a_voice_prompt_edited_previewed_and_saved_is_what_the_line_says(
    web: Web, session: Session, ctx: Context, settings: Settings, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    Clock(monkeypatch, ctx)
    monkeypatch.setattr("hotline.voice.routes.utcnow", lambda: datetime(2026, 12, 1, 10, 0, tzinfo=ctx.tz))
    make_staff(session, "aida", Role.CONTENT, Jurisdiction.OBLAST, "batken")
    browser = web()
    token = log_in(browser, "aida")
    old = browser.get("/admin/edit/text", params={"name": VOICE_RULES, "language": "ru"})
    assert old.status_code == 200 and "Spoken on the voice line" in old.text
    body = service.current_source(ctx, VOICE_RULES, "ru").replace("Уй-булого комок:", "Пособие Уй-булого комок:")
    form = {"csrf_token": token, "name": VOICE_RULES, "language": "ru", "body": body, "effective_from": "2026-12-01"}

    callers = iter(f"+99670022233{n}" for n in range(10))

    def rules_heard() -> str:
        phone = Phone(client, settings, number=next(callers))  # a first call each time: the language is asked
        phone.dial()
        phone.keys("2111")  # Russian, benefits, programme 1, its rules
        return " ".join(phone.heard())

    assert "say[ru-RU]:Уй-булого комок: 1200 сом в месяц" in rules_heard()  # the file's text, before the edit
    preview = browser.post("/admin/edit/text", data={**form, "action": "preview"})
    assert preview.status_code == 200
    # Spoken: the amount as one number for the synthesiser (an SMS writes 1 200).
    assert "Пособие Уй-булого комок: 1200 сом в месяц" in preview.text
    assert "\n+Пособие Уй-булого комок:" in preview.text  # the diff against the version in force
    assert '<td class="segments"></td>' in preview.text  # a spoken prompt costs no SMS: no count is shown
    assert session.exec(select(ContentRevision)).first() is None and "Пособие" not in rules_heard()

    saved = browser.post("/admin/edit/text", data=form)
    assert saved.status_code == 200 and "Saved: in force from its date." in saved.text
    revision = session.exec(select(ContentRevision)).one()
    assert revision.status == RevisionStatus.APPROVED and revision.subject == VOICE_RULES
    assert "say[ru-RU]:Пособие Уй-булого комок: 1200 сом в месяц" in rules_heard()


def test_a_voice_text_changed_after_the_audio_was_built_is_said_not_played_from_old_audio(
    session: Session, ctx: Context, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hotline voice build` rendered every prompt; staff then change a spoken text. The line must not play the
    old file (it may state an old figure): it says the text in force until the audio is built again."""
    Clock(monkeypatch, ctx)
    monkeypatch.setattr("hotline.voice.routes.utcnow", lambda: datetime(2026, 12, 1, 10, 0, tzinfo=ctx.tz))
    write_placeholder_audio(tmp_path)  # with the manifest of what each file says, as the build writes it
    voiced = settings.model_copy(update={"voice_audio_dir": tmp_path})
    author = make_staff(session, "aida", Role.CONTENT, Jurisdiction.OBLAST, "batken")
    callers = iter(f"+99670022244{n}" for n in range(10))
    with TestClient(create_app(voiced), base_url="http://internal:8000") as client:

        def rules_heard() -> list[str]:
            phone = Phone(client, voiced, number=next(callers))
            phone.dial()
            phone.keys("2111")  # Russian, benefits, programme 1, its rules
            return phone.heard()

        assert any(h.startswith("play:ru/benefits/") and h.endswith("/rules") for h in rules_heard())
        body = service.current_source(ctx, VOICE_RULES, "ru").replace("Уй-булого комок:", "Пособие Уй-булого комок:")
        revision = service.prepare_text(
            ctx,
            author,
            name=VOICE_RULES,
            language="ru",
            body=body,
            effective_from=date(2026, 12, 1),
            source="",
            now=datetime(2026, 12, 1, 10, 0, tzinfo=ctx.tz),
        )
        service.save(session, author, [revision], datetime(2026, 12, 1, 10, 0, tzinfo=ctx.tz))
        heard = rules_heard()
        assert "say[ru-RU]:Пособие Уй-булого комок: 1200 сом в месяц" in " ".join(heard)
        assert not any(h.startswith("play:ru/benefits/") and h.endswith("/rules") for h in heard)
        assert "play:ru/programme_menu/" in " ".join(heard)  # the prompts nobody changed still play their audio
