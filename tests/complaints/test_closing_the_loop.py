"""Closing the loop (#21 point 4): a decided complaint's named family gets one discreet SMS in its language, and (if
HOTLINE_OUTCOME_RATING) rates the handling 1-3 by replying; an anonymous family learns the outcome only by STATUS,
which is recorded for the report without linking the phone, and may rate there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from hotline.complaints import casework
from hotline.complaints.service import file_complaint
from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.models import Complaint, ComplaintOutcome, Contact, Conversation, OutboundMessage, StaffUser
from hotline.places import get_gazetteer
from tests.factories import PHONE, converse
from tests.staff_pages import log_in, make_complaint

TZ = ZoneInfo("Asia/Bishkek")
FILED = datetime(2026, 3, 10, 9, 0, tzinfo=TZ)
DECIDED = FILED + timedelta(days=5)


def rating_on(ctx: Context) -> Context:
    return replace(ctx, settings=ctx.settings.model_copy(update={"outcome_rating": True}))


def outbox(session: Session) -> list[OutboundMessage]:
    session.expire_all()
    return list(session.exec(select(OutboundMessage).order_by(col(OutboundMessage.id))))


def decide(session: Session, ctx: Context, officer: StaffUser, complaint: Complaint, status: str) -> None:
    if complaint.status == "new" and status == "resolved":
        casework.set_status(session, officer, complaint, "investigating", DECIDED - timedelta(days=1), ctx=ctx)
    casework.set_status(session, officer, complaint, status, DECIDED, ctx=ctx)
    session.commit()


def test_a_decision_sends_the_named_family_one_discreet_sms_in_its_language(
    session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    complaint = make_complaint(session, ctx, "аким грубо отказал, пособие не выплатили", now=FILED, language="ky")
    decide(session, ctx, staff["dara"], complaint, "resolved")
    decide(session, ctx, staff["supervisor"], complaint, "closed")  # closing tells nothing new

    [sms] = outbox(session)
    assert sms.language == "ky" and sms.contact_id == complaint.contact_id
    assert complaint.reference in sms.body and "чечилди" in sms.body and "СТАТУС" in sms.body
    assert "аким" not in sms.body and "пособие" not in sms.body  # never the complaint's words
    assert "1" not in sms.body.replace(complaint.reference, "")  # the rating is off by default: no question
    assert not session.exec(select(Conversation)).all()


def test_an_anonymous_complaint_gets_no_sms_when_decided(
    session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    complaint = make_complaint(session, ctx, "аким просил деньги", anonymous=True, now=FILED)
    decide(session, rating_on(ctx), staff["district"], complaint, "rejected")  # a bribe: routed to the district
    assert outbox(session) == []


def test_the_family_rates_by_replying_and_a_keyword_interrupts_the_question(
    session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    ctx = rating_on(ctx)
    first = make_complaint(session, ctx, "пособие не выплатили", now=FILED)
    decide(session, ctx, staff["dara"], first, "resolved")
    [sms] = outbox(session)
    assert "1 хорошо, 2 средне, 3 плохо" in sms.body

    assert converse(session, ctx, "отлично", now=DECIDED + timedelta(hours=2)) == [
        ctx.texts.render("complaints/rating_retry", "ru").text
    ]
    thanks = converse(session, ctx, "2", now=DECIDED + timedelta(hours=3))
    assert thanks == [ctx.texts.render("complaints/rating_thanks", "ru").text]
    assert session.get(ComplaintOutcome, first.id) is not None
    session.expire_all()
    assert session.get(ComplaintOutcome, first.id).rating == 2  # type: ignore[union-attr]

    second = make_complaint(session, ctx, "пособие снова не выплатили", now=FILED + timedelta(days=1))
    decide(session, ctx, staff["dara"], second, "rejected")
    menu = converse(session, ctx, "ПОСОБИЕ", now=DECIDED + timedelta(hours=4))
    assert menu[0].startswith("Пособия: 1")  # the benefits list: the rating question is gone
    assert [c.flow for c in session.exec(select(Conversation))] == ["benefits"]
    converse(session, ctx, "3", now=DECIDED + timedelta(hours=5))  # now a programme's number, not a rating
    session.expire_all()
    assert session.get(ComplaintOutcome, second.id).rating is None  # type: ignore[union-attr]


def test_an_anonymous_family_learns_the_outcome_by_status_and_rates_without_linking_the_phone(
    session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    ctx = rating_on(ctx)
    contact = get_or_create_contact(session, ctx, PHONE, FILED)
    filed = file_complaint(
        session,
        ctx,
        contact=contact,
        text="пособие не выплатили",
        anonymous=True,
        place=get_gazetteer().get("dara"),
        now=FILED,
    )
    session.commit()
    complaint, pin = filed.complaint, filed.pin
    decide(session, ctx, staff["dara"], complaint, "resolved")
    asked = DECIDED + timedelta(days=1, hours=15, minutes=7)

    replies = converse(session, ctx, f"СТАТУС {complaint.reference} {pin}", sender="+996700999888", now=asked)
    assert ctx.texts.render("complaints/rate_by_status", complaint.language).text in replies
    rated = converse(session, ctx, f"СТАТУС {complaint.reference} {pin} 3", sender="+996700999888", now=asked)
    assert ctx.texts.render("complaints/rating_thanks", complaint.language).text in rated

    session.expire_all()
    outcome = session.get(ComplaintOutcome, complaint.id)
    assert outcome is not None and outcome.rating == 3
    day_start = datetime.combine(asked.date(), time(), TZ)
    assert outcome.status_seen_at == day_start and outcome.rated_at == day_start  # the day, never the moment
    assert outcome.outbound_key is None  # no SMS to anyone
    # The asking phone keeps nothing: no contact made for it, no dialogue, no message stored.
    assert session.exec(select(Contact).where(Contact.id != contact.id)).all() == []
    assert session.exec(select(Conversation)).all() == []


def test_the_ratings_families_send_appear_in_the_month_report_small_counts_as_under_five(
    session: Session, ctx: Context, staff: dict[str, StaffUser], web: Callable[[], TestClient]
) -> None:
    ctx = rating_on(ctx)
    answered = DECIDED + timedelta(hours=2)
    for i, reply in enumerate(["1", "1 спасибо", "2", "2", "2", "2"]):
        phone = f"+99655500070{i}"
        complaint = make_complaint(session, ctx, "пособие не выплатили", phone=phone, now=FILED)
        decide(session, ctx, staff["dara"], complaint, "resolved")
        assert converse(session, ctx, reply, sender=phone, now=answered) == [
            ctx.texts.render("complaints/rating_thanks", "ru").text
        ]
    contact = get_or_create_contact(session, ctx, PHONE, FILED)
    place = get_gazetteer().get("dara")
    filed = file_complaint(session, ctx, contact=contact, text="аким грубит", anonymous=True, place=place, now=FILED)
    session.commit()
    decide(session, ctx, staff["dara"], filed.complaint, "resolved")
    converse(session, ctx, f"СТАТУС {filed.complaint.reference} {filed.pin} 2", sender="+996700999888", now=answered)
    february = make_complaint(
        session, ctx, "пособие не выплатили", phone="+996555000799", now=FILED - timedelta(days=28)
    )
    decide(session, ctx, staff["dara"], february, "rejected")
    converse(session, ctx, "3", sender="+996555000799", now=answered)

    boss = web()
    log_in(boss, "oblast.super")
    page = boss.get("/admin/reports/grievance?month=2026-03").text
    ratings = page[page.index('id="ratings"') : page.index("</figure>", page.index('id="ratings"'))]
    assert "rating of the handling" in ratings
    assert 'data-count="1">&lt;5<' in ratings and "1 good:" not in ratings  # two: no bar, "<5"
    assert "2 so-so: 5</title>" in ratings and 'data-count="2">5<' in ratings  # four by SMS, one by STATUS
    assert 'data-count="3">0<' in ratings  # rated in March, filed in February: February's report counts it
    csv = boss.get("/admin/reports/grievance.csv?month=2026-03").text.splitlines()
    assert [row for row in csv if row.startswith("rating,")] == ["rating,1,<5", "rating,2,5", "rating,3,0"]
    february_csv = boss.get("/admin/reports/grievance.csv?month=2026-02").text.splitlines()
    assert [row for row in february_csv if row.startswith("rating,")] == ["rating,1,0", "rating,2,0", "rating,3,<5"]
