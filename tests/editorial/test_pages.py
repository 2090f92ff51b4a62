"""Done for #21 point 1: a content officer changes an amount on the admin page, a second officer approves it, and the
next SMS through the real Twilio webhook says the new amount from its date, not before (a controlled clock)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.context import Context
from hotline.models import ContentRevision, Jurisdiction, RevisionStatus, Role
from tests.editorial.test_service import UBK
from tests.factories import text_in
from tests.staff_pages import log_in, make_staff

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


def test_a_text_edit_that_breaks_a_placeholder_shows_why(web: Web, session: Session) -> None:
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
