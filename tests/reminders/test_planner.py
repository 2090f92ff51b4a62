"""The planning run, driven by a clock the test controls, across a whole pregnancy and five years of a child."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.models import Contact, EnrolmentKind, Household, OutboundMessage, Purpose, ReminderPlanned
from hotline.reminders.planner import plan_day
from hotline.reminders.schedule import get_schedule
from hotline.reminders.service import EnrolmentError, due_date_from_month, enrol, household_of
from tests.cluster import populate

START = date(2027, 1, 4)  # a Monday


def at(ctx: Context, day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), ctx.tz)


def new_household(session: Session, ctx: Context, phone: str = "+996555123456", language: str = "ru") -> int:
    contact = get_or_create_contact(session, ctx, phone, at(ctx, START))
    contact.language = language
    household = household_of(session, contact, at(ctx, START), "sms")
    session.commit()
    return household.id or 0


def run(session: Session, ctx: Context, first: date, last: date, every: int = 1) -> list[OutboundMessage]:
    day = first
    while day <= last:
        plan_day(session, ctx, day, at(ctx, day, 6))
        session.commit()
        day += timedelta(days=every)
    return list(session.exec(select(OutboundMessage).order_by(col(OutboundMessage.id))))


def sent_codes(session: Session) -> list[str]:
    rows = session.exec(
        select(ReminderPlanned).where(col(ReminderPlanned.outbound_key).is_not(None)).order_by(col(ReminderPlanned.day))
    )
    return [r.code for r in rows]


def test_a_whole_pregnancy_gets_each_reminder_on_its_week_in_its_language(session: Session, ctx: Context) -> None:
    household = session.get(Household, new_household(session, ctx))
    assert household is not None
    due = START + timedelta(weeks=32)  # enrolled at week 8
    enrol(session, household, EnrolmentKind.PREGNANCY, at(ctx, START), START, due_date=due)
    session.commit()
    messages = run(session, ctx, START, due + timedelta(weeks=4))
    # ... and four weeks after the due date without BORN, the question whether the baby is born.
    weeks = (12, 20, 26, 30, 34, 36, 37, 38, 39, 40)
    assert sent_codes(session) == [f"preg-w{w}" for w in weeks] + ["past-due"]
    conception = due - timedelta(weeks=40)
    for message, week in zip(messages[: len(weeks)], weeks, strict=True):
        planned_day = conception + timedelta(weeks=week)
        assert message.not_before == at(ctx, planned_day, 10)  # the preferred hour, that very day
        assert message.purpose == Purpose.REMINDER and message.language == "ru"
        starts = "Роды начинаются" if week in (36, 39) else "Беременность: срочно к врачу"
        assert message.body.startswith(starts)
        assert message.segments <= 2
    # Planning the same days again changes nothing.
    assert len(run(session, ctx, START, due + timedelta(weeks=4))) == len(messages)


def test_five_years_of_a_child_at_most_one_a_week(session: Session, ctx: Context) -> None:
    household = session.get(Household, new_household(session, ctx))
    assert household is not None
    enrol(session, household, EnrolmentKind.CHILD, at(ctx, START), START, birth_date=START - timedelta(days=1))
    session.commit()
    messages = run(session, ctx, START, START + timedelta(days=5 * 366))
    codes = sent_codes(session)
    assert codes[:9] == [
        "birth-d1",
        "birth-d3",
        "birth-d7",
        "birth-w2",
        "birth-w6",
        "vacc-m2",
        "child-m3",
        "vacc-m3h",
        "child-m4",
    ]
    assert "vacc-m5" in codes and "child-m5" not in codes  # the same week: the vaccination visit wins
    assert "vacc-m12" in codes and "child-m12" not in codes
    assert codes[-1] == "child-m59" and len(codes) == 5 + 4 + (59 - 3 + 1) - 2
    assert len(messages) == len(codes)
    # Days 1, 3 and 7 after birth all go (the most dangerous week); every other week has one reminder at most.
    weeks = [
        m.not_before.isocalendar()[:2]
        for m in messages
        if m.idempotency_key.count(":") == 2 and "birth-d" not in m.idempotency_key
    ]
    assert len(weeks) == len(set(weeks))
    first_week = [m.not_before.date() - START for m in messages[:3]]
    assert first_week == [timedelta(days=0), timedelta(days=2), timedelta(days=6)]
    vaccination = [m.body for m in messages if "прививки" in m.body]
    assert vaccination == [f"Ребёнку {n} мес.: время прививки. Сходите в ваш медпункт." for n in (2, 3, 5, 12)]


def test_late_enrolment_starts_at_the_current_stage_without_catch_up(session: Session, ctx: Context) -> None:
    household = session.get(Household, new_household(session, ctx))
    assert household is not None
    due = START + timedelta(weeks=15)  # week 25 today
    enrol(session, household, EnrolmentKind.PREGNANCY, at(ctx, START), START, due_date=due)
    session.commit()
    run(session, ctx, START, START + timedelta(weeks=2))
    assert sent_codes(session) == ["preg-w26"]


def test_two_enrolments_due_the_same_week_get_one_combined_message(session: Session, ctx: Context) -> None:
    household = session.get(Household, new_household(session, ctx, language="en"))
    assert household is not None
    # A pregnancy at week 12 next Wednesday, and a child turning 4 months the same week.
    due = START + timedelta(days=2) - timedelta(weeks=12) + timedelta(weeks=40)
    enrol(session, household, EnrolmentKind.PREGNANCY, at(ctx, START), START, due_date=due)
    enrol(session, household, EnrolmentKind.CHILD, at(ctx, START), START, birth_date=date(2026, 9, 6))
    session.commit()
    messages = run(session, ctx, START, START + timedelta(days=6))
    assert len(messages) == 1
    assert messages[0].body.startswith("Go to a facility at once or call 103. Pregnancy:")
    assert sorted(sent_codes(session)) == ["child-m4", "preg-w12"]


def test_stopped_phones_get_nothing_and_quiet_hours_move_the_send_time(session: Session, ctx: Context) -> None:
    household = session.get(Household, new_household(session, ctx))
    assert household is not None
    household.send_hour = 22  # inside quiet hours (21:00-08:00): sent at 08:00 the next morning
    enrol(session, household, EnrolmentKind.CHILD, at(ctx, START), START, birth_date=START - timedelta(days=1))
    other = session.get(Household, new_household(session, ctx, phone="+996555000321"))
    assert other is not None
    enrol(session, other, EnrolmentKind.CHILD, at(ctx, START), START, birth_date=START - timedelta(days=1))
    stopped = session.get(Contact, other.contact_id)
    assert stopped is not None
    stopped.opted_out_at = at(ctx, START)
    session.commit()
    messages = run(session, ctx, START, START)
    assert len(messages) == 1 and messages[0].contact_id == household.contact_id
    assert messages[0].not_before == at(ctx, START + timedelta(days=1), 8)


def test_bad_dates_are_refused(session: Session, ctx: Context) -> None:
    household = session.get(Household, new_household(session, ctx))
    assert household is not None
    cases = [
        (EnrolmentKind.CHILD, {"birth_date": START + timedelta(days=1)}, "birth_in_future"),
        (EnrolmentKind.CHILD, {"birth_date": date(2021, 1, 4)}, "child_too_old"),
        (EnrolmentKind.PREGNANCY, {"due_date": START + timedelta(days=320)}, "due_too_far"),
        (EnrolmentKind.PREGNANCY, {"due_date": START - timedelta(days=60)}, "due_past"),
    ]
    for kind, dates, reason in cases:
        with pytest.raises(EnrolmentError) as refused:
            enrol(session, household, kind, at(ctx, START), START, **dates)
        assert refused.value.reason == reason
    for month in (0, 10, 12):
        with pytest.raises(EnrolmentError):
            due_date_from_month(month, START)
    assert due_date_from_month(5, START) - START == timedelta(days=280 - 7 * 20)  # 4.5 months in: week 20


def test_every_scheduled_template_exists_in_every_language_within_two_segments(ctx: Context) -> None:
    for message in get_schedule():
        for language in ("ky", "ru", "uz", "en"):
            assert ctx.texts.render(message.template, language, months=59).count.segments <= 2


def test_pregnancy_past_due_asks_once_then_pauses(session: Session, ctx: Context) -> None:
    household = session.get(Household, new_household(session, ctx))
    assert household is not None
    due = START + timedelta(days=10)
    pregnancy = enrol(session, household, EnrolmentKind.PREGNANCY, at(ctx, START), START, due_date=due)
    session.commit()
    messages = run(session, ctx, due, due + timedelta(weeks=8))
    asked = [m for m in messages if m.body.startswith("Ребёнок родился?")]
    assert len(asked) == 1 and asked[0].not_before.date() == due + timedelta(weeks=4)
    session.refresh(pregnancy)
    assert pregnancy.status == "paused"


def test_reminders_fit_two_segments_in_every_language(ctx: Context) -> None:
    for language in ("ky", "ru", "uz", "en"):
        for reply_to in (None, "+996312900900"):  # a one-way sender names the number to write to
            example = date(2026, 11, 20)
            rendered = ctx.texts.render("reminders/ask_born", language, reply_to=reply_to, example=example)
            assert rendered.count.segments <= 2


# Days on which month arithmetic clips: a monthly message due on the 29th-31st of a longer month lands on the last
# day of a shorter one, and the day before a month's end has no anchor that falls due exactly on it.
MONTH_ENDS = [
    date(2027, 2, 28),
    date(2028, 2, 28),
    date(2028, 2, 29),
    date(2027, 3, 1),
    date(2027, 3, 29),
    date(2027, 3, 30),
    date(2027, 3, 31),
    date(2027, 4, 30),
    date(2027, 11, 29),
    date(2027, 12, 31),
]


@pytest.mark.parametrize("day", MONTH_ENDS, ids=str)
def test_a_population_enrolled_at_a_month_end_gets_one_reminder_each_that_day(
    engine: Engine, session: Session, ctx: Context, day: date
) -> None:
    # The scale-out and fault tests enrol this population today and wait for one reminder per household: it must
    # hold on every day of the month, so it is tried here on the days where it used to fail.
    populate(engine, ctx, 60, at(ctx, day, 7))
    plan_day(session, ctx, day, at(ctx, day, 8))
    session.commit()
    decided = session.exec(select(ReminderPlanned)).all()
    assert len(decided) == 60 and all(r.outbound_key for r in decided)
    assert len(session.exec(select(OutboundMessage)).all()) == 60


def test_a_child_enrolled_a_day_after_its_clipped_monthly_message_still_gets_it(session: Session, ctx: Context) -> None:
    # Born 31 May 2026: the 9-month message falls due on 28 Feb 2027 (there is no 31 Feb). Enrolled on 1 Mar, the
    # family gets it that day rather than waiting a month for its first reminder; the next one is on 31 Mar.
    household = session.get(Household, new_household(session, ctx))
    assert household is not None
    enrol(
        session,
        household,
        EnrolmentKind.CHILD,
        at(ctx, date(2027, 3, 1)),
        date(2027, 3, 1),
        birth_date=date(2026, 5, 31),
    )
    session.commit()
    run(session, ctx, date(2027, 3, 1), date(2027, 5, 31))
    days = session.exec(
        select(col(ReminderPlanned.code), col(ReminderPlanned.day)).order_by(col(ReminderPlanned.day))
    ).all()
    assert [tuple(d) for d in days] == [
        ("child-m9", date(2027, 3, 1)),
        ("child-m10", date(2027, 3, 31)),
        ("child-m11", date(2027, 4, 30)),
        ("vacc-m12", date(2027, 5, 31)),
        ("child-m12", date(2027, 5, 31)),
    ]


def test_a_message_that_fell_due_before_the_window_is_never_sent_to_a_new_enrolment(
    session: Session, ctx: Context
) -> None:
    # Enrolled 7 days after the 9-month message: outside the planner's window, so nothing until the 10-month one.
    household = session.get(Household, new_household(session, ctx))
    assert household is not None
    enrolled = date(2027, 3, 7)
    enrol(session, household, EnrolmentKind.CHILD, at(ctx, enrolled), enrolled, birth_date=date(2026, 5, 31))
    session.commit()
    run(session, ctx, enrolled, date(2027, 3, 31))
    assert sent_codes(session) == ["child-m10"]


@pytest.mark.parametrize("born", [date(2027, 1, 31), date(2028, 1, 29), date(2027, 8, 30), date(2027, 3, 31)], ids=str)
def test_every_monthly_message_of_a_month_end_birthday_goes_once_on_its_clipped_day(
    session: Session, ctx: Context, born: date
) -> None:
    household = session.get(Household, new_household(session, ctx))
    assert household is not None
    enrol(session, household, EnrolmentKind.CHILD, at(ctx, born), born, birth_date=born)
    session.commit()
    run(session, ctx, born + timedelta(days=60), born + relativedelta(months=14))
    planned = session.exec(select(ReminderPlanned).where(col(ReminderPlanned.code).like("child-m%"))).all()
    by_code = {r.code: r.day for r in planned}
    assert len(by_code) == len(planned)  # never twice
    for month in range(3, 14):
        assert by_code[f"child-m{month}"] == born + relativedelta(months=month)  # 31 Jan + 1 month = 28 Feb
