"""Enrolment and stage changes by SMS, and danger-sign answers, through the same service as the webhook."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.models import (
    Contact,
    Enrolment,
    EnrolmentKind,
    EnrolmentStatus,
    HealthAlert,
    Household,
    OutboundMessage,
    Purpose,
    ReminderPlanned,
)
from hotline.reminders.importer import register_volunteer
from hotline.reminders.planner import plan_day
from hotline.reminders.service import enrol, household_of
from tests.factories import PHONE, converse

TODAY = date(2027, 1, 4)


def at(ctx: Context, day: date = TODAY, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), ctx.tz)


def say(session: Session, ctx: Context, body: str, day: date = TODAY) -> str:
    replies = converse(session, ctx, body, now=at(ctx, day))
    session.commit()
    return " / ".join(replies)


def enrolments(session: Session) -> list[Enrolment]:
    session.expire_all()
    return list(session.exec(select(Enrolment).order_by(col(Enrolment.id))))


def test_join_a_pregnancy_by_month_with_consent(session: Session, ctx: Context) -> None:
    assert "1 беременность, 2 ребёнок" in say(session, ctx, "ПОДПИСКА")
    assert "месяц беременности" in say(session, ctx, "1")
    assert "Ответьте 1, если согласны" in say(session, ctx, "5 месяц")
    done = say(session, ctx, "да")
    assert done.startswith("Подписка: беременность, роды ") and "СТОП" in done
    (pregnancy,) = enrolments(session)
    assert pregnancy.kind == EnrolmentKind.PREGNANCY and pregnancy.status == EnrolmentStatus.ACTIVE
    assert pregnancy.due_date == TODAY + timedelta(days=280 - 7 * 20)
    household = session.exec(select(Household)).one()
    assert household.consent_channel == "sms" and household.consent_at == at(ctx)


def test_a_second_join_adds_a_child_without_asking_consent_again(session: Session, ctx: Context) -> None:
    for body in ("ПОДПИСКА", "1", "12.08.2027", "да"):
        say(session, ctx, body)
    assert say(session, ctx, "ПОДПИСКА 2").startswith("Дата рождения ребёнка")
    assert say(session, ctx, "март 2025").startswith("Подписка: ребёнок, 01.03.2025")
    kinds = [(e.kind, e.due_date, e.birth_date) for e in enrolments(session)]
    assert kinds == [(EnrolmentKind.PREGNANCY, date(2027, 8, 12), None), (EnrolmentKind.CHILD, None, date(2025, 3, 1))]


def test_dates_in_the_forms_families_type(session: Session, ctx: Context) -> None:
    expected = {
        "12.03.2025": date(2025, 3, 12),
        "12/3/25": date(2025, 3, 12),
        "3.2025": date(2025, 3, 1),
        "март 2025": date(2025, 3, 1),
    }
    for i, typed in enumerate(expected):
        phone = f"+99655500{i:04d}"
        converse(session, ctx, "JOIN 2", phone, at(ctx))
        converse(session, ctx, typed, phone, at(ctx))
        converse(session, ctx, "yes", phone, at(ctx))
        session.commit()
    assert [e.birth_date for e in enrolments(session)] == list(expected.values())


def test_bad_answers_are_asked_again_twice_then_the_dialogue_ends(session: Session, ctx: Context) -> None:
    say(session, ctx, "ПОДПИСКА")
    assert "Отправьте 1 (беременность) или 2" in say(session, ctx, "не знаю")
    say(session, ctx, "1")
    assert "Месяц беременности: от 1 до 9" in say(session, ctx, "12")
    assert "Месяц беременности: от 1 до 9" in say(session, ctx, "0 месяц")
    assert "Не удалось понять дату" in say(session, ctx, "завтра или послезавтра")
    assert enrolments(session) == []
    say(session, ctx, "ПОДПИСКА 1")
    assert "дальше 10 месяцев" in say(session, ctx, "12.03.2028")
    say(session, ctx, "ПОДПИСКА 2")
    assert "в будущем" in say(session, ctx, "12.03.2027")
    assert "для детей до 5 лет" in say(session, ctx, "01.01.2020")
    assert "Не удалось" in say(session, ctx, "abc")
    assert enrolments(session) == []


def test_declined_consent_enrols_nothing(session: Session, ctx: Context) -> None:
    for body in ("ПОДПИСКА", "2", "12.03.2025"):
        say(session, ctx, body)
    assert "Напоминания не будут приходить" in say(session, ctx, "нет")
    assert enrolments(session) == [] and session.exec(select(Household)).all() == []


def test_born_switches_to_child_and_loss_stops_pregnancy_messages(session: Session, ctx: Context) -> None:
    for body in ("ПОДПИСКА", "1", "8 месяц", "да"):
        say(session, ctx, body)
    assert "Поздравляем! Отправьте РОДИЛА и дату" in say(session, ctx, "РОДИЛА 02.01.2030")  # a future date
    assert say(session, ctx, "РОДИЛА 02.01.2027").startswith("Поздравляем! Теперь напоминания будут о малыше")
    pregnancy, child = enrolments(session)
    assert pregnancy.status == EnrolmentStatus.COMPLETED and child.birth_date == date(2027, 1, 2)
    assert "Дата рождения записана: 02.01.2027" in say(session, ctx, "РОДИЛА")  # the pregnancy is already a child

    other = "+996555777888"
    for body in ("ПОДПИСКА", "1", "4 месяц", "да"):
        converse(session, ctx, body, other, at(ctx))
    replies = converse(session, ctx, "ПОТЕРЯ", other, at(ctx))
    session.commit()
    assert replies[0].startswith("Нам очень жаль")
    lost = enrolments(session)[-1]
    assert lost.status == EnrolmentStatus.LOSS
    # Nothing is planned for a lost pregnancy, ever: not the pregnancy messages, and no baby messages.
    for offset in range(0, 300, 3):
        plan_day(session, ctx, TODAY + timedelta(days=offset), at(ctx, TODAY + timedelta(days=offset)))
    session.commit()
    households = {h.contact_id: h for h in session.exec(select(Household))}
    lost_contact = next(c for c, h in households.items() if h.id == lost.household_id)
    assert session.exec(select(OutboundMessage).where(OutboundMessage.contact_id == lost_contact)).all() == []


def test_pause_and_start(session: Session, ctx: Context) -> None:
    for body in ("ПОДПИСКА", "2", "01.01.2027", "да"):
        say(session, ctx, body)
    assert "на паузе" in say(session, ctx, "ПАУЗА")
    assert [e.status for e in enrolments(session)] == [EnrolmentStatus.PAUSED]
    plan_day(session, ctx, TODAY, at(ctx))
    assert session.exec(select(OutboundMessage)).all() == []
    say(session, ctx, "СТАРТ")
    assert [e.status for e in enrolments(session)] == [EnrolmentStatus.ACTIVE]
    assert "нет подписки" in converse(session, ctx, "ПАУЗА", "+996555000999", at(ctx))[0]


def test_danger_words_get_an_immediate_answer_and_an_alert(session: Session, ctx: Context) -> None:
    for body in ("ОПАСНОСТЬ", "у ребенка судороги", "Балада ысытма бар", "кровотечение"):
        reply = say(session, ctx, body)
        assert reply in (
            "Срочно идите в ближайшую больницу или звоните 103 (скорая).",
            "Дароо жакынкы ооруканага барыңыз же 103 чалыңыз (тез жардам).",
        ), body
    # One phone's danger messages of a day are one alert holding all of them (#19).
    (alert,) = session.exec(select(HealthAlert)).all()
    assert len(alert.message_ids) == 4
    # Ordinary words that merely start like a symptom word do not raise an alarm.
    assert "103" not in say(session, ctx, "Кандай пособие бар?")
    # A complaint's text is a complaint, even when it mentions blood.
    say(session, ctx, "ЖАЛОБА")
    assert "103" not in say(session, ctx, "врач потребовал деньги за анализ крови")
    session.expire_all()
    assert [len(a.message_ids) for a in session.exec(select(HealthAlert))] == [4]


def test_danger_signs_are_forwarded_to_the_municipalitys_volunteer_even_at_night(
    session: Session, ctx: Context
) -> None:
    register_volunteer(session, ctx, "+996700111222", "dara", "Айгуль", at(ctx))
    register_volunteer(session, ctx, "+996700333444", "kyshtut", "Бермет", at(ctx))
    family = get_or_create_contact(session, ctx, "+996555123456", at(ctx))
    family.municipality_code = "dara"
    session.commit()
    night = at(ctx, TODAY, 2)
    converse(session, ctx, "у ребенка судороги", now=night)
    session.commit()
    (alert,) = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.ALERT)).all()
    volunteer = session.exec(select(Contact).where(Contact.id == alert.contact_id)).one()
    assert ctx.vault.decrypt(volunteer.phone_encrypted) == "+996700111222"
    assert "+996555123456" in alert.body and "02:00" in alert.body and alert.not_before == night


def test_from_pregnancy_to_a_two_month_old_by_sms_with_a_controlled_clock(session: Session, ctx: Context) -> None:
    for body in ("ПОДПИСКА", "1", "7 месяц", "да"):  # month 7: week 28 today
        say(session, ctx, body)
    (pregnancy,) = enrolments(session)
    assert pregnancy.due_date is not None
    born_on = pregnancy.due_date - timedelta(days=3)
    day = TODAY
    while day <= born_on + timedelta(days=62):
        if day == born_on:
            say(session, ctx, "РОДИЛА", day)  # the day of birth, no date given
        plan_day(session, ctx, day, at(ctx, day, 7))
        session.commit()
        day += timedelta(days=1)
    planned = session.exec(
        select(ReminderPlanned).where(col(ReminderPlanned.outbound_key).is_not(None)).order_by(col(ReminderPlanned.day))
    ).all()
    codes = [p.code for p in planned]
    assert codes == [
        "preg-w30",
        "preg-w34",
        "preg-w36",
        "preg-w37",
        "preg-w38",
        "preg-w39",  # w40 falls after the birth
        "birth-d1",
        "birth-d3",
        "birth-d7",
        "birth-w2",
        "birth-w6",
        "vacc-m2",
    ]
    bodies = [m.body for m in session.exec(select(OutboundMessage).order_by(col(OutboundMessage.id)))]
    assert bodies[0].startswith("Беременность") and bodies[2].startswith("Роды начинаются")
    assert bodies[6].startswith("После родов")
    assert bodies[-1] == "Ребёнку 2 мес.: время прививки. Сходите в ваш медпункт."


def test_join_does_not_ask_again_what_its_first_message_said(session: Session, ctx: Context) -> None:
    assert "Ответьте 1, если согласны" in say(session, ctx, "Подписка. Беременна 6 мес")
    say(session, ctx, "да")
    assert enrolments(session)[0].due_date == TODAY + timedelta(days=280 - 7 * 24)
    other = "+996555777001"
    converse(session, ctx, "ПОДПИСКА я беременна 5 месяцев", other, at(ctx))
    converse(session, ctx, "1", other, at(ctx))  # a second household: consent
    session.commit()
    assert enrolments(session)[-1].due_date == TODAY + timedelta(days=280 - 7 * 20)


def test_a_childs_age_or_a_date_in_words_is_its_birth_date(session: Session, ctx: Context) -> None:
    expected = {
        "3 айлык": date(2026, 10, 4),  # three calendar months ago, not four weeks off
        "1 жаш": date(2026, 1, 4),
        "эки ай мурун": date(2026, 11, 4),
        "15 март": date(2026, 3, 15),  # the last 15 March, never a birth date ahead
        "5 марта": date(2026, 3, 5),
        "мартта": date(2026, 3, 1),
        "2 oy": date(2026, 11, 4),
        "o'tgan oy": date(2026, 12, 4),
        "15 noyabr": date(2026, 11, 15),
        "3 месяца": date(2026, 10, 4),
    }
    for i, typed in enumerate(expected):
        phone = f"+99655501{i:04d}"
        for body in ("JOIN 2", typed, "yes"):
            converse(session, ctx, body, phone, at(ctx))
        session.commit()
    assert [e.birth_date for e in enrolments(session)] == list(expected.values())


def test_a_child_with_its_age_in_the_first_message(session: Session, ctx: Context) -> None:
    assert "Ответьте 1, если согласны" in say(session, ctx, "ПОДПИСКА ребенку 3 месяца")
    say(session, ctx, "1")
    assert [e.birth_date for e in enrolments(session)] == [date(2026, 10, 4)]


def test_an_unsure_date_is_asked_again_not_guessed(session: Session, ctx: Context) -> None:
    say(session, ctx, "ПОДПИСКА 2")
    for unsure in ("31.02.2026", "3-4 ай"):
        assert "Не поняли" in say(session, ctx, unsure) and "Дата рождения" in say(session, ctx, "ПОДПИСКА 2")
    say(session, ctx, "ПОДПИСКА 1")
    assert "Не поняли" in say(session, ctx, "3-4 месяца")
    assert enrolments(session) == []


def example_dates(text: str) -> list[date]:
    return [datetime.strptime(found, "%d.%m.%Y").date() for found in re.findall(r"\d\d\.\d\d\.\d{4}", text)]


def enrol_pregnancy(session: Session, ctx: Context, due: date) -> None:
    """A pregnancy enrolled (as JOIN or health staff would), so BORN's tests do not depend on JOIN's questions."""
    contact = get_or_create_contact(session, ctx, PHONE, at(ctx))
    enrol(
        session, household_of(session, contact, at(ctx), "sms"), EnrolmentKind.PREGNANCY, at(ctx), TODAY, due_date=due
    )
    session.commit()


def test_a_second_born_corrects_the_birth_date_and_the_reminders_follow_it(session: Session, ctx: Context) -> None:
    enrol_pregnancy(session, ctx, TODAY + timedelta(days=20))
    told_on = TODAY + timedelta(days=5)
    say(session, ctx, "ТӨРӨДҮМ", told_on)  # sent days after the birth, without a date: born "today"
    real = told_on - timedelta(days=2)

    corrected = say(session, ctx, f"ТӨРӨДҮМ {real:%d.%m.%Y}", told_on + timedelta(days=1))
    assert "оңдолду" in corrected and f"{real:%d.%m.%Y}" in corrected, corrected
    pregnancy, child = enrolments(session)
    assert pregnancy.status == EnrolmentStatus.COMPLETED
    assert child.birth_date == real and child.status == EnrolmentStatus.ACTIVE
    # The newborn's day-3 signs come on the third day after the real birth, not the day first told.
    plan_day(session, ctx, real + timedelta(days=3), at(ctx, real + timedelta(days=3), 7))
    session.commit()
    planned = session.exec(select(ReminderPlanned).where(ReminderPlanned.code == "birth-d3")).one()
    assert planned.day == real + timedelta(days=3) and planned.outbound_key is not None

    # Without a date: the date on record, and how to correct it with an example that is a past day.
    again = say(session, ctx, "ТӨРӨДҮМ", told_on + timedelta(days=1))
    assert f"{real:%d.%m.%Y}" in again and enrolments(session)[-1].birth_date == real
    assert any(d < told_on + timedelta(days=1) for d in example_dates(again) if d != real), again
    # A future date is asked again, with an example in the past; the date on record stays.
    future = say(session, ctx, "ТӨРӨДҮМ 02.01.2030", told_on + timedelta(days=1))
    assert example_dates(future) and all(d < told_on + timedelta(days=1) for d in example_dates(future)), future
    assert enrolments(session)[-1].birth_date == real


def test_born_after_a_child_enrolled_by_join_corrects_it_or_enrols_the_new_baby(session: Session, ctx: Context) -> None:
    """No pregnancy on record: a date close to the enrolled child's is a correction of it; a birth long after it is a
    new baby of a household that already consented (#19 point 5)."""
    contact = get_or_create_contact(session, ctx, PHONE, at(ctx))
    household = household_of(session, contact, at(ctx), "sms")
    enrol(session, household, EnrolmentKind.CHILD, at(ctx), TODAY, birth_date=TODAY - timedelta(days=20))
    session.commit()
    real = TODAY - timedelta(days=17)
    corrected = say(session, ctx, f"РОДИЛА {real:%d.%m.%Y}")
    assert "нет подписки" not in corrected and f"{real:%d.%m.%Y}" in corrected, corrected
    assert [e.birth_date for e in enrolments(session)] == [real]
    # Two years on, the family has another baby: it is enrolled beside the first child.
    later = TODAY + timedelta(days=730)
    assert "нет подписки" not in say(session, ctx, "РОДИЛА", later)
    assert sorted(e.birth_date for e in enrolments(session) if e.birth_date) == [real, later]
    # A pregnancy's BORN two years after the first baby's is a new baby too, not a correction of the first.
    pregnant_on = later + timedelta(days=600)
    enrol(
        session,
        household,
        EnrolmentKind.PREGNANCY,
        at(ctx, pregnant_on),
        pregnant_on,
        due_date=later + timedelta(days=700),
    )
    session.commit()
    third = later + timedelta(days=690)
    say(session, ctx, f"РОДИЛА {third:%d.%m.%Y}", third)
    assert sorted(e.birth_date for e in enrolments(session) if e.birth_date) == [real, later, third]
    again = later + timedelta(days=900)
    say(session, ctx, f"РОДИЛА {again:%d.%m.%Y}", again)  # no pregnancy, far from every child: another baby
    assert len([e for e in enrolments(session) if e.birth_date]) == 4


def test_every_birth_date_example_is_a_past_day(session: Session, ctx: Context) -> None:
    enrol_pregnancy(session, ctx, TODAY + timedelta(days=20))
    for language, word in (("ru", "РОДИЛА"), ("ky", "ТӨРӨДҮМ"), ("uz", "ТУҒДИМ"), ("en", "BORN")):
        reply = say(session, ctx, f"{word} 02.01.2030")
        assert example_dates(reply) and all(d < TODAY for d in example_dates(reply)), (language, reply)
    # Four weeks past the due date the planner asks whether the baby is born, with a past example too.
    (pregnancy,) = enrolments(session)
    assert pregnancy.due_date is not None
    day = pregnancy.due_date + timedelta(weeks=4)
    plan_day(session, ctx, day, at(ctx, day, 7))
    session.commit()
    asked = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.REMINDER)).all()[-1]
    assert example_dates(asked.body) and all(d < day for d in example_dates(asked.body)), asked.body


