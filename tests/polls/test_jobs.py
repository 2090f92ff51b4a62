"""Invitations planned into the outbox (#22): in batches, each phone once, even with two schedulers; STOP, quiet
hours, the audience's area and languages respected; and what starting will send, shown before."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from hotline.context import Context
from hotline.dialogue.contacts import get_or_create_contact
from hotline.messaging.outbox import enqueue, in_quiet_hours
from hotline.models import Contact, Household, OutboundMessage, OutboundStatus, PollInvitation, Purpose, utcnow
from hotline.polls import jobs
from hotline.polls.service import PollForm, add_question, question_context, questions_of, save_poll, start_poll
from tests.polls.builders import AWARE, make_poll, poll_staff


def phones(session: Session, ctx: Context, n: int, language: str = "ru", place: str | None = None) -> list[Contact]:
    now = utcnow()
    made = []
    for i in range(n):
        contact = get_or_create_contact(session, ctx, f"+99655510{i:04d}", now)
        contact.language, contact.municipality_code = language, place
        session.add(contact)
        made.append(contact)
    session.commit()
    return made


def count(session: Session, model: type[PollInvitation] | type[OutboundMessage]) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_every_phone_is_invited_once_in_batches(session: Session, ctx: Context) -> None:
    contacts = phones(session, ctx, 25)
    contacts[3].opted_out_at = utcnow()  # said STOP: never invited
    session.add(contacts[3])
    session.commit()
    poll = make_poll(session, ctx, poll_staff(session), [AWARE], audience="phones")
    assert jobs.preview(session, ctx, poll).phones == 24
    first = jobs.plan_invitations(session, ctx, utcnow(), max_per_run=10, chunk=4)
    session.commit()
    assert first.invited == 10
    rest = jobs.plan_invitations(session, ctx, utcnow(), chunk=4)
    again = jobs.plan_invitations(session, ctx, utcnow(), chunk=4)
    session.commit()
    assert (rest.invited, again.invited) == (14, 0)
    assert count(session, PollInvitation) == count(session, OutboundMessage) == 24
    assert jobs.preview(session, ctx, poll).phones == 0
    sms = session.exec(select(OutboundMessage)).first()
    assert sms is not None and sms.purpose == Purpose.POLL and sms.expires_at == poll.ends_at


def test_an_earlier_message_under_a_key_leaves_the_other_phones_invited(session: Session, ctx: Context) -> None:
    contacts = phones(session, ctx, 5)
    poll = make_poll(session, ctx, poll_staff(session), [AWARE], audience="phones")
    # The same key already in the outbox (an invitation whose row an erasure removed): the chunk conflicts.
    enqueue(session, ctx, contact=contacts[2], text="x", purpose=Purpose.POLL, key=f"poll:{poll.id}:{contacts[2].id}")
    session.commit()
    assert jobs.plan_invitations(session, ctx, utcnow()).invited == 4
    session.commit()
    assert count(session, OutboundMessage) == 5


def test_the_audience_by_enrolment_area_and_language(session: Session, ctx: Context) -> None:
    dara = phones(session, ctx, 3, "ky", "dara")
    for contact in dara[:2]:
        session.add(
            Household(contact_id=contact.id or 0, municipality_code="dara", consent_at=utcnow(), consent_channel="sms")
        )
    session.commit()
    user = poll_staff(session)
    form = PollForm(
        name="Dara",
        starts="2026-01-01",
        ends="2099-01-01",
        audience="households",
        area_code="batken-rayon",
        languages=("ky",),
    )
    poll = save_poll(session, ctx, user, form, utcnow(), None)
    add_question(session, ctx, poll, AWARE)
    start_poll(session, poll, utcnow())
    session.commit()
    preview = jobs.preview(session, ctx, poll)
    assert (preview.phones, preview.by_language) == (2, {"ky": 2})
    question = questions_of(session, poll.id or 0)[0]
    one = ctx.texts.render("polls/invitation", "ky", reply_to=None, **question_context(question, "ky"))
    assert preview.segments == 2 * one.count.segments


def test_invitations_wait_for_the_end_of_quiet_hours(session: Session, ctx: Context) -> None:
    phones(session, ctx, 1)
    make_poll(session, ctx, poll_staff(session), [AWARE], audience="phones")
    night = datetime.combine(ctx.local_day(utcnow()), datetime.min.time(), ctx.tz).replace(hour=23)
    jobs.plan_invitations(session, ctx, night)
    session.commit()
    sms = session.exec(select(OutboundMessage)).one()
    settings = ctx.settings
    assert in_quiet_hours(night, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end)
    assert not in_quiet_hours(sms.not_before, ctx.tz, settings.quiet_hours_start, settings.quiet_hours_end)
    assert sms.not_before > night and sms.status == OutboundStatus.PENDING


def test_two_schedulers_at_once_invite_each_phone_once(engine: Engine, session: Session, ctx: Context) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: two planners cannot overlap")
    phones(session, ctx, 30)
    make_poll(session, ctx, poll_staff(session), [AWARE], audience="phones")
    with Session(engine) as first, Session(engine) as second:
        assert jobs.plan_invitations(first, ctx, utcnow(), chunk=7).invited == 30
        # The poll is claimed by the first (not committed yet): the second plans nothing, and does not wait.
        assert jobs.plan_invitations(second, ctx, utcnow(), chunk=7).invited == 0
        first.commit()
        second.commit()
    with Session(engine) as third:
        assert jobs.plan_invitations(third, ctx, utcnow()).invited == 0
    assert count(session, PollInvitation) == count(session, OutboundMessage) == 30
