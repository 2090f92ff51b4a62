"""Reference data: oblasts, districts and municipalities families choose from, loaded from places.toml; and the
places a family names in its own words (`find_in_text`), in either script, with Kyrgyz, Uzbek or Russian endings."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from hotline.keywords import fold
from hotline.place_words import Kind, Mention, find_mentions, index_forms, mark_common, name_forms, name_kind

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
    aliases: tuple[str, ...] = ()  # other spellings families use (names in other scripts are read anyway)
    common_word: bool = False  # also an ordinary word: taken from a text only when written as a place

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
        self.oblasts: dict[str, dict[str, str]] = {o["code"]: o["names"] for o in data["oblasts"]}
        self.districts: list[Place] = []
        self.municipalities: dict[str, list[Place]] = {}
        for oblast in data["oblasts"]:
            for raw in oblast["districts"]:
                district = _place(raw, oblast["code"], None)
                self._add(district)
                self.districts.append(district)
                children = [_place(m, oblast["code"], district.code) for m in raw["municipalities"]]
                for child in children:
                    self._add(child)
                self.municipalities[district.code] = children
        self._by_name: dict[str, str] = {}
        for code, place in self.places.items():
            for name in place.names.values():
                self._by_name.setdefault(_name_key(name), code)  # districts first: "Баткен" is the rayon
        forms = [
            form
            for place in self.places.values()
            for name in (*place.names.values(), *place.aliases)
            for form in name_forms(name, place.code, kind_of(place), common=place.common_word)
        ]
        self._forms = index_forms(mark_common(forms))

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

    def area_name(self, code: str | None, language: str) -> str:
        """The name of an oblast, district or municipality for staff pages (the code itself if unknown)."""
        place = self.get(code)
        if place is not None:
            return place.name(language)
        names = self.oblasts.get(code or "", {})
        return names.get(language) or names.get("ru") or code or ""

    def find_by_name(self, text: str) -> Place | None:
        """A place whose name the family typed, forgiving case, letters and small typos."""
        query = _name_key(text)
        if len(query) < 3:
            return None
        found = process.extractOne(query, list(self._by_name), scorer=fuzz.ratio, score_cutoff=NAME_MATCH_CUTOFF)
        return self.places[self._by_name[found[0]]] if found else None

    def find_exact_name(self, text: str) -> Place | None:
        """A place one of whose names is the text, forgiving only case, letters and the words around a name."""
        code = self._by_name.get(_name_key(text))
        return self.places[code] if code else None

    def find_in_text(self, text: str, *, answering: bool = False) -> list[Place]:
        """The places a text names: one when it is clear, several when a name fits more than one, else none.

        `answering` is for the answer to a place question, where an ordinary word that is a village's name (Дара,
        Лейлек) is the village; in a complaint's own text it must be written as a place (see place_words)."""
        return self.resolve(self.mentions(text, answering=answering))

    def resolve(self, mentions: list[Mention]) -> list[Place]:
        """The places that fit every name found: each is it or its district ("Лейлек району, Катран" is Katran);
        when names disagree (two villages), all of them, as candidates to ask about."""
        named = [set(m.codes) for m in mentions]
        found = set().union(*named)
        fits = {c for c in found if all(m & {c, self.places[c].district_code} for m in named)}
        return [place for code, place in self.places.items() if code in (fits or found)]

    def mentions(self, text: str, *, answering: bool = False) -> list[Mention]:
        """Where a text names places (for telling a bare place answer from more complaint text)."""
        return find_mentions(text, self._forms, answering=answering)


def kind_of(place: Place) -> Kind:
    """A town when its names say so (Баткен шаары, г. Исфана, Sulukta town), else a rayon or a village."""
    if name_kind(place.names.values()) == "town":
        return "town"
    return "village" if place.district else "rayon"


def _place(raw: dict[str, Any], oblast: str, district: str | None) -> Place:
    return Place(
        raw["code"],
        raw["names"],
        oblast,
        district,
        raw.get("needs_review", False),
        tuple(raw.get("aliases", ())),
        raw.get("common_word", False),
    )


def find_in_text(text: str, *, answering: bool = False) -> list[Place]:
    """The places a text names in the shipped gazetteer (see Gazetteer.find_in_text)."""
    return get_gazetteer().find_in_text(text, answering=answering)


@lru_cache(maxsize=1)
def get_gazetteer() -> Gazetteer:
    """The gazetteer of the shipped data file."""
    return Gazetteer.from_file()
