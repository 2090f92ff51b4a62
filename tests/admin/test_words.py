"""The staff interface's words (issue #19 point 16): enrolment is not "signing", and the Kyrgyz interface is
whole, its title spelt right."""

from __future__ import annotations

import re
import string
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from hotline.context import Context
from hotline.models import StaffUser
from hotline.staff.i18n import catalogues
from tests.staff_pages import log_in, make_complaint

Web = Callable[[], TestClient]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_enrolment_is_not_called_signing_in_russian() -> None:
    russian = catalogues()["ru"]
    assert not [k for k, v in russian.items() if "Подписать" in v or "подписыва" in v.lower()]
    assert russian["nav.enrol"] == "Записать семью"


def test_the_kyrgyz_catalogue_has_every_staff_text_with_the_same_placeholders() -> None:
    english, kyrgyz = catalogues()["en"], catalogues()["ky"]
    assert sorted(set(english) - set(kyrgyz)) == []
    assert sorted(set(kyrgyz) - set(english)) == []
    assert [k for k in english if _fields(english[k]) != _fields(kyrgyz[k])] == []
    assert kyrgyz["app.title"] == "Баткен ишеним телефону: арыздар"


def test_kyrgyz_pages_show_no_english_text(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    complaint = make_complaint(session, ctx, "Жөлөкпул төлөнгөн жок")
    english = catalogues()["en"]
    boss = web()
    token = log_in(boss, "batken.super")
    boss.post("/admin/language", data={"csrf_token": token, "language": "ky", "next": "/admin/queue"})
    for path in ("/admin/queue", f"/admin/complaints/{complaint.id}", "/admin/audit", "/admin/dashboard"):
        page = boss.get(path).text
        assert "ишеним" in page and "ышеним" not in page
        shown = re.sub(r"<[^>]*>", "\n", page)  # what a reader sees, not the forms' values
        # Longer English texts of the catalogue (single words like "OK" may be shared) never show.
        leaked = [v for v in english.values() if len(v) > 12 and "{" not in v and v in shown]
        assert leaked == [], (path, leaked)
