"""JOIN asks the family's village once (#19.2), so its danger signs reach the village's nurse and volunteers; an alert
without a village goes to the rayon's (or the oblast's) health staff with a prompt to ask; one phone's danger
messages of a day are one alert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from hotline.config import Settings
from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.models import (
    HealthAlert,
    Household,
    Jurisdiction,
    OutboundMessage,
    Purpose,
    Role,
    StaffUser,
    utcnow,
)
from hotline.reminders.importer import register_volunteer
from tests.factories import converse, render, text_in
from tests.staff_pages import log_in, make_staff

Web = Callable[[], TestClient]
FAMILY = "+996555123456"
DAY = date(2027, 1, 4)
ASK_PROMPT = "Village unknown: ask the family"


def at(ctx: Context, hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), ctx.tz)


def household(session: Session) -> Household:
    session.expire_all()
    return session.exec(select(Household)).one()


def alerts(session: Session) -> list[HealthAlert]:
    session.expire_all()
    return list(session.exec(select(HealthAlert).order_by(col(HealthAlert.id))))


def test_join_asks_rayon_then_village_by_number_and_alerts_reach_the_village(
    client: TestClient, settings: Settings, session: Session, ctx: Context
) -> None:
    register_volunteer(session, ctx, "+996700111222", "kara-bak", "Айгуль", utcnow())
    session.commit()
    for body in ("ПОДПИСКА", "1", "5 месяц"):
        text_in(client, settings, body)
    done, question = text_in(client, settings, "да")
    assert done.startswith("Подписка: беременность")  # enrolled first: the place question cannot lose it
    assert "1 Баткенский район" in question and "0 не знаю" in question
    village = text_in(client, settings, "1")[0]
    assert "3 Кара-Бак" in village
    assert "Кара-Бак" in text_in(client, settings, "3")[0]
    assert household(session).municipality_code == "kara-bak"

    # The danger answer to the family is the same; the alert is the village's, and its volunteer is told.
    assert text_in(client, settings, "у ребенка судороги") == [render(ctx, "reminders/danger", "ru")]
    assert [a.municipality_code for a in alerts(session)] == ["kara-bak"]
    to_volunteer = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.ALERT)).one()
    assert FAMILY in to_volunteer.body

    # Asked once: a second JOIN of the same phone goes straight to its enrolment.
    text_in(client, settings, "ПОДПИСКА 2")
    (added,) = text_in(client, settings, "3 айлык")
    assert added.startswith("Подписка: ребёнок")


def test_a_typed_village_name_answers_the_question(client: TestClient, settings: Settings, session: Session) -> None:
    for body in ("КАТТАЛУУ 2", "3 айлык"):
        text_in(client, settings, body)
    assert "Баткен району" in text_in(client, settings, "ооба")[-1]
    assert "Катран" in text_in(client, settings, "Катран")[0]  # an ordinary word, but it answers the question
    assert household(session).municipality_code == "katran"


def test_a_place_named_in_the_join_or_remembered_is_not_asked(session: Session, ctx: Context) -> None:
    for body in ("ПОДПИСКА мы живем в Кара-Баке", "1", "5 месяц"):
        converse(session, ctx, body, now=at(ctx, 10))
    assert len(converse(session, ctx, "да", now=at(ctx, 10))) == 1
    remembered = get_or_create_contact(session, ctx, "+996555000222", at(ctx, 10))
    remembered.municipality_code = "dara"  # from an earlier complaint
    for body in ("JOIN 2", "3 months"):
        converse(session, ctx, body, "+996555000222", at(ctx, 10))
    assert len(converse(session, ctx, "yes", "+996555000222", at(ctx, 10))) == 1
    session.commit()
    assert sorted(str(h.municipality_code) for h in session.exec(select(Household))) == ["dara", "kara-bak"]


def test_alerts_go_to_the_village_else_the_rayon_else_the_oblast_with_a_prompt_to_ask(
    web: Web, session: Session, ctx: Context
) -> None:
    make_staff(session, "katran.nurse", Role.HEALTH, Jurisdiction.MUNICIPALITY, "katran")
    make_staff(session, "leilek.health", Role.HEALTH, Jurisdiction.DISTRICT, "leilek-rayon")
    make_staff(session, "oblast.health", Role.HEALTH, Jurisdiction.OBLAST, "batken")
    # A family of Katran; one who knows only its rayon (answered 0 to the village); one who never said.
    for body in ("ПОДПИСКА 2", "3 айлык", "да", "3", "6"):
        converse(session, ctx, body, "+996555000001", at(ctx, 9))
    for body in ("ПОДПИСКА 2", "3 айлык", "да", "3", "0"):
        converse(session, ctx, body, "+996555000002", at(ctx, 9))
    for phone in ("+996555000001", "+996555000002", "+996555000003"):
        converse(session, ctx, "у ребенка судороги", phone, at(ctx, 10))
    session.commit()
    assert [a.municipality_code for a in alerts(session)] == ["katran", "leilek-rayon", None]

    def page(username: str) -> str:
        browser = web()
        log_in(browser, username)
        return str(browser.get("/admin/health").text)

    nurse = page("katran.nurse")
    assert "+996555000001" in nurse and "+996555000002" not in nurse and ASK_PROMPT not in nurse
    rayon = page("leilek.health")
    assert "+996555000001" in rayon and "+996555000002" in rayon and "+996555000003" not in rayon
    assert rayon.count(ASK_PROMPT) == 1  # the village-less alert of the rayon, not the Katran one
    oblast = page("oblast.health")
    assert all(phone in oblast for phone in ("+996555000001", "+996555000002", "+996555000003"))
    assert oblast.count(ASK_PROMPT) == 2


def test_one_phones_danger_messages_of_a_day_are_one_alert(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    make_staff(session, "dara.health", Role.HEALTH, Jurisdiction.MUNICIPALITY, "dara")
    register_volunteer(session, ctx, "+996700111222", "dara", "Айгуль", at(ctx, 8))
    contact = get_or_create_contact(session, ctx, FAMILY, at(ctx, 8))
    contact.municipality_code, contact.language = "dara", "ru"
    session.commit()
    danger = render(ctx, "reminders/danger", "ru")
    assert converse(session, ctx, "у ребенка судороги", now=at(ctx, 10)) == [danger]
    assert converse(session, ctx, "ребенок не сосет грудь", now=at(ctx, 23, 50)) == [danger]
    session.commit()
    (alert,) = alerts(session)
    volunteer_sms = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.ALERT)).all()
    assert len(volunteer_sms) == 1  # the volunteer is called to the family once, not once per message

    nurse = web()
    token = log_in(nurse, "dara.health")
    table = nurse.get("/admin/health").text.split('id="alerts"')[1]
    assert table.count('<tr class="overdue"') == 1
    assert "у ребенка судороги" in table and "ребенок не сосет грудь" in table
    nurse.post(f"/admin/health/{alert.id}/handled", data={"csrf_token": token})
    session.expire_all()  # handled by the page's own session
    # Another message the same day opens the alert again; the next day's is a new alert.
    converse(session, ctx, "у ребенка температура 39", now=at(ctx, 23, 55))
    converse(session, ctx, "у ребенка судороги опять", now=at(ctx, 0, 10, date(2027, 1, 5)))
    session.commit()
    first, second = alerts(session)
    assert first.id == alert.id and first.handled_at is None and len(first.message_ids) == 3
    assert len(second.message_ids) == 1
