"""Versioned programme facts: which version is in force on a day, and the eligibility estimate."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from hotline.lexicon import Lexicon, line
from hotline.numbers import NumberReading

MAX_INCOME_SOM = 10_000_000
# A household's monthly income below this is more likely "5" meaning 5 000 than 5 som: asked once to confirm.
SMALLEST_LIKELY_INCOME_SOM = 100
PROGRAMMES_FILE = Path(__file__).with_name("programmes.toml")
REQUIRED_FIELDS = (
    "effective_from",
    "needs_review",
    "source",
    "template",
    "eligibility",
    "documents",
    "where",
    "appeal",
)


@dataclass(frozen=True)
class ProgrammeVersion:
    """One programme's rules and figures as in force from `effective_from`."""

    id: str
    number: int
    effective_from: date
    needs_review: bool
    source: str
    template: str
    facts: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        # Templates read figures as {{ p.amount_som }}; a missing one fails loudly in the render test.
        try:
            return self.facts[name]
        except KeyError:
            raise AttributeError(name) from None


class Catalogue:
    """All programmes and their versions, loaded from the data file."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._versions: dict[str, list[ProgrammeVersion]] = {}
        self._numbers: dict[int, str] = {}
        self._names: list[tuple[int, Lexicon]] = []
        for programme in data["programmes"]:
            pid, number = programme["id"], int(programme["number"])
            if number in self._numbers:
                raise ValueError(f"programme number {number} is used twice")
            self._numbers[number] = pid
            self._names.append((number, Lexicon(programme.get("names", []))))
            versions = []
            for raw in programme["versions"]:
                missing = [f for f in REQUIRED_FIELDS if f not in raw]
                if missing:
                    raise ValueError(f"{pid} version {raw.get('effective_from')} lacks {', '.join(missing)}")
                facts = {
                    k: v for k, v in raw.items() if k not in ("effective_from", "needs_review", "source", "template")
                }
                versions.append(
                    ProgrammeVersion(
                        pid,
                        number,
                        raw["effective_from"],
                        bool(raw["needs_review"]),
                        raw["source"],
                        raw["template"],
                        facts,
                    )
                )
            self._versions[pid] = sorted(versions, key=lambda v: v.effective_from)

    @classmethod
    def from_file(cls, path: Path = PROGRAMMES_FILE) -> Catalogue:
        """Load the shipped programme data."""
        return cls(tomllib.loads(path.read_text(encoding="utf-8")))

    def all_versions(self) -> list[ProgrammeVersion]:
        """Every version of every programme (for checks and tests)."""
        return [v for versions in self._versions.values() for v in versions]

    def in_force(self, programme_id: str, day: date) -> ProgrammeVersion | None:
        """The version of a programme in force on `day`, or None before its first version."""
        current = None
        for version in self._versions.get(programme_id, []):
            if version.effective_from <= day:
                current = version
        return current

    def listing(self, day: date) -> list[ProgrammeVersion]:
        """The programmes in force on `day`, in the order of their numbers."""
        found = (self.in_force(pid, day) for _, pid in sorted(self._numbers.items()))
        return [v for v in found if v is not None]

    def named_in(self, text: str) -> int | None:
        """The number of the one programme a text names ("балага сүйүнчү", "suyunchu"), None for none or several."""
        text_line = line(text)
        found = [number for number, names in self._names if names.search(text_line)]
        return found[0] if len(found) == 1 else None

    def by_number(self, number: int, day: date) -> ProgrammeVersion | None:
        """The programme a family chose by its number, if it is in force."""
        pid = self._numbers.get(number)
        return self.in_force(pid, day) if pid else None


@lru_cache(maxsize=1)
def get_catalogue() -> Catalogue:
    """The catalogue of the shipped data file."""
    return Catalogue.from_file()


@dataclass(frozen=True)
class Estimate:
    """The result of the self-check: income per person against the guaranteed minimum income."""

    likely_eligible: bool
    per_person_som: int
    gmi_som: int
    has_children: bool


def estimate_uy_bulogo_komok(*, members: int, children: int, income_som: int, version: ProgrammeVersion) -> Estimate:
    """Likely eligibility for үй-бүлөгө көмөк: children under the age limit and income per person below GMI."""
    per_person = income_som // members
    gmi = int(version.gmi_som)
    return Estimate(children > 0 and per_person < gmi, per_person, gmi, children > 0)


def income_problem(reading: NumberReading, *, confirmed: int | None = None) -> str:
    """Why an income answer cannot be used for an estimate yet ('' when it can): the reader's problem ('none',
    'range', 'several', 'unclear'), 'too_large', or 'small' for 1..99 som unless the family sends it twice."""
    if reading.value is None:
        return reading.problem or "unclear"
    if reading.value > MAX_INCOME_SOM:
        return "too_large"
    if 0 < reading.value < SMALLEST_LIKELY_INCOME_SOM and reading.value != confirmed:
        return "small"
    return ""
