"""Voice fixtures: an app whose every prompt has an audio file, so tests can follow which prompt is played."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hotline.benefits.service import get_catalogue
from hotline.config import ROOT, Settings
from hotline.content import TextLibrary
from hotline.main import create_app
from hotline.places import get_gazetteer
from hotline.voice.prompts import MANIFEST, VOICE_LANGUAGES, Prompts, speech_digest


def write_placeholder_audio(folder: Path) -> None:
    """A small WAV per prompt and language: the menus' logic does not depend on what the audio says."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:  # a tenth of a second of silence, 8 kHz mono
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x00\x00" * 800)
    header = buffer.getvalue()
    texts = TextLibrary(ROOT / "message_templates", 10)
    manifest: dict[str, str] = {}  # what `hotline voice build` records: the text each file says
    for language in VOICE_LANGUAGES:
        for prompt in Prompts(get_catalogue(), get_gazetteer()).every():
            path = folder / language / f"{prompt.key}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(header)
            text = texts.speech(prompt.template, language, **prompt.context)
            manifest[str(path.relative_to(folder))] = speech_digest(language, text)
    (folder / MANIFEST).write_text(json.dumps(manifest))


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with audio for every prompt."""
    folder = tmp_path_factory.mktemp("voice-audio")
    write_placeholder_audio(folder)
    return folder


@pytest.fixture
def voice_settings(settings: Settings, audio_dir: Path) -> Settings:
    """The test settings with every prompt's audio present."""
    return settings.model_copy(update={"voice_audio_dir": audio_dir})


@pytest.fixture
def voice_client(voice_settings: Settings) -> Iterator[TestClient]:
    """The app, with audio for every prompt."""
    with TestClient(create_app(voice_settings), base_url="http://internal:8000") as client:
        yield client
