"""Voice prompts: every prompt the line can play, its spoken text (a template), and the audio file played for it.

A prompt's audio is a recorded file when one exists (voice_prompts/<lang>/<key>.mp3|wav), else the file
`hotline voice build` generated with espeak-ng; with neither, Twilio's <Say> speaks the text where Twilio has a
voice (Russian), and Kyrgyz and Uzbek fall back to the Russian text (listed by `hotline voice check`)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from hotline.benefits.service import Catalogue, ProgrammeVersion
from hotline.content import TextLibrary
from hotline.models import ComplaintStatus
from hotline.places import Gazetteer

VOICE_LANGUAGES: Final = ("ky", "ru", "uz")
# Languages Twilio's <Say> speaks; Kyrgyz and Uzbek have no Twilio voice (TWILIO.md §Voice).
TWILIO_VOICES: Final = {"ru": "ru-RU", "en": "en-US"}
FALLBACK_LANGUAGE: Final = "ru"
AUDIO_SUFFIXES: Final = (".mp3", ".wav")
KEY_PATTERN: Final = re.compile(r"^[a-z0-9_]+(?:[/@.-][a-z0-9_]+)*$")
BENEFIT_PARTS: Final = ("rules", "documents", "where")
DANGER_KINDS: Final = ("pregnancy", "newborn", "child")
COMPLAINT_STEPS: Final = ("identity", "no_number", "too_short", "received", "pin", "again", "limit", "failed")
STATUS_STEPS: Final = ("ask_reference", "ask_pin", "invalid", "not_found", "throttled", "answered", "no_answer")
COMMON_STEPS: Final = ("invalid", "goodbye", "again")


@dataclass(frozen=True)
class Prompt:
    """One thing the line says: the audio file's key, and the template and data that give its text."""

    key: str
    template: str
    context: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Prompts:
    """Builds the prompts of the menus from the reference data (programmes by date, districts)."""

    def __init__(self, catalogue: Catalogue, gazetteer: Gazetteer) -> None:
        self.catalogue, self.gazetteer = catalogue, gazetteer

    @staticmethod
    def simple(template: str, step: str | None = None, **context: Any) -> Prompt:
        """A prompt whose text depends only on a step name: voice/<template> with step=..."""
        key = f"{template}/{step}" if step else template
        return Prompt(key, f"voice/{template}", {"step": step, **context} if step else context)

    def welcome(self, callback: bool) -> Prompt:
        """The greeting; a callback says why the hotline is calling."""
        return Prompt("welcome_callback" if callback else "welcome", "voice/welcome", {"callback": callback})

    def _menu_date(self, day: date) -> date:
        # The menu changes only when a programme version starts: key the audio by that date.
        starts = sorted({v.effective_from for v in self.catalogue.all_versions() if v.effective_from <= day})
        return starts[-1] if starts else day

    def benefits_menu(self, day: date) -> Prompt:
        """The programmes in force on `day`, each with its key."""
        start = self._menu_date(day)
        return Prompt(f"benefits_menu@{start}", "voice/benefits_menu", {"programmes": self.catalogue.listing(start)})

    @staticmethod
    def programme_menu(version: ProgrammeVersion) -> Prompt:
        """A programme's sub-menu: rules, documents, where to apply."""
        return Prompt(f"programme_menu/{version.id}", "voice/programme_menu", {"p": version})

    @staticmethod
    def benefit(version: ProgrammeVersion, part: str) -> Prompt:
        """One part of a programme's facts, keyed by the version so old audio never states old figures."""
        return Prompt(
            f"benefits/{version.id}@{version.effective_from}/{part}",
            f"voice/benefits/{version.id}",
            {"p": version, "part": part},
        )

    @staticmethod
    def danger(kind: str) -> Prompt:
        """The danger signs of pregnancy, the newborn or the child (the SMS texts, spoken)."""
        return Prompt(f"danger/{kind}", "voice/danger", {"kind": kind})

    def districts(self) -> Prompt:
        """Where did it happen: one key per district."""
        return Prompt(
            "complaint/district", "voice/complaint", {"step": "district", "districts": self.gazetteer.districts}
        )

    @staticmethod
    def record(anonymous: bool) -> Prompt:
        """What to say after the beep."""
        key = "complaint/record_anonymous" if anonymous else "complaint/record"
        return Prompt(key, "voice/complaint", {"step": "record", "anonymous": anonymous})

    @staticmethod
    def answer_by(anonymous: bool) -> Prompt:
        """How the family will hear back."""
        key = "complaint/answer_by_anonymous" if anonymous else "complaint/answer_by"
        return Prompt(key, "voice/complaint", {"step": "answer_by", "anonymous": anonymous})

    @staticmethod
    def status_is(status: str) -> Prompt:
        """A complaint's status, spoken."""
        return Prompt(f"status/is_{status}", "voice/status", {"step": "is", "status": status})

    @staticmethod
    def digit(d: int) -> Prompt:
        """One digit, for reference numbers and PINs."""
        return Prompt(f"digit/{d}", "voice/digit", {"d": d})

    def every(self) -> list[Prompt]:
        """Every prompt the line can play, for `hotline voice build` and `check`."""
        prompts = [Prompt("language", "voice/language"), self.welcome(False), self.welcome(True)]
        prompts += [Prompt("menu", "voice/menu"), Prompt("danger_menu", "voice/danger_menu"), self.districts()]
        starts = sorted({v.effective_from for v in self.catalogue.all_versions()})
        prompts += [self.benefits_menu(start) for start in starts]
        latest: dict[str, ProgrammeVersion] = {}
        for version in self.catalogue.all_versions():
            latest[version.id] = version
            prompts += [self.benefit(version, part) for part in BENEFIT_PARTS]
        prompts += [self.programme_menu(version) for version in latest.values()]
        prompts += [self.danger(kind) for kind in DANGER_KINDS]
        prompts += [self.simple("complaint", step) for step in COMPLAINT_STEPS]
        prompts += [self.record(a) for a in (False, True)] + [self.answer_by(a) for a in (False, True)]
        prompts += [self.simple("status", step) for step in STATUS_STEPS]
        prompts += [self.status_is(status.value) for status in ComplaintStatus]
        prompts += [self.digit(d) for d in range(10)]
        prompts += [self.simple("common", step) for step in COMMON_STEPS]
        return prompts


