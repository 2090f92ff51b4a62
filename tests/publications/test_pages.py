"""The grievance report as a page, CSV and PDF, and the leaflets and posters as PDF (#21 points 3 and 5): each
renders (poppler's pdftoppm draws a page with ink on it), small counts read "<5" everywhere, and a leaflet prints
the keyword in use."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session

from hotline.config import Settings
from hotline.context import Context
from hotline.keywords import KEYWORDS_FILE
from hotline.main import create_app
from hotline.models import StaffUser
from hotline.places import get_gazetteer
from hotline.publications.service import printed_texts
from tests.staff_pages import log_in, make_complaint

Web = Callable[[], TestClient]
MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("Asia/Bishkek"))


def require_poppler() -> None:
    """Skip without poppler-utils on a developer's machine; CI (HOTLINE_REQUIRE_POPPLER=1) must have it."""
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        if os.environ.get("HOTLINE_REQUIRE_POPPLER"):
            pytest.fail("pdftoppm missing: apt-get install poppler-utils")
        pytest.skip("pdftoppm missing (apt-get install poppler-utils); .ci/run installs it")


def inked_share(pdf: bytes, tmp_path: Path) -> float:
    """The share of non-white pixels on the PDF's first page, drawn by pdftoppm."""
    source = tmp_path / "page.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-singlefile", str(source), str(tmp_path / "page")], check=True)
    with Image.open(tmp_path / "page.png") as image:
        grey = image.convert("L")
        histogram = grey.histogram()
        return 1 - sum(histogram[250:]) / (grey.width * grey.height)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(source), "-"], check=True, capture_output=True, text=True).stdout


def seed(session: Session, ctx: Context) -> None:
    for i in range(6):
        make_complaint(session, ctx, "пособие не выплатили", phone=f"+99655500060{i}", now=MARCH)
    make_complaint(session, ctx, "пособие не выплатили", municipality="kyshtut", phone="+996555000699", now=MARCH)


