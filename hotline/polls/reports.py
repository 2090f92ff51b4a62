"""Poll results for the page and the CSV: per question, counts and shares by answer, municipality and language, the
response rate over unique phones invited, open answers (searchable in any script), and a baseline compared with
its end-line. A count under 5 is shown as "<5" (and its share not at all): no small group can be singled out.
Nothing here reads a phone number: answers name a contact id only, and no export carries even that."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from hotline import lexicon
from hotline.models import Poll, PollAnswer, PollInvitation, PollQuestion
from hotline.places import get_gazetteer
from hotline.polls.service import choice_label, questions_of

SMALL = 5
MAX_OPEN_SHOWN = 200
UNKNOWN_PLACE = "-"


def shown(count: int) -> str:
    """A count as staff see it: "<5" for 1 to 4."""
    return "<5" if 0 < count < SMALL else str(count)


def share(count: int, total: int) -> str:
    """A share in per cent, none for a small count (it would give the count away)."""
    if not total or 0 < count < SMALL:
        return "—"
    return f"{100 * count / total:.0f}%"


@dataclass(frozen=True)
class Row:
    """One answer's count and share."""

    label: str
    count: int
    total: int
    correct: bool = False

    @property
    def shown(self) -> str:
        return shown(self.count)

    @property
    def share(self) -> str:
        return share(self.count, self.total)

    @property
    def width(self) -> int:
        """The bar's length out of 200 (no bar for a small count)."""
        return 0 if not self.total or self.count < SMALL else round(200 * self.count / self.total)


@dataclass(frozen=True)
class OpenAnswer:
    """An open answer as staff read it: the text, where and in which language, when; never who."""

    text: str
    place: str
    place_code: str
    language: str
    at: datetime


@dataclass
class QuestionResult:
    """The results of one question."""

    question: PollQuestion
    text: str
    total: int = 0
    rows: list[Row] = field(default_factory=list)
    # (place or language, its answers' count, a row per choice)
    by_place: list[tuple[str, int, list[Row]]] = field(default_factory=list)
    by_language: list[tuple[str, int, list[Row]]] = field(default_factory=list)
    open_answers: list[OpenAnswer] = field(default_factory=list)
    open_matching: int = 0


@dataclass
class PollResults:
    """A poll's results."""

    poll: Poll
    invited: int
    respondents: int
    invited_respondents: int
    questions: list[QuestionResult]

    @property
    def response_rate(self) -> str:
        """Phones that answered at least one question among the unique phones invited."""
        return share(self.invited_respondents, self.invited) if self.invited else "—"


def _place_name(code: str | None, language: str) -> str:
    return get_gazetteer().area_name(code, language) if code else UNKNOWN_PLACE


def poll_results(session: Session, poll: Poll, language: str, search: str = "") -> PollResults:
    """Everything the results page shows, in the interface language (question texts in it, else Russian)."""
    poll_id = poll.id or 0
    invited = session.exec(select(sa.func.count()).select_from(PollInvitation).where(PollInvitation.poll_id == poll_id))
    answering = select(sa.func.count(sa.distinct(col(PollAnswer.contact_id)))).where(PollAnswer.poll_id == poll_id)
    results = PollResults(
        poll,
        invited=int(invited.one()),
        respondents=int(session.exec(answering).one()),
        invited_respondents=int(session.exec(answering.where(col(PollAnswer.invited))).one()),
        questions=[],
    )
    counts = _counts(session, poll_id)
    needle = lexicon.line(search).strip() if search.strip() else ""
    for question in questions_of(session, poll_id):
        result = QuestionResult(question, question.texts.get(language) or question.texts.get("ru", ""))
        mine = [(place, lang, choice, n) for qid, place, lang, choice, n in counts if qid == question.id]
        result.total = sum(n for *_, n in mine)
        if question.kind == "choice":
            result.rows = _rows(question, language, mine, result.total)
            result.by_place = _grouped(question, language, mine, 0, lambda code: _place_name(code, language))
            result.by_language = _grouped(question, language, mine, 1, lambda code: code or UNKNOWN_PLACE)
        else:
            result.open_answers, result.open_matching = _open_answers(session, question, language, needle)
        results.questions.append(result)
    return results


def _counts(session: Session, poll_id: int) -> list[tuple[int, str | None, str, int | None, int]]:
    rows = session.execute(
        sa.select(
            col(PollAnswer.question_id),
            col(PollAnswer.municipality_code),
            col(PollAnswer.language),
            col(PollAnswer.choice),
            sa.func.count(),
        )
        .where(col(PollAnswer.poll_id) == poll_id)
        .group_by(
            col(PollAnswer.question_id),
            col(PollAnswer.municipality_code),
            col(PollAnswer.language),
            col(PollAnswer.choice),
        )
    )
    return [(int(q), place, str(lang), choice, int(n)) for q, place, lang, choice, n in rows]


