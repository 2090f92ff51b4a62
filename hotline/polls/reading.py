"""Reading a family's answer to a poll question: a choice by its number, or by its label or a synonym in any
language and script (folded by hotline/lexicon.py); an open answer as typed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hotline import lexicon
from hotline.models import PollQuestion

# A number alone, or first with words after it ("2", "2.", "2) да", "№2"); never inside a longer number.
_NUMBER = re.compile(r"^\W*(\d{1,2})(?!\d)(?:\W|$)")
MAX_OPEN = 1000  # characters of an open answer kept (an SMS body may be longer: the rest is of no use to a report)


@dataclass(frozen=True)
class Reading:
    """What an answer says: a choice's number, an open text, or nothing understood."""

    choice: int | None = None
    text: str = ""

    @property
    def understood(self) -> bool:
        """A choice was recognised, or an open answer was given."""
        return self.choice is not None or bool(self.text)


def read_answer(question: PollQuestion, body: str) -> Reading:
    """The answer a message gives to a question; Reading() when it matches no choice (or is empty)."""
    text = " ".join(body.split())
    if question.kind == "open":
        return Reading(text=text[:MAX_OPEN])
    numbered = _NUMBER.match(text)
    if numbered:
        n = int(numbered.group(1))
        return Reading(choice=n, text=text[:MAX_OPEN]) if 1 <= n <= len(question.choices) else Reading()
    line = lexicon.line(text)
    found = [n for n, words in enumerate(_words(question), start=1) if lexicon.Lexicon(words).search(line)]
    # Two choices named ("да нет") is no answer.
    return Reading(choice=found[0], text=text[:MAX_OPEN]) if len(found) == 1 else Reading()


def _words(question: PollQuestion) -> list[list[str]]:
    return [[*choice["labels"].values(), *choice.get("synonyms", [])] for choice in question.choices]
