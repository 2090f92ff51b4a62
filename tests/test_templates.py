"""Every text a family reads: present in all four languages, renders with real data, fits the SMS budget."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hotline.benefits.service import get_catalogue
from hotline.config import ROOT, Settings
from hotline.content import LANGUAGES, TEMPLATE_SUFFIX, TextLibrary, TextTooLong
from hotline.editorial.samples import sample_contexts

TEMPLATES = ROOT / "message_templates"
REVIEW_MARK = "{# needs_review:"


def realistic_contexts() -> dict[str, list[dict[str, Any]]]:
    """For each template, the data it is rendered with in production, every branch covered: the same samples the
    content editor previews with (hotline/editorial/samples.py), so the two never drift apart."""
    return sample_contexts(get_catalogue(), date(2026, 11, 22))


def poll_contexts() -> dict[str, list[dict[str, Any]]]:
    """Poll texts (#22) with a short staff question: a question that does not fit is refused when it is saved."""
    question = {"text": "Кош бойлуу аялдын коркунучтуу белгиси кайсы?", "choices": ["Кан кетүү", "Чарчоо"]}
    asked = [{**question, "open": o} for o in (False, True)]
    return {
        "polls/question": asked,
        "polls/invitation": [{**q, "reply_to": r} for q in asked for r in (None, "+996312900900")],
        "polls/retry": asked,
        "polls/feedback": [{"right": r, "answer": "Кан кетүү", "text": t} for r in (False, True) for t in ("", "103")],
        "polls/not_started": [{"day": date(2026, 12, 31)}],
        "polls/gave_up": [{"keyword": k} for k in (None, "КВИЗ")],
    }


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
