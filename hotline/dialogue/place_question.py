"""The place question of a dialogue: which rayon, then which village, answered by its number or by a typed name.

Shared by the complaint dialogue and JOIN; each asks in its own words. The pending question is a step and its data:
`district` (the rayons), `municipality` (the villages of `data["district"]`) or `candidates` (`data["candidates"]`,
the places one name fits)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hotline.place_words import other_words
from hotline.places import Place, get_gazetteer

STEPS = ("district", "municipality", "candidates")
MAX_CANDIDATES = 4  # more places than this fit for one name: the usual rayon question is shorter


@dataclass(frozen=True)
class Ask:
    """The question still to ask: its step, what to save for reading the answer, and the places it lists."""

    step: str
    places: list[Place]
    district: Place | None = None
    data: dict[str, Any] = field(default_factory=dict)


def settle(named: list[Place]) -> Place | Ask:
    """The one place named (a village, or a rayon without villages), else the question that is still open: the
    village of a named rayon, which of a few candidates, or (nothing, or too much, named) the rayon."""
    gazetteer = get_gazetteer()
    if len(named) == 1 and not (named[0].district is None and gazetteer.municipalities.get(named[0].code)):
        return named[0]
    if len(named) == 1:
        return village_question(named[0])
    if 1 < len(named) <= MAX_CANDIDATES:
        return Ask("candidates", named, None, {"candidates": [place.code for place in named]})
    return rayon_question()


def rayon_question() -> Ask:
    """Which rayon (a town of the oblast counts as one)."""
    return Ask("district", get_gazetteer().districts)


def village_question(rayon: Place) -> Ask:
    """Which village of a rayon."""
    return Ask("municipality", get_gazetteer().municipalities.get(rayon.code, []), rayon, {"district": rayon.code})


def pending(step: str, data: Mapping[str, Any]) -> Ask:
    """The question a saved step asks (to ask it again)."""
    district = get_gazetteer().get(data.get("district")) if step == "municipality" else None
    keep = {key: data[key] for key in ("district", "candidates") if key in data}
    return Ask(step, listed(step, data), district, keep)


def listed(step: str, data: Mapping[str, Any]) -> list[Place]:
    """The places the pending question listed, in its order."""
    gazetteer = get_gazetteer()
    if step == "candidates":
        return [p for code in data.get("candidates", []) if (p := gazetteer.get(code))]
    district = gazetteer.get(data.get("district"))
    return gazetteer.municipalities.get(district.code, []) if district else gazetteer.districts


def places_in_answer(body: str) -> tuple[list[Place], bool]:
    """The places an answer to the place question names, and whether it says more than a place.

    An answer that is only a place may name it by an ordinary word (дара, лейлек): the question asked for a place.
    A name with a typo is found when it is the whole answer (Катрн)."""
    gazetteer = get_gazetteer()
    mentions = gazetteer.mentions(body)
    relaxed = gazetteer.mentions(body, answering=True)
    if other_words(body, relaxed) == 0:
        mentions = relaxed
    if not mentions and (typed := gazetteer.find_by_name(body)):
        return [typed], False
    return gazetteer.resolve(mentions), other_words(body, mentions) > 0


def narrow(named: list[Place], step: str, data: Mapping[str, Any]) -> list[Place]:
    """Of the places an answer names, those the question was about: the villages of the district asked about, the
    candidates offered, or, asked for the rayon, the rayon of a name it shares with its own town or village."""
    codes = {place.code for place in listed(step, data)}
    if step == "district":
        rayons = [p for p in named if p.district is None]
        if len(rayons) == 1 and all(p.district_code == rayons[0].code for p in named):
            return rayons
        return named
    return [p for p in named if p.code in codes] or named
