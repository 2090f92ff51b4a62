"""Reply loops (#18 point 5): an auto-responder or a carrier's bounce that answers every reply is answered only up to
HOTLINE_LOOP_LIMIT times an hour, then not at all until its messages leave the window; a family typing normally,
the same keyword a few times included, is always answered. Every message is still stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from hotline.context import Context
from hotline.dialogue import loops
from hotline.metrics import process_registry
from hotline.models import Contact, InboundMessage
from tests.factories import PHONE, converse

NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # fixed: no test depends on today's date
AWAY = "I am away until Monday and will answer your message then."


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def counted(name: str) -> float:
    """A counter's value as /metrics exposes it."""
    return process_registry().get_sample_value(name) or 0.0


def stored(session: Session) -> list[InboundMessage]:
    session.expire_all()
    return list(session.exec(select(InboundMessage).order_by(InboundMessage.received_at)).all())  # type: ignore[arg-type]


def test_an_auto_responder_is_answered_only_up_to_the_limit(session: Session, ctx: Context) -> None:
    assert ctx.settings.loop_limit == 3
    answered = [converse(session, ctx, AWAY, now=at(2 * i)) for i in range(5)]
    assert [bool(replies) for replies in answered] == [True, True, True, False, False]
    messages = stored(session)
    assert [m.body for m in messages] == [AWAY] * 5  # nothing lost: the unanswered ones are kept
    assert [bool(m.replies) for m in messages] == [True, True, True, False, False]


def test_the_same_text_differently_spaced_or_cased_is_the_same(session: Session, ctx: Context) -> None:
    bodies = [AWAY, AWAY.upper(), f"  {AWAY}\n", AWAY.replace(" ", "  ")]
    answered = [converse(session, ctx, body, now=at(i)) for i, body in enumerate(bodies)]
    assert [bool(replies) for replies in answered] == [True, True, True, False]


def test_a_family_typing_normally_is_always_answered(session: Session, ctx: Context) -> None:
    bodies = ["STATUS", "HELP", "STATUS", "ПОСОБИЕ", "STATUS", "HELP", "привет", "HELP", "MENU", "ПОСОБИЕ"]
    answered = [converse(session, ctx, body, now=at(3 * i)) for i, body in enumerate(bodies)]
    assert all(answered), [body for body, replies in zip(bodies, answered, strict=True) if not replies]


def test_a_family_going_back_and_forth_is_always_answered(session: Session, ctx: Context) -> None:
    bodies = [body for number in range(1, 6) for body in ("BENEFITS", str(number))]  # the list, a programme, ...
    answered = [converse(session, ctx, body, now=at(i)) for i, body in enumerate(bodies)]
    assert all(answered), [body for body, replies in zip(bodies, answered, strict=True) if not replies]


def test_bounces_that_differ_are_caught_by_what_they_say(session: Session, ctx: Context) -> None:
    bounces = [
        "Сообщение не доставлено: абонент недоступен (id 4471)",
        "Auto-reply: I am driving",
        "Delivery failure: message 88123 could not be delivered",
        "Сообщение не доставлено: абонент недоступен (id 4472)",
        "Auto-reply: I am still driving",
    ]
    answered = [converse(session, ctx, body, now=at(i)) for i, body in enumerate(bounces)]
    assert [bool(replies) for replies in answered] == [True, True, True, False, False]


def test_texts_that_only_mention_delivery_are_a_family_s_own(session: Session, ctx: Context) -> None:
    bodies = ["деньги не доставлены", "пособие не пришло", "почта не доставила", "деньги так и не доставлены"]
    assert all(converse(session, ctx, body, now=at(i)) for i, body in enumerate(bodies))


def test_answers_resume_after_the_pause(session: Session, ctx: Context) -> None:
    for i in range(5):
        converse(session, ctx, AWAY, now=at(i))
    # During the pause nothing is answered, a different text included: that is what stops the loop.
    assert converse(session, ctx, "HELP", now=at(30)) == []
    # An hour after the loop's messages, the phone is answered again.
    assert converse(session, ctx, "HELP", now=at(65)) != []
    assert converse(session, ctx, AWAY, now=at(66)) != []


def test_the_limit_is_a_setting(session: Session, ctx: Context) -> None:
    strict = replace(ctx, settings=ctx.settings.model_copy(update={"loop_limit": 1, "loop_window_minutes": 10}))
    answered = [converse(session, strict, "STATUS", now=at(i)) for i in (0, 1, 12)]
    assert [bool(replies) for replies in answered] == [True, False, True]


def test_the_metric_counts_loops_and_unanswered_messages(
    session: Session, ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    loops_before, unanswered_before = (
        counted("hotline_reply_loops_total"),
        counted("hotline_reply_loop_unanswered_total"),
    )
    for i in range(6):
        converse(session, ctx, AWAY, now=at(i))
    assert counted("hotline_reply_loops_total") == loops_before + 1  # one loop found
    assert counted("hotline_reply_loop_unanswered_total") == unanswered_before + 3  # three messages not answered
    lines = [r.getMessage() for r in caplog.records if "reply loop" in r.getMessage()]
    assert len(lines) == 3 and "found" in lines[0] and "found" not in lines[1]
    assert all(PHONE not in line and PHONE[-6:] not in line and "away" not in line for line in lines)


def test_stop_in_a_loop_still_opts_the_phone_out(session: Session, ctx: Context) -> None:
    for i in range(4):
        converse(session, ctx, AWAY, now=at(i))
    assert converse(session, ctx, "STOP", now=at(5)) == []
    session.expire_all()
    assert session.exec(select(Contact)).one().opted_out_at is not None


def test_an_anonymous_complaint_is_never_counted_nor_linked(session: Session, ctx: Context) -> None:
    for i in range(4):
        converse(session, ctx, AWAY, now=at(i))
    # The loop pauses named answers only: an anonymous turn leaves no row to count and no log naming the phone.
    assert converse(session, ctx, "ANON akim took 3000 som", now=at(5)) != []
    assert all(m.keyword != "ANON" and "akim" not in m.body for m in stored(session))


def test_what_looks_automatic() -> None:
    assert loops.looks_automatic("Сообщение НЕ ДОСТАВЛЕНО абоненту")
    assert loops.looks_automatic("AUTO-REPLY: out of office")
    assert not loops.looks_automatic("STATUS")
    assert not loops.looks_automatic("деньги не доставлены")
    assert loops.loop_in(["a", "b", "b", "B ", "b"], 3)
    assert not loops.loop_in(["b", "b", "b", "a", "b"], 3)
    assert not loops.loop_in(["", "", "", "", ""], 3)  # pictures alone are not alike