def _rows(
    question: PollQuestion, language: str, counts: list[tuple[str | None, str, int | None, int]], total: int
) -> list[Row]:
    by_choice: dict[int | None, int] = defaultdict(int)
    for _, _, choice, n in counts:
        by_choice[choice] += n
    return [
        Row(choice_label(c, language), by_choice.get(number, 0), total, question.correct == number)
        for number, c in enumerate(question.choices, start=1)
    ]


def _grouped(
    question: PollQuestion,
    language: str,
    counts: list[tuple[str | None, str, int | None, int]],
    by: int,
    name: Callable[[str | None], str],
) -> list[tuple[str, int, list[Row]]]:
    groups: dict[str | None, list[tuple[str | None, str, int | None, int]]] = defaultdict(list)
    for row in counts:
        key = row[0] if by == 0 else row[1]
        groups[key].append(row)
    named = [(name(key), rows) for key, rows in groups.items()]
    out = []
    for label, rows in sorted(named, key=lambda item: item[0]):
        total = sum(n for *_, n in rows)
        out.append((label, total, _rows(question, language, rows, total)))
    return out


def _open_answers(
    session: Session, question: PollQuestion, language: str, needle: str, limit: int | None = MAX_OPEN_SHOWN
) -> tuple[list[OpenAnswer], int]:
    # Searched in Python on the folded text (lexicon.line), so "суу" finds "Suu" and "сув": any script, any case.
    rows = session.execute(
        sa.select(
            col(PollAnswer.text),
            col(PollAnswer.municipality_code),
            col(PollAnswer.language),
            col(PollAnswer.answered_at),
        )
        .where(col(PollAnswer.question_id) == question.id, col(PollAnswer.text) != "")
        .order_by(col(PollAnswer.answered_at).desc(), col(PollAnswer.id).desc())
    )
    found = [
        OpenAnswer(text, _place_name(place, language), place or "", lang, at)
        for text, place, lang, at in rows
        if not needle or needle in lexicon.line(text)
    ]
    return found[:limit], len(found)


@dataclass(frozen=True)
class Compared:
    """One answer of a question asked in a baseline and in its end-line: shares side by side."""

    label: str
    before: str
    after: str
    change: str


def compare(session: Session, baseline: Poll, endline: Poll, language: str) -> list[tuple[str, list[Compared]]]:
    """The choice questions both polls ask at the same place with as many choices, share by share."""
    before = {q.question.position: q for q in poll_results(session, baseline, language).questions}
    out = []
    for result in poll_results(session, endline, language).questions:
        earlier = before.get(result.question.position)
        if result.question.kind != "choice" or earlier is None or len(earlier.rows) != len(result.rows):
            continue
        lines = []
        for old, new in zip(earlier.rows, result.rows, strict=True):
            change = "—"
            if old.share != "—" and new.share != "—":
                points = 100 * new.count / new.total - 100 * old.count / old.total
                change = f"{points:+.0f}"
            lines.append(Compared(new.label, old.share, new.share, change))
        out.append((result.text, lines))
    return out


CSV_HEADER = ("poll", "question", "question_text", "answer", "answer_text", "municipality", "language", "count")
OPEN_CSV_HEADER = ("poll", "question", "question_text", "answer_text", "municipality", "language", "day")


def csv_rows(session: Session, poll: Poll, language: str) -> Iterator[list[object]]:
    """The counts file: one row per question, answer, municipality and language; small counts as "<5"."""
    questions = {q.id: q for q in questions_of(session, poll.id or 0)}
    for qid, place, lang, choice, n in sorted(
        _counts(session, poll.id or 0), key=lambda r: (r[0], r[3] or 0, r[1] or "", r[2])
    ):
        question = questions[qid]
        if question.kind != "choice":
            continue
        label = choice_label(question.choices[choice - 1], language) if choice else ""
        text = question.texts.get(language, "")
        yield [poll.name, question.position, text, choice or "", label, place or "", lang, shown(n)]


def open_csv_rows(session: Session, poll: Poll, language: str, tz: ZoneInfo) -> Iterator[list[object]]:
    """The open answers file: the texts with place, language and day; no number, no contact."""
    for question in questions_of(session, poll.id or 0):
        if question.kind != "open":
            continue
        answers, _ = _open_answers(session, question, language, "", None)
        text = question.texts.get(language, "")
        for answer in answers:
            day = answer.at.astimezone(tz).date().isoformat()
            yield [poll.name, question.position, text, answer.text, answer.place_code, answer.language, day]
