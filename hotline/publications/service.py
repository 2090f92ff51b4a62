"""Leaflets (A5) and posters (A3) of a municipality: the live keywords of hotline/keywords.toml, the hotline's
numbers and the complaint promise, in the words of the printed templates (message_templates/<language>/print/)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from hotline.complaints.categories import get_rules
from hotline.context import Context
from hotline.keywords import KEYWORDS_FILE
from hotline.places import Place, get_gazetteer

PRINT_LANGUAGES = ("ky", "ru", "uz")  # the languages families in Batken read; English is staff's
FORMATS = {"leaflet": "A5", "poster": "A3"}


@dataclass(frozen=True)
class PrintedText:
    """One language's block of a leaflet or poster."""

    language: str
    heading: str
    text_us: str
    keywords: list[str]
    call_us: str
    promise: str


def keywords_in(language: str, path: Path = KEYWORDS_FILE) -> dict[str, str]:
    """Each keyword as a family of the language types it: the first word listed for it in keywords.toml (read at
    each print, so a changed keyword reaches the next leaflet), else the English one."""
    table = tomllib.loads(path.read_text(encoding="utf-8"))["keywords"]
    return {code: (words.get(language) or words["en"])[0] for code, words in table.items()}


def sms_number(ctx: Context) -> str:
    """The number families text: the public (short) number, else Kannel's sender, else the Twilio number."""
    settings = ctx.settings
    kannel = settings.kannel_from if "kannel" in settings.channel_list else ""
    return settings.public_number or kannel or settings.twilio_from_number


def municipalities() -> list[Place]:
    """Every municipality, district by district: one leaflet and one poster each."""
    gazetteer = get_gazetteer()
    return [m for district in gazetteer.districts for m in gazetteer.municipalities.get(district.code, [])]


def printed_texts(ctx: Context, place: Place, keywords_file: Path = KEYWORDS_FILE) -> list[PrintedText]:
    """The leaflet's text in Kyrgyz, Russian and Uzbek for a municipality."""
    rules = get_rules().categories.values()
    days = {
        "first_answer_days": max(c.first_answer_days for c in rules),
        "resolution_days": max(c.resolution_days for c in rules),
    }
    free, number = ctx.settings.free_to_text, sms_number(ctx)
    voice, callback = ctx.settings.twilio_from_number, ctx.settings.voice_callback
    blocks = []
    for language in PRINT_LANGUAGES:
        heading = ctx.texts.printed("print/heading", language, free=free, number=number)
        # The voice line answers on the Twilio number: without one there is no line to offer (never "call :").
        call_us = ctx.texts.printed("print/call_us", language, voice=voice, callback=callback) if voice else []
        blocks.append(
            PrintedText(
                language=language,
                heading=heading[0],
                text_us=" ".join(heading[1:]),
                keywords=ctx.texts.printed("print/keywords", language, words=keywords_in(language, keywords_file)),
                call_us=" ".join(call_us),
                promise=" ".join(ctx.texts.printed("print/promise", language, place=place.name(language), **days)),
            )
        )
    return blocks
