"""The planning run writes a chunk of households at once: the same outcome whatever the chunk size, a conflict with
another planner drops only what that planner decided first, and two planners at once never plan anything twice."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import hotline.reminders.planner as service
from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.messaging.outbox import enqueue
from hotline.models import Contact, Enrolment, EnrolmentKind, OutboundMessage, Purpose, ReminderPlanned
from hotline.reminders.planner import plan_day
from hotline.reminders.run import PlanReport
from hotline.reminders.service import enrol, household_of

START = date(2027, 1, 6)  # a Wednesday
WEEK = f"{START.isocalendar().year}-W{START.isocalendar().week:02d}"


def at(ctx: Context, day: date, hour: int = 6) -> datetime:
    return datetime.combine(day, time(hour), ctx.tz)


def family(session: Session, ctx: Context, n: int, **enrolments: date) -> int:
    """A household enrolled a month ago with a child (born=...) and/or a pregnancy (due=...)."""
    contact = get_or_create_contact(session, ctx, f"+99655510{n:04d}", at(ctx, START))
    earlier = at(ctx, START - timedelta(days=30))
    household = household_of(session, contact, earlier, "sms")
    if "due" in enrolments:
        enrol(session, household, EnrolmentKind.PREGNANCY, earlier, START, due_date=enrolments["due"])
    if "born" in enrolments:
        enrol(session, household, EnrolmentKind.CHILD, earlier, START, birth_date=enrolments["born"])
    session.commit()
    return household.id or 0


def families(session: Session, ctx: Context) -> dict[str, int]:
    homes = {
        "newborn": family(session, ctx, 1, born=START - timedelta(days=1)),  # day 1 today
        "missed": family(session, ctx, 2, born=START - timedelta(days=3)),  # day 1 missed, day 3 today
        "both": family(
            session, ctx, 3, due=START + timedelta(weeks=28), born=START - relativedelta(months=4)
        ),  # week 12 and 4 months
        "stopped": family(session, ctx, 4, born=START - relativedelta(months=5)),
        "vaccination": family(session, ctx, 5, born=START - relativedelta(months=2)),
        "had_one": family(session, ctx, 6, born=START - relativedelta(months=6)),
    }
    stopped = session.exec(select(Contact).where(Contact.phone_hash == ctx.vault.lookup_hash("+996555100004"))).one()
    stopped.opted_out_at = at(ctx, START - timedelta(days=1))
    # This week's reminder already went to one household (e.g. planned with an earlier schedule).
    contact = session.exec(select(Contact).where(Contact.phone_hash == ctx.vault.lookup_hash("+996555100006"))).one()
    week = START.isocalendar()
    key = f"reminder:{homes['had_one']}:{week.year}-W{week.week:02d}"
    enqueue(session, ctx, contact=contact, text="earlier", purpose=Purpose.REMINDER, key=key, now=at(ctx, START))
    session.commit()
    return homes


def outcome(session: Session, homes: dict[str, int]) -> list[tuple[str, str, str | None]]:
    """(household, code, the key of its SMS) for every decided message, with names for the ids."""
    names = {i: name for name, i in homes.items()}
    found = []
    for row in session.exec(select(ReminderPlanned)).all():
        enrolment = session.get(Enrolment, row.enrolment_id)
        assert enrolment is not None
        name, key = names[enrolment.household_id], row.outbound_key
        if key == f"reminder:{enrolment.household_id}:{WEEK}":
            key = f"reminder:{name}:{WEEK}"
        elif key == f"reminder:{row.enrolment_id}:{row.code}":
            key = f"reminder:E:{row.code}"
        found.append((name, row.code, key))
    return sorted(found, key=lambda r: (r[0], r[1], r[2] or ""))


EXPECTED = [
    ("both", "child-m4", f"reminder:both:{WEEK}"),
    ("both", "preg-w12", f"reminder:both:{WEEK}"),
    ("had_one", "child-m6", None),
    ("missed", "birth-d1", None),
    ("missed", "birth-d3", "reminder:E:birth-d3"),
    ("newborn", "birth-d1", "reminder:E:birth-d1"),
    ("stopped", "child-m5", None),
    ("stopped", "vacc-m5", None),
    ("vaccination", "vacc-m2", f"reminder:vaccination:{WEEK}"),
]


def messages(session: Session) -> list[str]:
    return sorted(m.idempotency_key for m in session.exec(select(OutboundMessage)))


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_the_outcome_does_not_depend_on_the_chunk_size(
    session: Session, ctx: Context, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(service, "CHUNK", chunk)
    homes = families(session, ctx)
    report = plan_day(session, ctx, START, at(ctx, START))
    session.commit()
    assert outcome(session, homes) == EXPECTED
    assert (report.households, report.sent, report.combined, report.skipped) == (4, 4, 1, 4)
    assert report.codes == {"birth-d1": 1, "birth-d3": 1, "child-m4": 1, "preg-w12": 1, "vacc-m2": 1}
    assert len(messages(session)) == 5  # four new and the earlier one
    sent = session.exec(select(OutboundMessage).where(col(OutboundMessage.body) != "earlier")).all()
    assert all(m.not_before == at(ctx, START, 10) for m in sent)  # the preferred hour
    assert plan_day(session, ctx, START, at(ctx, START, 7)) == PlanReport()  # nothing twice


def test_a_conflict_drops_only_what_the_other_planner_decided(
    session: Session, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    homes = families(session, ctx)
    real = service._candidates

    def raced(*args: Any) -> Any:
        found = real(*args)
        # Another planner decides the vaccination visit between our query and our write.
        (mine,) = [c for c in found if c.household_id == homes["vaccination"]]
        session.add(ReminderPlanned(enrolment_id=mine.enrolment_id, code=mine.message.code, day=START))
        session.flush()
        return found

    monkeypatch.setattr(service, "_candidates", raced)
    report = plan_day(session, ctx, START, at(ctx, START))
    session.commit()
    assert outcome(session, homes) == [
        (h, code, None if h == "vaccination" else key) for h, code, key in EXPECTED
    ]  # the other planner's row stands; ours, and our SMS, were dropped; everything else landed
    assert (report.households, report.sent, report.combined, report.skipped) == (4, 3, 1, 4)
    assert f"reminder:{homes['vaccination']}:{WEEK}" not in messages(session)
    assert len(messages(session)) == 4


def test_two_planners_at_once_plan_nothing_twice(
    session: Session, ctx: Context, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; two planners at once are a PostgreSQL matter")
    monkeypatch.setattr(service, "CHUNK", 7)
    for n in range(60):
        family(session, ctx, 100 + n, born=START - timedelta(days=1 + (n * 11) % 400))
    barrier = threading.Barrier(2)
    reports: list[PlanReport] = []

    def planner() -> None:
        with Session(engine) as mine:
            barrier.wait()
            reports.append(plan_day(mine, ctx, START, at(ctx, START)))
            mine.commit()

    threads = [threading.Thread(target=planner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(reports) == 2
    keys = messages(session)
    assert len(keys) == len(set(keys)) == sum(r.sent for r in reports) > 0
    planned = session.exec(select(ReminderPlanned)).all()
    assert len({(p.enrolment_id, p.code) for p in planned}) == len(planned)
    assert {p.outbound_key for p in planned if p.outbound_key} == set(keys)
    assert plan_day(session, ctx, START, at(ctx, START, 7)) == PlanReport()
