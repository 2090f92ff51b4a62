"""How the hotline reads one corpus message, through its public behaviour only: the phone is put in the row's
situation by ordinary SMS (or the service calls a family's earlier messages would have made), the message goes
through `engine.handle` at a fixed time, and what it was understood as is read back from the reply, the keyword,
and the complaint or enrolment it filed. Shared by tests/corpus/test_corpus.py and `python -m bench.understanding`."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from hotline.benefits.service import estimate_uy_bulogo_komok
from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.dialogue.inbound import Handled, Inbound
from hotline.engine import handle
from hotline.models import Complaint, Enrolment, EnrolmentKind
from hotline.reminders.service import enrol, household_of, join_examples
from tests.factories import OUR_NUMBER, new_sid

CORPUS = Path(__file__).with_name("messages.tsv")
# Every row is read at the same moment (a Monday afternoon in Batken), so dates in words have one right answer.
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
COLUMNS = ("message", "lang", "script", "context", "intent", "category", "place", "number", "date", "reply_lang")
INTENTS = {
    "BENEFITS", "CHECK", "COMPLAINT", "ANON", "STATUS", "JOIN", "BORN", "LOSS", "PAUSE", "DANGER", "STOP", "START",
    "HELP", "LANG", "MENU",
}  # fmt: skip
LANGUAGES = ("ky", "ru", "uz", "en")
SCRIPTS = ("cyrl", "latn")
# The situations a message can arrive in; a dialogue's answer is read as that dialogue's intent.
CONTEXTS = {
    "": None,  # a phone that has written before in the row's language, nothing going on
    "new": None,  # a phone never seen (the hotline's default language)
    "placed": None,  # its village is remembered from an earlier complaint: a complaint is filed in one SMS
    "stopped": None,  # it sent STOP earlier
    "household": None,  # enrolled for reminders before (consent given), no pregnancy or child running now
    "pregnant": None,  # enrolled with a pregnancy due in six weeks
    "enrolled": None,  # enrolled with a child born in January
    "check:members": "CHECK",
    "check:income": "CHECK",
    "join:kind": "JOIN",
    "join:child": "JOIN",
    "join:pregnancy": "JOIN",
    # a family new to reminders (no household, so no consent yet) answered JOIN's questions: consent is asked now
    "join:consent": "JOIN",
    "complaint:text": "COMPLAINT",  # the keyword was sent alone (the village is remembered); now the text
    "complaint:place": "COMPLAINT",
    "lang:choose": "LANG",
    "benefits:choose": "BENEFITS",
}
# The plain keywords (README's table) that start each dialogue, in each language.
_KEYWORDS = {
    "ky": {"CHECK": "ТЕКШЕР", "JOIN": "КАТТАЛУУ", "COMPLAINT": "АРЫЗ", "LANG": "ТИЛ", "BENEFITS": "ЖӨЛӨКПУЛ"},
    "ru": {"CHECK": "ПРОВЕРКА", "JOIN": "ПОДПИСКА", "COMPLAINT": "ЖАЛОБА", "LANG": "ЯЗЫК", "BENEFITS": "ПОСОБИЕ"},
    "uz": {"CHECK": "ТЕКШИРИШ", "JOIN": "АЪЗО", "COMPLAINT": "ШИКОЯТ", "LANG": "ТИЛ", "BENEFITS": "НАФАҚА"},
    "en": {"CHECK": "CHECK", "JOIN": "JOIN", "COMPLAINT": "COMPLAINT", "LANG": "LANG", "BENEFITS": "BENEFITS"},
}
# A complaint's first SMS that names no place, so the dialogue asks where.
_PLACELESS = {
    "ky": "акча келген жок",
    "ru": "деньги не пришли",
    "uz": "пул келмади",
    "en": "money did not come",
}
REMEMBERED_PLACE = "dara"
CHECK_INCOME = 60_000  # after a members answer: income per person then shows the number of members read
LANGUAGE_CHOICES = {"1": "ky", "2": "ru", "3": "uz", "4": "en"}


@dataclass(frozen=True)
class Row:
    """One corpus message and the reading a person would give it (empty fields are not checked)."""

    line: int
    message: str
    lang: str
    script: str
    context: str
    intent: str
    category: str
    place: str
    number: str
    date: str
    reply_lang: str

    @property
    def id(self) -> str:
        """A short test id: the line in the file, the language and script."""
        return f"L{self.line}-{self.lang}-{self.script}"


def load_rows(path: Path = CORPUS) -> list[Row]:
    """The corpus rows, checked for columns the reading understands (a typo in the file fails loudly)."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        record = next(csv.reader([line], delimiter="\t", quoting=csv.QUOTE_NONE))
        if record[: len(COLUMNS)] == list(COLUMNS):
            continue  # the header
        fields = [field.strip() for field in record] + [""] * (len(COLUMNS) - len(record))
        row = Row(number, *fields[: len(COLUMNS)])
        _validate(row, record)
        rows.append(row)
    return rows


