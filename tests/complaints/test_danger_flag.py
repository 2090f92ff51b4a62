"""A danger sign inside a complaint's text is not answered as danger (issue #17 point 6), but officers see it:
the complaint page says the text mentions a danger sign."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from hotline.context import Context
from hotline.models import StaffUser
from tests.staff_pages import log_in, make_complaint

Web = Callable[[], TestClient]


def test_a_danger_sign_in_the_text_is_flagged_to_officers(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    flagged = make_complaint(session, ctx, "Пособие не платят третий месяц, а у ребенка судороги")
    plain = make_complaint(session, ctx, "Пособие не платят третий месяц")
    client = web()
    log_in(client, "dara.officer")
    assert 'id="danger-sign"' in client.get(f"/admin/complaints/{flagged.id}").text
    assert 'id="danger-sign"' not in client.get(f"/admin/complaints/{plain.id}").text