class AudioLibrary:
    """Finds the audio file of a prompt: a recorded one first, else the generated one."""

    def __init__(self, generated: Path, recorded: Path) -> None:
        self.generated, self.recorded = generated, recorded

    def find(self, language: str, key: str) -> Path | None:
        """The file to play, or None when the prompt has no audio yet."""
        if language not in VOICE_LANGUAGES or not KEY_PATTERN.match(key):
            return None
        for base in (self.recorded, self.generated):
            for suffix in AUDIO_SUFFIXES:
                path = base / language / f"{key}{suffix}"
                if path.is_file():
                    return path
        return None

    def is_recorded(self, path: Path) -> bool:
        """True for a file a person recorded (not generated)."""
        return path.is_relative_to(self.recorded)

    def says(self, path: Path, language: str, text: str) -> bool:
        """Whether the file says `text`: generated audio is checked against the text `hotline voice build` rendered
        (its manifest), so a text staff changed since is never played from old audio. A recording is a person's
        voice with no text beside it: taken as it is."""
        if self.is_recorded(path):
            return True
        manifest = _manifest(self.generated / MANIFEST)
        return manifest.get(str(path.relative_to(self.generated))) == speech_digest(language, text)


@dataclass
class BuildReport:
    """What `hotline voice build` did."""

    written: int = 0
    unchanged: int = 0
    removed: int = 0
    recorded: int = 0


MANIFEST = "manifest.json"
_MANIFESTS: dict[Path, tuple[float, dict[str, str]]] = {}


def speech_digest(language: str, text: str) -> str:
    """What the manifest keeps of the text a file was rendered from."""
    return hashlib.sha256(f"{language}\x00{text}".encode()).hexdigest()


def _manifest(path: Path) -> dict[str, str]:
    # Read again only when `hotline voice build` has rewritten it (every call asks).
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    cached = _MANIFESTS.get(path)
    if cached is None or cached[0] != mtime:
        cached = (mtime, json.loads(path.read_text()))
        _MANIFESTS[path] = cached
    return cached[1]


def build_audio(
    texts: TextLibrary, prompts: Iterable[Prompt], out: Path, languages: Iterable[str] = VOICE_LANGUAGES
) -> BuildReport:
    """Render every prompt with espeak-ng into out/<lang>/<key>.wav; unchanged texts are not rendered again.

    Files of prompts that no longer exist are removed, so a changed fact is never played from old audio."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    report = BuildReport()
    prompt_list = list(prompts)
    manifest_path = out / MANIFEST
    manifest: dict[str, str] = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    wanted: set[Path] = set()
    for language in languages:
        folder = out / language
        for prompt in prompt_list:
            text = texts.speech(prompt.template, language, **prompt.context)
            target = folder / f"{prompt.key}.wav"
            wanted.add(target)
            digest = speech_digest(language, text)
            name = str(target.relative_to(out))
            if target.exists() and manifest.get(name) == digest:
                report.unchanged += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".wav", delete=False) as tmp:
                partial = Path(tmp.name)
            try:
                # The text goes on stdin: never parsed as options, whatever it holds.
                subprocess.run(
                    [espeak, "-v", language, "-s", "150", "-w", str(partial), "--stdin"],
                    input=text.encode(),
                    check=True,
                    capture_output=True,
                    timeout=60,
                )
                os.replace(partial, target)  # a half-written file is never served
            finally:
                partial.unlink(missing_ok=True)
            manifest[name] = digest
            report.written += 1
        for stale in folder.rglob("*.wav") if folder.exists() else []:
            if stale not in wanted:
                stale.unlink()
                manifest.pop(str(stale.relative_to(out)), None)
                report.removed += 1
    out.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=0, sort_keys=True))
    return report


@dataclass
class CheckReport:
    """Which prompts have a recording, only generated audio, or nothing (then <Say>, in Russian for ky/uz)."""

    recorded: list[tuple[str, str]] = field(default_factory=list)
    generated: list[tuple[str, str]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    unknown_recordings: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every prompt has audio in every language, and every recording is used."""
        return not self.missing and not self.unknown_recordings


def check_audio(
    audio: AudioLibrary, prompts: Iterable[Prompt], languages: Iterable[str] = VOICE_LANGUAGES
) -> CheckReport:
    """List the gaps: prompts without audio, and recorded files whose name matches no prompt (a typo plays nothing)."""
    report = CheckReport()
    prompt_list = list(prompts)
    keys = {prompt.key for prompt in prompt_list}
    for language in languages:
        for prompt in prompt_list:
            found = audio.find(language, prompt.key)
            kind = "missing" if found is None else "recorded" if audio.is_recorded(found) else "generated"
            getattr(report, kind).append((language, prompt.key))
        folder = audio.recorded / language
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path.is_file() and (
                path.suffix not in AUDIO_SUFFIXES or str(path.relative_to(folder).with_suffix("")) not in keys
            ):
                report.unknown_recordings.append(path)
    return report