def _validate(row: Row, record: list[str]) -> None:
    problems = [
        f"lang {row.lang!r}" if row.lang not in LANGUAGES else "",
        f"script {row.script!r}" if row.script not in SCRIPTS else "",
        f"context {row.context!r}" if row.context not in CONTEXTS else "",
        f"intent {row.intent!r}" if row.intent not in INTENTS else "",
        f"{len(record)} columns" if len(record) > len(COLUMNS) else "",
    ]
    if any(problems):
        raise ValueError(f"corpus row {row.id} {row.message!r}: bad {', '.join(p for p in problems if p)}")


@dataclass
class Reading:
    """What the hotline made of a message, and how it differs from the row's reading."""

    intent: str
    language: str
    replies: list[str]
    mismatches: list[str]

    @property
    def understood(self) -> bool:
        """True when every expectation of the row holds."""
        return not self.mismatches


def send(session: Session, ctx: Context, phone: str, body: str, now: datetime) -> Handled:
    """One SMS from `phone` through the engine, as every channel hands it over."""
    return handle(session, ctx, Inbound("twilio", new_sid(), phone, OUR_NUMBER, body, now))


def read(session: Session, ctx: Context, row: Row, phone: str, now: datetime = NOW) -> Reading:
    """Put the phone in the row's situation, send the message, and compare what was understood with the row."""
    _prepare(session, ctx, row, phone, now - timedelta(minutes=5))
    before_complaint = _last_id(session, Complaint.id)
    before_enrolment = _last_id(session, Enrolment.id)
    handled = send(session, ctx, phone, row.message, now)
    intent = _intent(ctx, row, handled)
    mismatches = [] if intent == row.intent else [f"intent {intent}, expected {row.intent}"]
    expected_language = row.reply_lang or row.lang
    if expected_language != "*" and handled.language != expected_language:
        mismatches.append(f"answered in {handled.language}, expected {expected_language}")
    if row.category or row.place:
        mismatches += _complaint_mismatches(session, row, before_complaint)
    if row.number:
        mismatches += _number_mismatches(session, ctx, row, phone, handled, now)
    if row.date:
        mismatches += _date_mismatches(session, ctx, row, handled, before_enrolment, ctx.local_day(now))
    return Reading(intent, handled.language, handled.replies, mismatches)


def _last_id(session: Session, column: object) -> int:
    found = session.execute(sa.select(sa.func.max(column))).scalar()
    return int(found or 0)


def _prepare(session: Session, ctx: Context, row: Row, phone: str, earlier: datetime) -> None:
    contact = get_or_create_contact(session, ctx, phone, earlier)
    if row.context != "new":
        contact.language = row.lang
    if row.context in ("placed", "complaint:text"):
        contact.municipality_code = REMEMBERED_PLACE
    if row.context == "stopped":
        contact.opted_out_at = earlier - timedelta(days=1)
    session.add(contact)
    # The other JOIN situations start from a household that consented before, so consent is not asked again.
    consented = row.context.startswith("join:") and row.context != "join:consent"
    if row.context in ("household", "pregnant", "enrolled") or consented:
        household = household_of(session, contact, earlier, "sms")
        day = ctx.local_day(earlier)
        if row.context == "pregnant":
            enrol(session, household, EnrolmentKind.PREGNANCY, earlier, day, due_date=day + timedelta(weeks=6))
        if row.context == "enrolled":
            enrol(session, household, EnrolmentKind.CHILD, earlier, day, birth_date=date(day.year, 1, 10))
    session.commit()
    flow = CONTEXTS[row.context]
    if flow is None:
        return
    step = row.context.split(":")[1]
    opening = _KEYWORDS[row.lang][flow]
    if step == "place":
        opening = f"{opening} {_PLACELESS[row.lang]}"
    # consent: JOIN's questions answered as a family does (a pregnancy, its fifth month: due about 2026-11-02)
    answers = {"income": ["1", "1"], "child": ["2"], "pregnancy": ["1"], "consent": ["1", "5"]}.get(step, [])
    for body in [opening, *answers]:
        handled = send(session, ctx, phone, body, earlier)
        if not handled.replies:
            raise AssertionError(f"setting up {row.context}: {body!r} got no answer")
    if step == "consent" and ctx.texts.render("reminders/join_consent", handled.language).text not in handled.replies:
        raise AssertionError(f"setting up {row.context}: consent not asked: {handled.replies}")


def _intent(ctx: Context, row: Row, handled: Handled) -> str:
    """DANGER when the danger answer was given; the keyword; a dialogue's intent when the message was taken as its
    answer; MENU for the menu (or silence after STOP)."""
    danger = ctx.texts.render("reminders/danger", handled.language).text
    if handled.keyword == "DANGER" or danger in handled.replies:
        return "DANGER"
    if handled.keyword == "COMPLAINT" and handled.private:
        return "ANON"  # COMPLAINT ANON <text>: a private turn
    if handled.keyword:
        return handled.keyword
    menu = ctx.texts.render("menu", handled.language).text
    flow = CONTEXTS[row.context]
    if flow is not None and handled.replies and menu not in handled.replies:
        return flow
    return "MENU"


