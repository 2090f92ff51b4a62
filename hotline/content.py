"""Every text a family reads: Jinja2 templates under message_templates/<language>/, rendered and measured."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, get_args

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hotline.config import Language
from hotline.segments import SegmentCount, count_segments

LANGUAGES: Final = get_args(Language)  # ky, ru, uz, en: the one list (hotline/config.py)
TEMPLATE_SUFFIX: Final = ".txt.j2"
VOICE_DIR: Final = "voice"  # spoken prompts (issue #7): no SMS budget, rendered to audio
PRINT_DIR: Final = "print"  # leaflets and posters (#21): no SMS budget, laid out as PDF
BUDGETS_FILE: Final = "budgets.toml"  # each SMS template's segment budget, one number for every language
_BLANK_RUNS = re.compile(r"[ \t]+")


class TextTooLong(ValueError):
    """A rendered text exceeds the SMS segment budget."""

    def __init__(self, message: str, segments: int = 0, budget: int = 0) -> None:
        super().__init__(message)
        self.segments, self.budget = segments, budget


@dataclass(frozen=True)
class Rendered:
    """A rendered text and what it costs to send."""

    text: str
    count: SegmentCount


def _tidy(text: str) -> str:
    # Templates are laid out for people to read; the SMS keeps single spaces and no blank edges.
    lines = [_BLANK_RUNS.sub(" ", line).strip() for line in text.strip().splitlines()]
    return "\n".join(line for line in lines if line)


def load_budgets(root: Path) -> dict[str, int]:
    """The segments each template may cost (`[segments]` of <root>/budgets.toml); none declared if it is absent."""
    path = root / BUDGETS_FILE
    if not path.exists():
        return {}
    declared = tomllib.loads(path.read_text(encoding="utf-8")).get("segments", {})
    budgets = {str(name): segments for name, segments in declared.items()}
    wrong = [name for name, segments in budgets.items() if not isinstance(segments, int) or segments < 1]
    if wrong:
        raise ValueError(f"{path}: budgets must be whole numbers of segments, at least 1: {', '.join(wrong)}")
    return budgets


class TextLibrary:
    """Renders a named template in a language and checks it against its segment budget."""

    def __init__(self, root: Path, max_segments: int) -> None:
        self.root = root
        self.max_segments = max_segments
        self.budgets = load_budgets(root)
        self.env = _environment(root, format_som)
        # Spoken amounts are plain digits: espeak-ng reads "1 200" as two numbers, "one, two hundred".
        self.speech_env = _environment(root, format_spoken_som)

    def names(self, language: str) -> list[str]:
        """Every SMS template name in a language, e.g. 'benefits/list' (voice prompts, under voice/, are not SMS)."""
        base = self.root / language
        found = (
            str(path.relative_to(base)).removesuffix(TEMPLATE_SUFFIX) for path in base.rglob(f"*{TEMPLATE_SUFFIX}")
        )
        return sorted(name for name in found if not name.startswith((f"{VOICE_DIR}/", f"{PRINT_DIR}/")))

    def speech(self, name: str, language: str, **context: Any) -> str:
        """Render a spoken text (voice prompts): no SMS budget, one line."""
        template = self.speech_env.get_template(f"{language}/{name}{TEMPLATE_SUFFIX}")
        return " ".join(_tidy(template.render(**context)).splitlines())

    def printed(self, name: str, language: str, **context: Any) -> list[str]:
        """Render a printed text (leaflets, posters): no SMS budget, its lines as laid out."""
        template = self.env.get_template(f"{language}/{name}{TEMPLATE_SUFFIX}")
        return _tidy(template.render(**context)).splitlines()

    def budget(self, name: str) -> int:
        """The segments `name` may cost: its own budget, never more than the global HOTLINE_MAX_SEGMENTS."""
        return min(self.budgets.get(name, self.max_segments), self.max_segments)

    def render(self, name: str, language: str, **context: Any) -> Rendered:
        """Render `name` in `language`; raise TextTooLong past its budget so no oversized text goes out."""
        template = self.env.get_template(f"{language}/{name}{TEMPLATE_SUFFIX}")
        text = _tidy(template.render(**context))
        count = count_segments(text)
        budget = self.budget(name)
        if count.segments > budget:
            raise TextTooLong(
                f"{language}/{name} is {count.segments} segments (budget {budget})", count.segments, budget
            )
        return Rendered(text, count)


def format_som(amount: int | float) -> str:
    """Amounts as written locally: 1 200 (thin grouping with a plain space, fits GSM-7)."""
    return f"{int(amount):,}".replace(",", " ")


def format_spoken_som(amount: int | float) -> str:
    """Amounts for a voice: 1200, ungrouped, so a synthesiser reads one number."""
    return str(int(amount))


def _environment(root: Path, som: Callable[[int | float], str]) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(root)),
        undefined=StrictUndefined,
        autoescape=False,  # SMS and spoken text, never HTML
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["som"] = som
    return env


@lru_cache(maxsize=4)
def get_library(root: Path, max_segments: int) -> TextLibrary:
    """One compiled template library per folder and budget."""
    return TextLibrary(root, max_segments)
