"""The monthly grievance report (#21 point 3): a month's complaints of the staff member's area by channel, category
and area, decided and how fast against the deadlines, told the outcome, escalated, rated, and the 12 months before;
counts of 1-4 never shown. Every time is chosen here (no dependence on today)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from hotline.complaints import casework
from hotline.complaints.reports import AreaOutsideScope, grievance_report, shown
from hotline.complaints.service import Recording, file_complaint
from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.models import Complaint, OutboundMessage, OutboundStatus, StaffUser
from hotline.places import get_gazetteer
from tests.staff_pages import make_complaint

TZ = ZoneInfo("Asia/Bishkek")
MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=TZ)
REPORT_TIME = datetime(2026, 5, 1, 12, 0, tzinfo=TZ)


def file_voice(session: Session, ctx: Context, at: datetime, sid: str) -> Complaint:
    contact = get_or_create_contact(session, ctx, "+996555000111", at)
    filed = file_complaint(
        session,
        ctx,
        contact=contact,
        text="",
        anonymous=False,
        place=get_gazetteer().get("dara"),
        now=at,
        recording=Recording(sid, f"https://api.twilio.com/{sid}", 30),
    )
    session.commit()
    return filed.complaint


def test_the_months_complaints_by_channel_category_and_area_with_counts_under_five_hidden(
    session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    for i in range(6):
        make_complaint(session, ctx, "пособие не выплатили три месяца", phone=f"+99655500010{i}", now=MARCH)
    file_voice(session, ctx, MARCH, "RE" + "1" * 32)
    for i in range(2):
        make_complaint(
            session, ctx, "пособие не выплатили", municipality="kyshtut", phone=f"+99670000010{i}", now=MARCH
        )
    make_complaint(session, ctx, "пособие не выплатили", phone="+996555999999", now=MARCH - timedelta(days=30))
    make_complaint(
        session, ctx, "пособие не выплатили", phone="+996555999998", now=datetime(2026, 4, 1, 0, 5, tzinfo=TZ)
    )

    report = grievance_report(session, staff["oblast"], date(2026, 3, 1), None, TZ, REPORT_TIME)

    assert report.received == 9
    assert {b.label: shown(b.value) for b in report.by_channel} == {"sms": "8", "voice": "<5"}
    assert {b.label: shown(b.value) for b in report.by_area} == {"dara": "7", "kyshtut": "<5"}
    assert sum(b.value for b in report.by_category) == 9
    # The trend: February's one, March's nine, April's one (the first minutes of April, local time, are April's).
    trend = {m.month: shown(m.received) for m in report.trend}
    assert len(trend) == 12 and min(trend) == date(2025, 4, 1) and max(trend) == date(2026, 3, 1)
    assert trend[date(2026, 2, 1)] == "<5" and trend[date(2026, 3, 1)] == "9"
    assert shown(0) == "0" and shown(4) == "<5" and shown(5) == "5"


def test_days_to_first_answer_and_to_decision_against_the_deadlines(
    session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    officer = staff["dara"]
    answered_after = [1, 2, 3, 4, 10]  # days; the deadline is 7
    for i, after in enumerate(answered_after):
        complaint = make_complaint(session, ctx, "пособие не выплатили", phone=f"+99655500020{i}", now=MARCH)
        casework.answer(session, ctx, officer, complaint, "Проверяем.", MARCH + timedelta(days=after))
        if i < 3:
            casework.set_status(session, officer, complaint, "resolved", MARCH + timedelta(days=after * 2), ctx=ctx)
        session.commit()
    make_complaint(session, ctx, "никто не ответил", phone="+996555000299", now=MARCH)  # never answered: late

    report = grievance_report(session, staff["oblast"], date(2026, 3, 1), None, TZ, REPORT_TIME)

    assert report.first_answer.measured == 5
    assert report.first_answer.median_days == 3.0
    assert report.first_answer.p90_days == 7.6  # between 4 and 10 days, 60% of the way
    assert (report.first_answer.on_time, report.first_answer.late) == (4, 2)
    assert report.first_answer.deadline_days == [7]
    assert report.decided == 3 and report.resolved == 3 and report.rejected == 0
    assert report.decision.median_days is None  # 3 decisions: too few to show a median
    assert report.resolution_rate == pytest.approx(3 / 6)


def test_the_report_keeps_to_the_staff_members_area(
    session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    make_complaint(session, ctx, "пособие не выплатили", phone="+996555000301", now=MARCH)
    make_complaint(session, ctx, "пособие не выплатили", municipality="kyshtut", phone="+996555000302", now=MARCH)
    march = date(2026, 3, 1)

    assert grievance_report(session, staff["dara"], march, None, TZ, REPORT_TIME).received == 1
    assert grievance_report(session, staff["oblast"], march, None, TZ, REPORT_TIME).received == 2
    assert grievance_report(session, staff["oblast"], march, "kyshtut", TZ, REPORT_TIME).received == 1
    assert grievance_report(session, staff["district"], march, "batken-rayon", TZ, REPORT_TIME).received == 2
    with pytest.raises(AreaOutsideScope):
        grievance_report(session, staff["dara"], march, "kyshtut", TZ, REPORT_TIME)
    # An admin sees no complaint, in the report as anywhere.
    assert grievance_report(session, staff["admin"], march, None, TZ, REPORT_TIME).received == 0


def test_escalations_and_the_families_told_the_outcome(
    session: Session, ctx: Context, staff: dict[str, StaffUser]
) -> None:
    officer = staff["dara"]
    decided = []
    for i in range(6):
        complaint = make_complaint(session, ctx, "пособие не выплатили", phone=f"+99655500040{i}", now=MARCH)
        casework.set_status(session, officer, complaint, "rejected", MARCH + timedelta(days=3), ctx=ctx)
        decided.append(complaint)
    escalated = make_complaint(session, ctx, "пособие не выплатили", phone="+996555000499", now=MARCH)
    escalated.escalated_first_answer = True
    session.add(escalated)
    session.commit()
    # Five outcome SMS went out; the sixth is still waiting in the outbox.
    messages = session.exec(select(OutboundMessage).order_by(col(OutboundMessage.id))).all()
    assert len(messages) == 6
    for message in messages[:5]:
        message.status = OutboundStatus.SENT
        session.add(message)
    session.commit()

    report = grievance_report(session, staff["oblast"], date(2026, 3, 1), None, TZ, REPORT_TIME)

    assert (report.told_named, report.decided_named) == (5, 6)
    assert report.rejected == 6
    assert report.escalated == 1 and report.escalated_first_answer == 1
    assert report.told_share == pytest.approx(5 / 6)
