"""Twilio retries: the same MessageSid arriving twice at the same moment is stored and answered once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hotline.context import Context
from hotline.dialogue.inbound import Inbound
from hotline.engine import handle_inbound
from hotline.models import Contact, InboundMessage, utcnow
from tests.factories import OUR_NUMBER, new_sid


def _race(engine: Engine, ctx: Context, messages: list[Inbound]) -> list[list[str]]:
    barrier = threading.Barrier(len(messages))

    def one(sms: Inbound) -> list[str]:
        with Session(engine) as session:
            barrier.wait()
            return handle_inbound(session, ctx, sms)

    with ThreadPoolExecutor(len(messages)) as pool:
        return list(pool.map(one, messages))


def test_simultaneous_retries_store_one_message(engine: Engine, ctx: Context, session: Session) -> None:
    # Five rounds of the same text would be a reply loop (hotline/dialogue/loops.py): not what this test is about.
    ctx = replace(ctx, settings=ctx.settings.model_copy(update={"loop_limit": 10}))
    for _ in range(5):
        sms = Inbound("twilio", new_sid(), "+996555000111", OUR_NUMBER, "BENEFITS", utcnow())
        replies = _race(engine, ctx, [sms] * 4)
        assert all(reply == replies[0] for reply in replies)
        assert replies[0][0].startswith("Benefits:")
    assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 5
    assert session.exec(select(func.count()).select_from(Contact)).one() == 1


def test_first_messages_of_a_new_phone_at_once_make_one_contact(engine: Engine, ctx: Context, session: Session) -> None:
    # Four HELPs in a row would be a reply loop once they are serialised (hotline/dialogue/loops.py).
    ctx = replace(ctx, settings=ctx.settings.model_copy(update={"loop_limit": 10}))
    messages = [Inbound("twilio", new_sid(), "+996700123123", OUR_NUMBER, "HELP", utcnow()) for _ in range(4)]
    replies = _race(engine, ctx, messages)
    assert all(reply and reply[0].startswith("Hotline for families") for reply in replies)
    assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 4
    assert session.exec(select(func.count()).select_from(Contact)).one() == 1
