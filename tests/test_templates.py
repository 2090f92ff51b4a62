"""Every text a family reads: present in all four languages, renders with real data, fits the SMS budget."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hotline.benefits.service import estimate_uy_bulogo_komok, get_catalogue
from hotline.config import ROOT, Settings
from hotline.content import LANGUAGES, TEMPLATE_SUFFIX, TextLibrary, TextTooLong
from hotline.models import ComplaintStatus
from hotline.places import get_gazetteer

TEMPLATES = ROOT / "message_templates"
REVIEW_MARK = "{# needs_review:"


def realistic_contexts() -> dict[str, list[dict[str, Any]]]:
    """For each template, the data it is rendered with in production, every branch covered."""
    catalogue = get_catalogue()
    day = date(2026, 11, 22)
    programmes = catalogue.listing(day)
    ubk = catalogue.in_force("uy_bulogo_komok", day)
    places = get_gazetteer()
    assert ubk is not None
    contexts: dict[str, list[dict[str, Any]]] = {
        "complaints/ask_text": [{"anonymous": a} for a in (False, True)],
        "complaints/ask_district": [{"districts": places.districts, "anonymous": a} for a in (False, True)],
        "complaints/ask_municipality": [
            {"district": d, "municipalities": places.municipalities[d.code]} for d in places.districts
        ],
        # The longest acknowledgement: anonymous, with a PIN, a due date with two-digit day and month.
        "complaints/ack": [
            {"reference": "12345678", "pin": pin, "due": date(2026, 12, 31), "window_minutes": 30}
            for pin in (None, "0123")
        ],
        "complaints/appended": [{"reference": "12345678"}],
        # From a one-way sender (an alphanumeric ID) the text names the number to write to instead.
        "complaints/in_progress": [{"reference": "12345678", "reply_to": r} for r in (None, "+996312900900")],
        "reminders/ask_born": [{"reply_to": r} for r in (None, "+996312900900")],
        "help": [{"free": f} for f in (False, True)],
        # Reminders are rendered with the child's age (the longest: 59 months); test_planner checks 2 segments.
        "reminders/vaccination": [{"months": m} for m in (2, 3, 5, 12)],
        "reminders/join_retry": [
            {"reason": r, "step": s}
            for r in ("kind", "month_out_of_range", "due_too_far", "due_past", "birth_in_future", "child_too_old", "x")
            for s in ("child", "pregnancy")
        ],
        "reminders/volunteer_alert": [{"place": "Самаркандек", "phone": "+996555123456", "time": "23:59"}],
        "reminders/join_done": [{"kind": k, "day": date(2027, 12, 31)} for k in ("pregnancy", "child")],
        # The SMS of an officers' answer; the admin answer box keeps the text within the budget.
        "complaints/update": [{"reference": "12345678", "text": "Жалоба текшерилди, акча кайтарылды."}],
        "status/show": [
            {"reference": "12345678", "status": s, "answered": a} for s in ComplaintStatus for a in (False, True)
        ],
        # Officers' answers are limited to what fits once prefixed (the admin answer box counts segments).
        "status/answer": [{"text": "Жалоба текшерилди, акча кайтарылды."}],
        "expired": [{"flow": f} for f in ("check", "benefits", "lang")],
        "benefits/list": [{"programmes": programmes}],
        "benefits/unknown": [{"programmes": programmes}],
        "check/members": [{"again": a} for a in (False, True)],
        "check/children": [{"again": a, "p": ubk} for a in (False, True)],
        "check/income": [{"again": a} for a in (False, True)]
        + [{"again": True, "problem": p, "amount": 99} for p in ("range", "small", "unclear")],
        "check/result": [
            {"e": estimate_uy_bulogo_komok(members=m, children=c, income_som=i, version=ubk), "p": ubk}
            # likely; no children; over the limit; the longest figures a family could produce
            for m, c, i in ((5, 3, 2000), (3, 0, 100), (4, 2, 9000), (1, 1, 9_999_999))
        ],
    }
    for version in catalogue.all_versions():
        contexts.setdefault(version.template, []).append({"p": version})
    return contexts


def test_help_says_free_only_when_the_number_is_free_to_text() -> None:
    library = TextLibrary(TEMPLATES, 3)
    free_words = {"ky": "акысыз", "ru": "Бесплатная", "uz": "бепул", "en": "Free"}
    for language, word in free_words.items():
        assert word in library.render("help", language, free=True).text
        assert word.lower() not in library.render("help", language, free=False).text.lower()


def names(language: str) -> set[str]:
    return {
        str(p.relative_to(TEMPLATES / language)).removesuffix(TEMPLATE_SUFFIX)
        for p in (TEMPLATES / language).rglob(f"*{TEMPLATE_SUFFIX}")
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_template(language: str) -> None:
    assert names(language) == names("en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_within_the_segment_budget(language: str) -> None:
    budget = Settings().max_segments
    library = TextLibrary(TEMPLATES, budget)
    contexts = realistic_contexts()
    rendered = 0
    for name in library.names(language):
        for context in contexts.get(name, [{}]):
            text = library.render(name, language, **context)  # raises TextTooLong past the budget
            assert text.text.strip(), f"{language}/{name} renders empty"
            assert "{{" not in text.text and "{%" not in text.text
            rendered += 1
    assert rendered >= 25


def test_every_programme_version_has_its_text_in_every_language() -> None:
    for version in get_catalogue().all_versions():
        for language in LANGUAGES:
            assert (TEMPLATES / language / f"{version.template}{TEMPLATE_SUFFIX}").exists(), (
                language,
                version,
            )


def test_programme_data_carries_source_and_review_flag() -> None:
    for version in get_catalogue().all_versions():
        assert version.source.strip()
        assert isinstance(version.needs_review, bool)
        for fact in ("eligibility", "documents", "where", "appeal"):
            assert str(version.facts[fact]).strip(), (version.id, fact)


@pytest.mark.parametrize("language", ["ky", "uz", "ru"])
def test_unreviewed_translations_are_marked(language: str) -> None:
    for path in (TEMPLATES / language).rglob(f"*{TEMPLATE_SUFFIX}"):
        assert path.read_text(encoding="utf-8").startswith(REVIEW_MARK), path


def test_over_budget_text_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ru").mkdir()
    (tmp_path / "ru" / "long.txt.j2").write_text("я" * 135)
    with pytest.raises(TextTooLong, match="ru/long is 3 segments"):
        TextLibrary(tmp_path, 2).render("long", "ru")
    assert TextLibrary(tmp_path, 3).render("long", "ru").count.segments == 3


def test_missing_variable_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "t.txt.j2").write_text("{{ p.amount_som }} som")
    with pytest.raises(Exception, match="undefined"):
        TextLibrary(tmp_path, 3).render("t", "en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_canned_answers_fit_once_sent_as_an_answer(language: str) -> None:
    library = TextLibrary(TEMPLATES, 3)
    canned = [n for n in library.names(language) if n.startswith("complaints/canned/")]
    assert len(canned) >= 3
    for name in canned:
        text = library.render(name, language).text
        sms = library.render("complaints/update", language, reference="12345678", text=text)
        assert sms.count.segments <= 2, f"{language}/{name}: leave room for the officer to add a sentence"