def test_the_report_page_and_csv_show_a_few_complaints_as_under_five(
    web: Web, session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    seed(session, ctx)
    boss = web()
    log_in(boss, "oblast.super")

    page = boss.get("/admin/reports/grievance?month=2026-03")
    assert page.status_code == 200
    assert '<dd id="received">7</dd>' in page.text
    assert 'data-count="kyshtut">&lt;5<' in page.text and 'data-count="dara">6<' in page.text

    csv = boss.get("/admin/reports/grievance.csv?month=2026-03").text
    assert "received,total,7" in csv and "area,kyshtut,<5" in csv and "area,dara,6" in csv
    assert "trend_received,2026-03,7" in csv and "trend_received,2026-02,0" in csv


def test_staff_see_the_report_of_their_own_area_only(
    web: Web, session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    seed(session, ctx)
    officer = web()
    log_in(officer, "dara.officer")
    assert '<dd id="received">6</dd>' in officer.get("/admin/reports/grievance?month=2026-03").text
    refused = officer.get("/admin/reports/grievance.csv?month=2026-03&area=kyshtut", headers={"accept": "text/html"})
    assert refused.status_code == 403
    assert officer.get("/admin/reports/grievance?month=2026-13").status_code == 422


def test_the_report_pdf_renders_with_ink_on_the_page(
    web: Web, session: Session, ctx: Context, staff: dict[str, StaffUser], tmp_path: Path
) -> None:
    require_poppler()
    seed(session, ctx)
    boss = web()
    log_in(boss, "oblast.super")
    response = boss.get("/admin/reports/grievance.pdf?month=2026-03")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert inked_share(response.content, tmp_path) > 0.01
    text = pdf_text(response.content, tmp_path)
    assert "Grievance report: 2026-03" in text and "<5" in text


@pytest.mark.parametrize("kind", ["leaflet", "poster"])
def test_a_leaflet_and_a_poster_render_with_the_keyword_in_use(
    web: Web, staff: dict[str, StaffUser], tmp_path: Path, kind: str
) -> None:
    require_poppler()
    admin = web()
    log_in(admin, "admin")
    assert "/admin/leaflets/dara/leaflet.pdf" in admin.get("/admin/leaflets").text
    response = admin.get(f"/admin/leaflets/dara/{kind}.pdf")
    assert response.status_code == 200
    assert inked_share(response.content, tmp_path) > 0.01
    text = " ".join(pdf_text(response.content, tmp_path).split())
    for word in ("ЖАЛОБА", "АРЫЗ", "ШИКОЯТ", "+996312900900"):  # the keywords of keywords.toml, the number
        assert word in text
    assert admin.get("/admin/leaflets/nowhere/leaflet.pdf").status_code == 404
    # The print stylesheet is applied: the page is the paper it is meant for.
    (tmp_path / "size.pdf").write_bytes(response.content)
    info = subprocess.run(["pdfinfo", str(tmp_path / "size.pdf")], check=True, capture_output=True, text=True).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size is not None, info
    paper = {"leaflet": (419.5, 595.3), "poster": (841.9, 1190.6)}[kind]  # A5, A3 in points
    assert abs(float(size.group(1)) - paper[0]) < 1 and abs(float(size.group(2)) - paper[1]) < 1


def test_a_changed_keyword_reaches_the_leaflet(ctx: Context, tmp_path: Path) -> None:
    changed = tmp_path / "keywords.toml"
    changed.write_text(KEYWORDS_FILE.read_text(encoding="utf-8").replace('ru = ["ЖАЛОБА"', 'ru = ["ЖАЛОБЫ"'))
    dara = get_gazetteer().get("dara")
    assert dara is not None
    russian = next(b for b in printed_texts(ctx, dara, changed) if b.language == "ru")
    assert any(line.startswith("ЖАЛОБЫ и текст") for line in russian.keywords)
    assert "Дара" in russian.promise or dara.name("ru") in russian.promise


FREE = ("акысыз", "бесплатн", "бепул")  # "free" in Kyrgyz, Russian and Uzbek


def leaflet_text(settings: Settings, tmp_path: Path, **changes: object) -> str:
    """The words of Dara's leaflet as printed by an installation with these settings (pdftotext of its PDF)."""
    with TestClient(create_app(settings.model_copy(update=changes)), base_url="https://hotline.example.org") as admin:
        log_in(admin, "admin")
        response = admin.get("/admin/leaflets/dara/leaflet.pdf")
    assert response.status_code == 200
    return " ".join(pdf_text(response.content, tmp_path).split())


def test_a_leaflet_says_texting_is_free_only_when_the_setting_says_so(
    settings: Settings, staff: dict[str, StaffUser], tmp_path: Path
) -> None:
    require_poppler()
    paid = leaflet_text(settings, tmp_path, free_to_text=False)
    assert "Горячая линия для семей" in paid and "SMS на номер +996312900900. Ответ" in paid
    assert not [word for word in FREE if word in paid.lower()]
    free = leaflet_text(settings, tmp_path, free_to_text=True)
    assert "Бесплатная горячая линия для семей" in free and "SMS на номер +996312900900: это бесплатно." in free
    assert all(word in free.lower() for word in FREE)


def test_a_leaflet_names_the_voice_number_apart_from_the_number_to_text(
    settings: Settings, staff: dict[str, StaffUser], tmp_path: Path
) -> None:
    require_poppler()
    text = leaflet_text(settings, tmp_path, public_number="1966", twilio_from_number="+996312900900")
    assert "SMS на номер 1966" in text and "Позвоните на +996312900900: голосовое меню" in text
    assert "+996312900900 номерине чалыңыз" in text and "+996312900900 рақамига қўнғироқ" in text
    # An installation without Twilio has no voice line: the leaflet offers none, never "call :".
    kannel_only = leaflet_text(
        settings,
        tmp_path,
        channels="kannel",
        kannel_from="1966",
        kannel_secret=secrets.token_hex(20),
        twilio_from_number="",
    )
    assert "SMS на номер 1966" in kannel_only
    assert "Позвоните" not in kannel_only and "чалыңыз" not in kannel_only and "қўнғироқ қилинг" not in kannel_only