def test_born_with_a_date_in_words(session: Session, ctx: Context) -> None:
    for body in ("ПОДПИСКА", "1", "8 месяц", "да"):
        say(session, ctx, body)
    assert say(session, ctx, "РОДИЛА 20 ноября").startswith("Поздравляем! Теперь напоминания будут о малыше")
    assert enrolments(session)[-1].birth_date == date(2026, 11, 20)


def example_in(text: str) -> date:
    found = re.search(r"(\d{2})\.(\d{2})\.(\d{4})", text)
    assert found, text
    return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))


@pytest.mark.parametrize("keyword", ["ПОДПИСКА", "JOIN", "КАТТАЛУУ", "АЪЗО"])
def test_joins_examples_stay_true_whatever_the_day(session: Session, ctx: Context, keyword: str) -> None:
    """A child's example birth is a past day of a child under five, a due date one ahead (#19 point 5)."""
    say(session, ctx, keyword)
    child = example_in(say(session, ctx, "2"))
    assert TODAY - timedelta(days=5 * 365) < child < TODAY
    say(session, ctx, keyword)
    due = example_in(say(session, ctx, "1"))
    assert TODAY < due < TODAY + timedelta(days=280)
    assert example_in(say(session, ctx, "15")) == due  # the retry repeats the same example
