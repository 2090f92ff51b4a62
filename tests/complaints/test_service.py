"""Officers' actions on a complaint, each leaving an audit row."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from hotline.complaints import service
from hotline.content import TextTooLong
from hotline.context import Context
from hotline.models import Actor, Complaint, ComplaintEvent, ComplaintStatus, Contact, OutboundMessage, utcnow
from hotline.places import get_gazetteer


def new_complaint(session: Session, ctx: Context) -> Complaint:
    contact = Contact(phone_hash="h" * 64, phone_encrypted=ctx.vault.encrypt("+996555123456"), language="ru")
    session.add(contact)
    session.flush()
    filed = service.file_complaint(
        session,
        ctx,
        contact=contact,
        text="пособие не платят",
        anonymous=False,
        place=get_gazetteer().get("dara"),
        now=utcnow(),
    )
    session.commit()
    return filed.complaint


def kinds(session: Session, complaint: Complaint) -> list[str]:
    return [
        e.kind
        for e in session.exec(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id).order_by(col(ComplaintEvent.id))
        )
    ]


def test_workflow_with_reopen_is_audited(session: Session, ctx: Context) -> None:
    complaint = new_complaint(session, ctx)
    for status in ("acknowledged", "investigating", "resolved", "closed", "investigating", "rejected", "closed"):
        service.change_status(
            session, complaint, ComplaintStatus(status), actor=Actor.OFFICER, actor_id=7, now=utcnow()
        )
    session.commit()
    assert complaint.status == "closed"
    events = session.exec(
        select(ComplaintEvent).where(ComplaintEvent.kind == "status_changed").order_by(col(ComplaintEvent.id))
    ).all()
    assert [(e.details["old"], e.details["new"]) for e in events][:2] == [
        ("new", "acknowledged"),
        ("acknowledged", "investigating"),
    ]
    assert all(e.actor == "officer" and e.actor_id == 7 for e in events)


def test_impossible_moves_are_refused_and_leave_no_trace(session: Session, ctx: Context) -> None:
    complaint = new_complaint(session, ctx)
    with pytest.raises(service.InvalidTransition, match="from new to closed"):
        service.change_status(session, complaint, ComplaintStatus.CLOSED, actor=Actor.OFFICER, actor_id=1, now=utcnow())
    session.rollback()
    assert kinds(session, complaint) == ["created"]


def test_category_correction_is_audited(session: Session, ctx: Context) -> None:
    complaint = new_complaint(session, ctx)
    service.correct_category(session, complaint, "excluded", officer_id=3, now=utcnow())
    session.commit()
    assert (complaint.category, complaint.category_guessed) == ("excluded", False)
    assert kinds(session, complaint) == ["created", "category_changed"]
    with pytest.raises(ValueError, match="unknown category"):
        service.correct_category(session, complaint, "nonsense", officer_id=3, now=utcnow())


def test_answer_reaches_a_named_complainant_by_sms_without_anyone_reading_the_number(
    session: Session, ctx: Context
) -> None:
    complaint = new_complaint(session, ctx)
    service.add_answer(session, ctx, complaint, "Выплата будет 5 мая.", utcnow(), officer_id=4)
    session.commit()
    [message] = session.exec(select(OutboundMessage)).all()
    assert message.body == f"Жалоба {complaint.reference}: Выплата будет 5 мая."
    assert (message.purpose, message.contact_id, message.language) == ("complaint_update", complaint.contact_id, "ru")
    assert "555123456" not in message.recipient_encrypted
    assert ctx.vault.decrypt(message.recipient_encrypted) == "+996555123456"
    assert message.expires_at is not None
    assert kinds(session, complaint) == ["created", "answered"]


def test_answer_to_an_anonymous_complaint_waits_in_its_record(session: Session, ctx: Context) -> None:
    contact = Contact(phone_hash="a" * 64, phone_encrypted=ctx.vault.encrypt("+996555000001"), language="ky")
    session.add(contact)
    session.flush()
    filed = service.file_complaint(
        session, ctx, contact=contact, text="пара", anonymous=True, place=get_gazetteer().get("dara"), now=utcnow()
    )
    service.add_answer(session, ctx, filed.complaint, "Текшерилүүдө.", utcnow(), officer_id=4)
    session.commit()
    assert session.exec(select(OutboundMessage)).all() == []
    answer = service.latest_answer(session, filed.complaint)
    assert answer is not None and answer.text == "Текшерилүүдө."


def test_answer_over_the_sms_budget_is_refused_whole(session: Session, ctx: Context) -> None:
    complaint = new_complaint(session, ctx)
    with pytest.raises(TextTooLong):
        service.add_answer(session, ctx, complaint, "я" * 200, utcnow(), officer_id=4)
    session.rollback()
    assert service.latest_answer(session, complaint) is None
    assert kinds(session, complaint) == ["created"]
