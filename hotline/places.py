"""Reference data: oblasts, districts and municipalities families choose from, loaded from places.toml."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from hotline.keywords import fold

PLACES_FILE = Path(__file__).with_name("places.toml")
NAME_MATCH_CUTOFF = 85
# Words around a place's name that families leave out ("г. Сулюкта" is typed "сулюкта").
_GENERIC = re.compile(r"\b(Г|ШААРЫ|ШАХРИ|ГОРОД|TOWN|РАЙОНУ|РАЙОНИ|РАЙОН|РАЙОНЫ|RAYON|АЙЫЛ|АЙМАГЫ)\b\.?")


def _name_key(text: str) -> str:
    return " ".join(_GENERIC.sub(" ", fold(text).replace("-", " ")).split())


@dataclass(frozen=True)
class Place:
    """A municipality (aiyl aimak or town) or a district; districts have no parent district."""

    code: str
    names: dict[str, str]
    oblast: str
    district: str | None  # the district a municipality belongs to; None for a district itself
    needs_review: bool = False

    def name(self, language: str) -> str:
        """The name in a language; Uzbek readers see the Kyrgyz name (no Uzbek names in the data yet)."""
        return self.names.get(language) or self.names.get("ky") or self.names["en"]

    @property
    def district_code(self) -> str:
        """The district that handles routed complaints from here."""
        return self.district or self.code


class Gazetteer:
    """Lists and finds places by code, by number in a list, or by a typed name."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.places: dict[str, Place] = {}
        self.districts: list[Place] = []
        self.municipalities: dict[str, list[Place]] = {}
        for oblast in data["oblasts"]:
            for raw in oblast["districts"]:
                district = Place(raw["code"], raw["names"], oblast["code"], None, raw.get("needs_review", False))
                self._add(district)
                self.districts.append(district)
                children = [
                    Place(m["code"], m["names"], oblast["code"], district.code, m.get("needs_review", False))
                    for m in raw["municipalities"]
                ]
                for child in children:
                    self._add(child)
                self.municipalities[district.code] = children
        self._by_name: dict[str, str] = {}
        for code, place in self.places.items():
            for name in place.names.values():
                self._by_name.setdefault(_name_key(name), code)  # districts first: "Баткен" is the rayon

    def _add(self, place: Place) -> None:
        if place.code in self.places:
            raise ValueError(f"place code {place.code} is used twice")
        self.places[place.code] = place

    @classmethod
    def from_file(cls, path: Path = PLACES_FILE) -> Gazetteer:
        """Load the shipped reference data."""
        return cls(tomllib.loads(path.read_text(encoding="utf-8")))

    def get(self, code: str | None) -> Place | None:
        """A place by its code."""
        return self.places.get(code) if code else None

    def find_by_name(self, text: str) -> Place | None:
        """A place whose name the family typed, forgiving case, letters and small typos."""
        query = _name_key(text)
        if len(query) < 3:
            return None
        found = process.extractOne(query, list(self._by_name), scorer=fuzz.ratio, score_cutoff=NAME_MATCH_CUTOFF)
        return self.places[self._by_name[found[0]]] if found else None


@lru_cache(maxsize=1)
def get_gazetteer() -> Gazetteer:
    """The gazetteer of the shipped data file."""
    return Gazetteer.from_file()
