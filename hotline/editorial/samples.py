"""Realistic data to preview a text with: what each template is rendered with in production, longest cases
included (the same cases tests/test_templates.py renders every template with)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hotline.benefits.service import Catalogue, ProgrammeVersion, estimate_uy_bulogo_komok
from hotline.models import ComplaintStatus
from hotline.places import get_gazetteer
from hotline.reminders.service import join_examples
from hotline.voice.prompts import Prompts

REFERENCE = "12345678"
ANSWER = "Жалоба текшерилди, акча кайтарылды."
REPLY_TO = "+996312900900"


def sample_contexts(catalogue: Catalogue, day: date) -> dict[str, list[dict[str, Any]]]:
    """For each template name, the contexts a preview renders (every branch a family can meet)."""
    places = get_gazetteer()
    programmes = catalogue.listing(day)
    ubk = catalogue.in_force("uy_bulogo_komok", day)
    contexts: dict[str, list[dict[str, Any]]] = {
        "complaints/ask_text": [{"anonymous": a} for a in (False, True)],
        "complaints/ask_district": [{"districts": places.districts, "anonymous": a} for a in (False, True)],
        "complaints/ask_municipality": [
            {"district": d, "municipalities": places.municipalities[d.code]} for d in places.districts
        ],
        "complaints/ack": [
            {"reference": REFERENCE, "pin": pin, "due": date(2026, 12, 31), "window_minutes": 30, "village_wanted": v}
            for pin in (None, "0123")
            for v in (False, True)
        ],
        "complaints/appended": [{"reference": REFERENCE}],
        "complaints/thanks": [{"reference": REFERENCE}],
        "complaints/not_added": [{"reference": REFERENCE, "village": v} for v in (False, True)],
        "complaints/place_noted": [
            {"reference": REFERENCE, "place": max(places.places.values(), key=lambda p: len(p.name("ru")))}
        ],
        "complaints/in_progress": [{"reference": REFERENCE, "reply_to": r} for r in (None, REPLY_TO)],
        "complaints/update": [{"reference": REFERENCE, "text": ANSWER}],
        "reminders/ask_born": [{"reply_to": r, "example": date(2026, 11, 20)} for r in (None, REPLY_TO)],
        "reminders/born_date": [{"example": date(2026, 11, 20)}],
        "reminders/born_corrected": [
            {"day": date(2026, 11, 25), "changed": c, "example": date(2026, 11, 20)} for c in (False, True)
        ],
        "help": [{"free": f} for f in (False, True)],
        "reminders/vaccination": [{"months": m} for m in (2, 3, 5, 12)],
        "reminders/join_retry": [
            {"reason": r, "step": s, **join_examples(day)}
            for r in ("kind", "month_out_of_range", "due_too_far", "due_past", "birth_in_future", "child_too_old", "x")
            for s in ("child", "pregnancy")
        ],
        "reminders/join_child": [join_examples(day)],
        "reminders/join_pregnancy": [join_examples(day)],
        "complaints/outcome": [
            {"reference": REFERENCE, "outcome": o, "rate": r} for o in ("resolved", "rejected") for r in (False, True)
        ],
        "reminders/volunteer_alert": [{"place": "Самаркандек", "phone": "+996555123456", "time": "23:59"}],
        "reminders/join_done": [{"kind": k, "day": date(2027, 12, 31)} for k in ("pregnancy", "child")],
        "reminders/join_place": [{"step": "district", "district": None, "places": places.districts}]
        + [{"step": "municipality", "district": d, "places": places.municipalities[d.code]} for d in places.districts]
        + [{"step": "candidates", "district": None, "places": list(places.places.values())[:4]}],
        "reminders/join_place_saved": [{"place": p} for p in (None, *places.places.values())],
        "status/show": [
            {"reference": REFERENCE, "status": s, "answered": a} for s in ComplaintStatus for a in (False, True)
        ],
        "status/answer": [{"text": ANSWER}],
        "expired": [{"flow": f} for f in ("check", "benefits", "lang")],
        "benefits/list": [{"programmes": programmes}],
        "benefits/unknown": [{"programmes": programmes}],
        "check/members": [{"again": a} for a in (False, True)],
        "check/income": [{"again": a} for a in (False, True)]
        + [{"again": True, "problem": p, "amount": 99} for p in ("range", "small", "unclear")],
    }
    if ubk is not None:
        contexts["check/children"] = [{"again": a, "p": ubk} for a in (False, True)]
        contexts["check/result"] = [
            {"e": estimate_uy_bulogo_komok(members=m, children=c, income_som=i, version=ubk), "p": ubk}
            for m, c, i in ((5, 3, 2000), (3, 0, 100), (4, 2, 9000), (1, 1, 9_999_999))
        ]
    for version in programmes:
        contexts.setdefault(version.template, []).append({"p": version})
    question = {"text": "Кош бойлуу аялдын коркунучтуу белгиси кайсы?", "choices": ["Кан кетүү", "Чарчоо"]}
    asked = [{**question, "open": o} for o in (False, True)]
    contexts.update(
        {
            "polls/question": asked,
            "polls/invitation": [{**q, "reply_to": r} for q in asked for r in (None, REPLY_TO)],
            "polls/retry": asked,
            "polls/feedback": [
                {"right": r, "answer": "Кан кетүү", "text": t} for r in (False, True) for t in ("", "103")
            ],
            "polls/not_started": [{"day": date(2026, 12, 31)}],
            "polls/gave_up": [{"keyword": k} for k in (None, "КВИЗ")],
        }
    )
    for prompt in Prompts(catalogue, places).every():
        contexts.setdefault(prompt.template, []).append(prompt.context)
    return contexts


def programme_contexts(version: ProgrammeVersion) -> list[dict[str, Any]]:
    """What a programme's own text is rendered with: the version itself."""
    return [{"p": version}]
