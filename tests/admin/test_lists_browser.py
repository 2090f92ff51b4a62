"""Issue 19, points 12, 14 and 15 in real headless Chromium (Debian's), in Russian: an account's area chosen from
a list of places, the queue's filter, search and names, the dashboard's labels, empty tables, CSV for Excel."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.context import build_context
from hotline.main import create_app
from hotline.models import Jurisdiction, Role, StaffUser
from tests.admin.test_browser import screenshots_dir
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.staff_pages import PASSWORD, make_complaint, make_staff
from tests.support import free_port, make_settings


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login")
    page.get_by_label("Имя пользователя").fill(username)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()


def _web_settings(settings: Settings, tmp_path: Path, port: int) -> Settings:
    return make_settings(
        settings.database_url,
        tmp_path,
        public_url=f"http://127.0.0.1:{port}",
        cookie_secure=False,
        encryption_keys=settings.encryption_keys,
        lookup_key=settings.lookup_key,
    )


def test_admin_chooses_an_account_area_by_name(settings: Settings, session: Session, tmp_path: Path) -> None:
    require_chromium()
    port = free_port()
    make_staff(session, "root", Role.ADMIN, Jurisdiction.OBLAST, "batken", language="ru")
    with serve(create_app(_web_settings(settings, tmp_path, port)), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _log_in(page, base, "root")
        form = page.locator("#create-user")
        form.get_by_label("Имя пользователя").fill("aigul")
        form.get_by_label("Пароль").fill("a long enough password")
        # Nothing is chosen for the officer until the admin chooses: the form cannot be sent as it first stands.
        area = form.get_by_label("Территория")
        expect(area).to_have_value("")
        expect(form.get_by_label("Уровень")).to_have_count(0)
        form.get_by_role("button", name="Создать").click()
        expect(page.locator(".flash")).to_have_count(0)
        assert page.evaluate("document.querySelector('#create-user select[name=area_code]').validity.valueMissing")
        options = area.locator("option").all_inner_texts()
        assert "Баткенская область: вся область" in options and "— Кара-Бак" in options
        area.select_option(label="— Кара-Бак")
        form.get_by_role("button", name="Создать").click()
        expect(page.locator(".flash.ok")).to_be_visible()
        # Areas are read as names, in the table and in the page's header.
        expect(page.locator("#users tr", has_text="aigul")).to_contain_text("Кара-Бак")
        expect(page.locator(".who")).to_contain_text("Баткенская область")
        page.screenshot(path=str(screenshots_dir(tmp_path) / "users.png"), full_page=True)
        browser.close()
    session.expire_all()
    aigul = session.exec(select(StaffUser).where(StaffUser.username == "aigul")).one()
    assert (aigul.level, aigul.area_code) == (Jurisdiction.MUNICIPALITY, "kara-bak")


def test_lists_search_and_csv_for_a_russian_office(settings: Settings, session: Session, tmp_path: Path) -> None:
    require_chromium()
    port = free_port()
    web_settings = _web_settings(settings, tmp_path, port)
    ctx = build_context(web_settings)
    make_staff(session, "batken.officer", Role.OFFICER, Jurisdiction.DISTRICT, "batken-rayon", language="ru")
    make_staff(session, "batken.super", Role.SUPERVISOR, Jurisdiction.DISTRICT, "batken-rayon", language="ru")
    dara = make_complaint(session, ctx, "Отказали в пособии, сказали что доход большой", phone="+996555000001")
    make_complaint(session, ctx, "Пособие задерживают", municipality="kara-bak", phone="+996555000002")
    make_complaint(session, ctx, "Не знаю где подать", municipality="batken-rayon", phone="+996555000003")
    with serve(create_app(web_settings), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
        _log_in(page, base, "batken.officer")
        rows = page.locator("#queue tbody tr")
        expect(rows).to_have_count(3)
        # The village filter offers the district's villages only, not Leilek's.
        villages = page.get_by_label("Айыл окмоту / город").locator("option").all_inner_texts()
        assert "Дара" in villages and "Кара-Бак" in villages and "Катран" not in villages
        # A complaint without a village says so.
        expect(page.locator("#queue tbody tr", has_text="Не знаю где подать")).to_contain_text("село не указано")
        search = page.get_by_label("Поиск по тексту или номеру")
        search.fill(f"{dara.reference[:4]} {dara.reference[4:]}")  # as it is read out on the phone
        page.get_by_role("button", name="Применить").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(dara.reference)
        search.fill("Карабак")
        page.get_by_role("button", name="Применить").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Пособие задерживают")

        # The export for a Russian Excel: a byte order mark, ";", Russian headers, names.
        search.fill("")
        page.get_by_role("button", name="Применить").click()
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV для Excel (;)").click()
        data = Path(download.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        lines = data.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("Номер;Подана;Статус;Категория;Айыл окмоту / город;Район;")
        assert len(lines) == 4 and "Баткенский район" in lines[1] and ";Дара;" in data.decode("utf-8")
        assert "село не указано" in data.decode("utf-8")
        # An empty export still has its header line.
        search.fill("ничего такого нет")
        page.get_by_role("button", name="Применить").click()
        expect(page.locator("#queue + p")).to_have_text("Жалоб не найдено.")
        with page.expect_download() as download:
            page.get_by_role("link", name="Выгрузить CSV", exact=True).click()
        empty = Path(download.value.path()).read_bytes().decode("utf-8-sig").splitlines()
        assert len(empty) == 1 and empty[0].startswith("Номер,Подана,")

        # The dashboard's labels are whole and clear of the bars.
        page.goto(f"{base}/admin/dashboard")
        labels = page.locator("#by-category svg text").evaluate_all("texts => texts.map(t => t.textContent)")
        assert "неправомерный отказ или исключение" in labels and not any("…" in label for label in labels)
        assert "село не указано" in (page.locator("#by-municipality svg").text_content() or "")
        label_right = page.evaluate(
            "() => { const t = [...document.querySelectorAll('#by-category svg text')]"
            ".find(e => e.textContent.includes('неправомерный')); const b = t.getBBox(); return b.x + b.width; }"
        )
        bar_left = float(page.locator("#by-category svg rect").first.get_attribute("x") or 0)
        assert label_right < bar_left

        # The audit log of a filter that matches nothing says so.
        supervisor = browser.new_page()
        _log_in(supervisor, base, "batken.super")
        supervisor.goto(f"{base}/admin/audit?reference=00000000")
        expect(supervisor.get_by_text("Записей не найдено.")).to_be_visible()
        browser.close()


def test_import_by_the_names_the_page_lists(settings: Settings, session: Session, tmp_path: Path) -> None:
    require_chromium()
    port = free_port()
    make_staff(session, "dara.health", Role.HEALTH, Jurisdiction.MUNICIPALITY, "dara", language="ru")
    # As a Russian Excel saves "CSV UTF-8": a byte order mark and ";"; the kind and the village as the form says.
    csv_file = tmp_path / "households.csv"
    csv_file.write_text(
        "phone;kind;date;language;municipality;send_hour;consent\n0555 123 456;беременность;5 месяц;ru;Дара;9;да\n",
        encoding="utf-8-sig",
    )
    with serve(create_app(_web_settings(settings, tmp_path, port)), port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        _log_in(page, base, "dara.health")
        page.goto(f"{base}/admin/enrol")
        listed = page.locator("#import-values")
        for shown in ("беременность (pregnancy)", "ребёнок (child)", "Дара, dara", "да (yes)"):
            expect(listed).to_contain_text(shown)
        page.get_by_label("CSV").set_input_files(str(csv_file))
        page.get_by_role("button", name="Загрузить").click()
        expect(page.locator("#import-result")).to_contain_text("Строк: 1; новых семей: 1; новых подписок: 1")
        browser.close()