def _complaint_mismatches(session: Session, row: Row, before: int) -> list[str]:
    complaint = session.exec(select(Complaint).where(col(Complaint.id) > before).order_by(col(Complaint.id))).first()
    if row.category == "-":  # the family only said it wants to complain: its text is asked for, nothing filed
        return [f"filed {complaint.text!r} as the complaint"] if complaint else []
    if complaint is None:
        return ["no complaint filed"]
    found = []
    if row.category and complaint.category != row.category:
        found.append(f"category {complaint.category}, expected {row.category}")
    place = complaint.municipality_code or complaint.district_code
    if row.place and place != row.place:
        found.append(f"place {place}, expected {row.place}")
    return found


def _number_mismatches(
    session: Session, ctx: Context, row: Row, phone: str, handled: Handled, now: datetime
) -> list[str]:
    """A number is seen in what it leads to: the programme shown, the self-check's figures, the language set."""
    language, day = handled.language, ctx.local_day(now)
    accepted = row.number.split("|")
    if row.intent == "LANG":
        chosen = LANGUAGE_CHOICES.get(row.number)
        return [] if language == chosen else [f"language {language}, expected {chosen}"]
    if row.intent == "BENEFITS":
        for option in accepted:
            version = ctx.catalogue.by_number(int(option), day) if option.isdigit() else None
            if option == "list":
                expected = ctx.texts.render("benefits/list", language, programmes=ctx.catalogue.listing(day)).text
            elif version is not None:
                expected = ctx.texts.render(version.template, language, p=version).text
            else:
                raise ValueError(f"corpus row {row.id}: no programme {option}")
            if expected in handled.replies:
                return []
        return [f"not programme {row.number}: {handled.replies}"]
    if row.intent == "CHECK":
        return _check_mismatches(session, ctx, row, phone, handled, now, accepted)
    raise ValueError(f"corpus row {row.id}: a number is not checked for {row.intent}")


def _check_mismatches(
    session: Session, ctx: Context, row: Row, phone: str, handled: Handled, now: datetime, accepted: list[str]
) -> list[str]:
    """The income is seen in the result's income per person (one member); a household size by answering the
    remaining questions (one child, a fixed income). `?`: the same question is still open, so a plain answer sent
    next is taken for it."""
    language, day = handled.language, ctx.local_day(now)
    version = ctx.catalogue.in_force("uy_bulogo_komok", day)
    assert version is not None

    def result(members: int, income: int) -> str:
        estimate = estimate_uy_bulogo_komok(members=members, children=1, income_som=income, version=version)
        return ctx.texts.render("check/result", language, e=estimate, p=version).text

    numbers = [int(option) for option in accepted if option != "?"]
    if row.context == "check:income":
        if any(result(1, number) in handled.replies for number in numbers):
            return []
        if "?" in accepted and result(1, CHECK_INCOME) in send(session, ctx, phone, str(CHECK_INCOME), now).replies:
            return []
        return [f"not read as {row.number}: {handled.replies}"]
    children_question = ctx.texts.render("check/children", language, again=False, p=version).text
    after_one = send(session, ctx, phone, "1", now).replies  # the children, or the household size asked again
    if "?" in accepted and children_question in after_one:
        return []
    replies = send(session, ctx, phone, str(CHECK_INCOME), now).replies
    if any(result(number, CHECK_INCOME) in replies for number in numbers):
        return []
    return [f"not read as {row.number}: {handled.replies}"]


def _date_mismatches(session: Session, ctx: Context, row: Row, handled: Handled, before: int, day: date) -> list[str]:
    """`born:`/`due:` a day (`2026-03-15`), a day give or take N days (`2026-03-15~16`) or a month (`2026-03`);
    nothing after the colon: that date is asked for next (JOIN understood a child or a pregnancy); `?` means the
    date must be asked again, never guessed; `-`: nothing enrolled (JOIN's consent was not given)."""
    made = list(session.exec(select(Enrolment).where(col(Enrolment.id) > before).order_by(col(Enrolment.id))))
    if row.date == "?":
        return [f"guessed a date: {made[0].birth_date or made[0].due_date}"] if made else []
    if row.date == "-":
        return [f"enrolled a {made[0].kind.value} without consent"] if made else []
    kind, _, wanted = row.date.partition(":")
    if not wanted:
        question = {"born": "reminders/join_child", "due": "reminders/join_pregnancy"}[kind]
        asked = ctx.texts.render(question, handled.language, **join_examples(day)).text in handled.replies
        return [] if asked else [f"not asked the {kind} date: {handled.replies}"]
    field = {"born": "birth_date", "due": "due_date"}[kind]
    found: date | None = next((getattr(e, field) for e in made if getattr(e, field) is not None), None)
    if found is None:
        return [f"no {kind} date enrolled"]
    if _date_fits(found, wanted):
        return []
    return [f"{kind} {found.isoformat()}, expected {wanted}"]


def _date_fits(found: date, wanted: str) -> bool:
    day, _, slack = wanted.partition("~")
    if len(day) == 7:  # a month
        return found.isoformat()[:7] == day
    return abs((found - date.fromisoformat(day)).days) <= int(slack or 0)
