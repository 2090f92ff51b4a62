"""Voice prompts: every text exists in every language, renders with real data, and becomes audio with espeak-ng."""

from __future__ import annotations

import os
import shutil
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.benefits.service import get_catalogue
from hotline.cli import app
from hotline.config import ROOT, Settings
from hotline.content import LANGUAGES, TextLibrary
from hotline.places import get_gazetteer
from hotline.voice.prompts import AudioLibrary, Prompts, build_audio, check_audio

PROMPTS = Prompts(get_catalogue(), get_gazetteer())
ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(
    ESPEAK is None and not os.environ.get("HOTLINE_REQUIRE_ESPEAK"),
    reason="espeak-ng not installed (apt-get install espeak-ng; CI installs it and sets HOTLINE_REQUIRE_ESPEAK)",
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_prompt_renders_in_every_language(language: str) -> None:
    texts = TextLibrary(ROOT / "message_templates", 10)
    seen: dict[str, str] = {}
    for prompt in PROMPTS.every():
        text = texts.speech(prompt.template, language, **prompt.context)
        assert len(text) >= 2, prompt.key
        assert "{" not in text and "}" not in text and "None" not in text, (prompt.key, text)
        seen[prompt.key] = text
    # Prompts that mean different things say different things.
    assert len({seen[f"digit/{d}"] for d in range(10)}) == 10
    assert len({seen[k] for k in seen if k.startswith("status/is_")}) == 6
    for version in get_catalogue().all_versions():
        parts = {seen[f"benefits/{version.id}@{version.effective_from}/{p}"] for p in ("rules", "documents", "where")}
        assert len(parts) == 3, version.id


def test_benefit_prompts_state_the_same_figures_as_the_sms() -> None:
    texts = TextLibrary(ROOT / "message_templates", 10)
    for version in get_catalogue().all_versions():
        amount = version.facts.get("amount_som")
        if amount is None:
            continue
        for language in LANGUAGES:
            rules = texts.speech(f"voice/benefits/{version.id}", language, p=version, part="rules")
            # Ungrouped digits: a synthesiser reads "1 200" as two numbers.
            assert f" {amount} " in f" {rules} ", (language, version.id)


def test_drafted_translations_are_marked_for_review() -> None:
    for language in ("ky", "ru", "uz"):
        for path in (ROOT / "message_templates" / language / "voice").rglob("*.txt.j2"):
            assert path.read_text(encoding="utf-8").startswith("{# needs_review:"), path


@needs_espeak
def test_build_renders_audio_skips_unchanged_and_removes_stale(tmp_path: Path) -> None:
    texts = TextLibrary(ROOT / "message_templates", 10)
    some = [p for p in PROMPTS.every() if p.key in ("menu", "digit/7", "danger/newborn", "complaint/district")]
    report = build_audio(texts, some, tmp_path)
    assert report.written == 12 and report.unchanged == 0
    for language in ("ky", "ru", "uz"):
        with wave.open(str(tmp_path / language / "danger" / "newborn.wav")) as audio:
            assert audio.getnframes() / audio.getframerate() > 3, "a real spoken text, seconds long"
    again = build_audio(texts, some, tmp_path)
    assert again.written == 0 and again.unchanged == 12
    fewer = build_audio(texts, some[:2], tmp_path)
    assert fewer.removed == 6 and not (tmp_path / "ru" / "danger" / "newborn.wav").exists()


def test_check_lists_gaps_recorded_replacements_and_misnamed_recordings(tmp_path: Path) -> None:
    generated, recorded = tmp_path / "gen", tmp_path / "rec"
    library = AudioLibrary(generated, recorded)
    prompts = [p for p in PROMPTS.every() if p.key in ("menu", "digit/1")]
    report = check_audio(library, prompts)
    assert len(report.missing) == 6 and not report.ok
    for language in ("ky", "ru", "uz"):
        for key in ("menu", "digit/1"):
            (generated / language / key).parent.mkdir(parents=True, exist_ok=True)
            (generated / language / f"{key}.wav").write_bytes(b"RIFF")
    (recorded / "ky").mkdir(parents=True)
    (recorded / "ky" / "menu.mp3").write_bytes(b"ID3")
    assert library.find("ky", "menu") == recorded / "ky" / "menu.mp3", "a recording replaces the generated file"
    report = check_audio(library, prompts)
    assert report.ok and report.recorded == [("ky", "menu")] and len(report.generated) == 5
    (recorded / "ky" / "menuu.mp3").write_bytes(b"ID3")
    report = check_audio(library, prompts)
    assert not report.ok and report.unknown_recordings == [recorded / "ky" / "menuu.mp3"]


@needs_espeak
def test_cli_build_then_check(env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.config import get_settings

    monkeypatch.setenv("HOTLINE_VOICE_AUDIO_DIR", str(tmp_path / "audio"))
    monkeypatch.setenv("HOTLINE_VOICE_RECORDED_DIR", str(tmp_path / "recorded"))
    get_settings.cache_clear()
    runner = CliRunner()
    before = runner.invoke(app, ["voice", "check"])
    assert before.exit_code == 1 and "missing  ky/menu" in before.output
    built = runner.invoke(app, ["voice", "build"])
    assert built.exit_code == 0, built.output
    assert "0 unchanged" in built.output
    after = runner.invoke(app, ["voice", "check"])
    assert after.exit_code == 0, after.output
    assert "missing 0" in after.output
