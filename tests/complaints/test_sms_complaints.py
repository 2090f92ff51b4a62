"""A family files, follows and (anonymously) tracks a complaint entirely by SMS."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hotline.complaints import jobs as complaint_jobs
from hotline.complaints import service
from hotline.config import Settings
from hotline.context import Context
from hotline.models import (
    Complaint,
    ComplaintDraft,
    Contact,
    InboundMessage,
    Jurisdiction,
    utcnow,
)
from hotline.places import get_gazetteer
from tests.dialogue.test_webhook import dump
from tests.factories import PHONE, converse, new_sid, post_form, render, sms_form

OTHER = "+996700111222"


def complaints(session: Session) -> list[Complaint]:
    session.expire_all()
    return list(session.exec(select(Complaint).order_by(col(Complaint.id))))


def reference_in(reply: str) -> str:
    found = re.search(r"\b(\d{8})\b", reply)
    assert found, reply
    return found.group(1)


def pin_in(reply: str) -> str:
    found = re.search(r"(?:PIN|ПИН) (\d{4})", reply)
    assert found, reply
    return found.group(1)


def known_place(session: Session, phone: str = PHONE, code: str = "dara") -> None:
    """A phone whose municipality is already remembered (it complained before)."""
    contact = session.exec(select(Contact)).first()
    assert contact is not None
    contact.municipality_code = code
    session.add(contact)
    session.commit()


def test_first_complaint_asks_the_place_once_then_acknowledges(session: Session, ctx: Context) -> None:
    ask = converse(session, ctx, "COMPLAINT the akim wanted money for a certificate")
    assert ask[0].startswith("Where did it happen? Send the number: 1 Batken rayon")
    ack = converse(session, ctx, "1")[0]  # the rayon: filed at once, a second question would cost a third SMS
    [complaint] = complaints(session)
    assert ack.startswith(f"Complaint {complaint.reference} received.") and "village's name" in ack
    assert converse(session, ctx, "Dara") == [
        render(ctx, "complaints/place_noted", "en", reference=complaint.reference, place=get_gazetteer().places["dara"])
    ]
    [complaint] = complaints(session)
    assert complaint.text == "the akim wanted money for a certificate"
    assert (complaint.municipality_code, complaint.district_code) == ("dara", "batken-rayon")
    assert complaint.category == "bribe" and complaint.category_guessed
    assert complaint.jurisdiction == Jurisdiction.DISTRICT and complaint.routed_reason == "category bribe"
    assert complaint.first_answer_due - complaint.created_at == timedelta(days=7)
    assert complaint.resolution_due - complaint.created_at == timedelta(days=21)
    assert f"answer by {ctx.local_day(complaint.first_answer_due):%d.%m.%Y}" in ack
    kinds = [e.kind for e in service.events_of(session, complaint)]
    assert kinds == ["created", "routed", "village_added", "routed"]  # the oblast until the village was known
    # Both SMS of the dialogue belong to the complaint; the place is remembered for next time.
    linked = session.exec(select(InboundMessage).where(InboundMessage.complaint_id == complaint.id)).all()
    assert len(linked) == 2
    assert session.exec(select(Contact)).one().municipality_code == "dara"
    # So the next complaint is a single SMS.
    again = converse(session, ctx, "ЖАЛОБА пособие не платят три месяца")[0]
    second = complaints(session)[1]
    assert again.startswith(f"Жалоба {second.reference} принята")
    assert second.reference != complaint.reference and second.category == "not_paid"
    assert second.jurisdiction == Jurisdiction.MUNICIPALITY


def test_keyword_alone_starts_a_dialogue_and_several_sms_join(session: Session, ctx: Context) -> None:
    assert converse(session, ctx, "COMPLAINT") == [render(ctx, "complaints/ask_text", "en", anonymous=False)]
    assert converse(session, ctx, "They refused my benefit.")[0].startswith("Where did it happen?")
    assert converse(session, ctx, "The clerk said come back next year.")[0].startswith("Where did it happen?")
    assert converse(session, ctx, "Katran")[0].startswith("Complaint ")  # the village's name answers at once
    [complaint] = complaints(session)
    assert complaint.text == "They refused my benefit.\nThe clerk said come back next year."
    assert complaint.municipality_code == "katran" and complaint.category == "excluded"


def test_further_sms_within_the_window_are_appended(session: Session, ctx: Context) -> None:
    converse(session, ctx, "HELP")
    known_place(session)
    reference = reference_in(converse(session, ctx, "COMPLAINT benefit not paid")[0])
    assert converse(session, ctx, "since March, 3 children") == [
        render(ctx, "complaints/appended", "en", reference=reference)
    ]
    [complaint] = complaints(session)
    assert complaint.text == "benefit not paid\nsince March, 3 children"
    events = service.events_of(session, complaint)  # in order: a query without ORDER BY has none on PostgreSQL
    assert [e.kind for e in events] == ["created", "message_appended"]


def test_a_thank_you_a_digit_or_the_known_place_is_not_added(session: Session, ctx: Context) -> None:
    """#19 point 3: within the window only a real addition joins the complaint, and each answer says what happened."""
    converse(session, ctx, "HELP")
    known_place(session)
    reference = reference_in(converse(session, ctx, "ЖАЛОБА пособие не платят")[0])
    assert converse(session, ctx, "рахмат!") == [render(ctx, "complaints/thanks", "ru", reference=reference)]
    assert converse(session, ctx, "Spasibo bolshoe") == [render(ctx, "complaints/thanks", "ru", reference=reference)]
    not_added = render(ctx, "complaints/not_added", "ru", reference=reference, village=False)
    assert converse(session, ctx, "2") == [not_added]
    assert converse(session, ctx, "Дара") == [
        render(ctx, "complaints/place_noted", "ru", reference=reference, place=get_gazetteer().places["dara"])
    ]
    assert converse(session, ctx, "и аким сказал ждать") == [
        render(ctx, "complaints/appended", "ru", reference=reference)
    ]
    [complaint] = complaints(session)
    assert complaint.text == "пособие не платят\nи аким сказал ждать"


def test_acknowledgement_is_discreet(session: Session, ctx: Context) -> None:
    converse(session, ctx, "HELP")
    known_place(session)
    for language, keyword in (("en", "COMPLAINT"), ("ru", "ЖАЛОБА")):
        ack = converse(session, ctx, f"{keyword} Токтосунов из айыл окмоту взял 3000 сом")[0]
        assert "Токтосунов" not in ack and "3000" not in ack and "окмот" not in ack.lower(), language


def test_status_shows_state_and_latest_answer(session: Session, ctx: Context) -> None:
    converse(session, ctx, "HELP")
    known_place(session)
    reference = reference_in(converse(session, ctx, "COMPLAINT not paid")[0])
    assert converse(session, ctx, f"STATUS {reference}") == [
        render(ctx, "status/show", "en", reference=reference, status="new", answered=False)
    ]
    complaint = complaints(session)[0]
    service.add_answer(session, ctx, complaint, "Paid on 5 May, check your account.", utcnow(), officer_id=None)
    session.commit()
    # Not "waiting for an officer" once one answered; in the complaint's language, that of the answer.
    assert converse(session, ctx, f"статус {reference}") == [
        render(ctx, "status/show", "en", reference=reference, status="answered", answered=True),
        render(ctx, "status/answer", "en", text="Paid on 5 May, check your account."),
    ]
    assert "waiting" not in converse(session, ctx, f"STATUS {reference}")[0]
    # STATUS alone answers the phone's latest complaint.
    assert converse(session, ctx, "STATUS")[0].startswith(f"Complaint {reference}")


def test_status_by_pin_from_a_russian_phone_reads_in_the_complaints_language(session: Session, ctx: Context) -> None:
    ack = converse(session, ctx, "АНОНИМ Кара-Бакта аким 3000 сом сурады")[0]
    reference, pin = reference_in(ack), pin_in(ack)
    complaint = next(c for c in complaints(session) if c.reference == reference)
    service.add_answer(session, ctx, complaint, "Акимге текшерүү башталды.", utcnow(), officer_id=None)
    session.commit()
    converse(session, ctx, "ЯЗЫК 2", sender="+996700333444")  # a neighbour's phone, in Russian
    replies = converse(session, ctx, f"СТАТУС {reference} {pin}", sender="+996700333444")
    assert replies == [
        render(ctx, "status/show", "ky", reference=reference, status="answered", answered=True),
        render(ctx, "status/answer", "ky", text="Акимге текшерүү башталды."),
    ]


def test_wrong_or_foreign_references_get_one_answer(session: Session, ctx: Context) -> None:
    converse(session, ctx, "HELP", sender=OTHER)
    known_place(session)
    theirs = reference_in(converse(session, ctx, "COMPLAINT not paid", sender=OTHER)[0])
    not_found = render(ctx, "status/not_found", "en")
    wrong_digit = theirs[:-1] + str((int(theirs[-1]) + 1) % 10)
    assert converse(session, ctx, "HELP") == [render(ctx, "help", "en")]
    assert converse(session, ctx, f"STATUS {theirs}") == [not_found]  # someone else's
    assert converse(session, ctx, f"STATUS {wrong_digit}") == [not_found]  # check digit wrong
    assert converse(session, ctx, "STATUS 1234") == [not_found]
    assert converse(session, ctx, "STATUS abc") == [render(ctx, "status/ask", "en")]


def test_repeated_wrong_guesses_are_slowed_down(session: Session, ctx: Context, settings: Settings) -> None:
    converse(session, ctx, "HELP")
    # Different guesses: the same text again and again would be a reply loop (hotline/dialogue/loops.py).
    for guess in range(settings.max_status_failures_per_day):
        assert converse(session, ctx, f"STATUS 2222222{guess}") == [render(ctx, "status/not_found", "en")]
    assert converse(session, ctx, "STATUS 11111111") == [render(ctx, "status/throttled", "en")]
    tomorrow = utcnow() + timedelta(days=1)
    assert converse(session, ctx, "STATUS 11111111", now=tomorrow) == [render(ctx, "status/not_found", "en")]


def test_anonymous_complaint_keeps_no_link_to_the_phone(session: Session, ctx: Context, engine: Engine) -> None:
    converse(session, ctx, "HELP")
    known_place(session)
    # The remembered place is not reused: it would tie the complaint to the family.
    assert converse(session, ctx, "ANON akim Toktosunov took 3000 som")[0].startswith("Where did it happen?")
    ack = converse(session, ctx, "0")[0]  # rather not say: the oblast handles it
    reference, pin = reference_in(ack), pin_in(ack)
    [complaint] = complaints(session)
    assert complaint.anonymous and complaint.contact_id is None and complaint.pin_hash
    assert complaint.jurisdiction == Jurisdiction.OBLAST and complaint.municipality_code is None
    assert pin not in (complaint.pin_hash or "")
    contact = session.exec(select(Contact)).one()
    # The SMS that carried it left no message row at all (its place in the phone's sequence would date it).
    assert session.exec(select(InboundMessage).where(InboundMessage.keyword == "ANON")).all() == []
    with engine.connect() as conn:
        for table in ("complaint", "complaintevent", "rateevent", "complaintdraft", "conversation", "private_counter"):
            rows = " ".join(repr(tuple(r)) for r in conn.execute(text(f"SELECT * FROM {table}")))
            assert contact.phone_hash not in rows, table
    everything = dump(engine)
    assert "Toktosunov" in everything  # the complaint text itself is kept for the officers
    assert pin not in everything.replace(reference, "")
    linked = session.exec(select(InboundMessage).where(InboundMessage.contact_id == contact.id)).all()
    assert all(reference not in " ".join(m.replies) and "Toktosunov" not in m.body for m in linked)
    # STATUS with the PIN works from any phone, and leaves no trace linking that phone either.
    assert converse(session, ctx, f"STATUS {reference} {pin}", sender=OTHER)[0].startswith(f"Complaint {reference}")
    assert session.exec(select(InboundMessage).where(InboundMessage.keyword == "STATUS")).all() == []
    # Without the PIN, or with a wrong one, it is "not found" like any other.
    assert converse(session, ctx, f"STATUS {reference}") == [render(ctx, "status/not_found", "en")]
    wrong = f"{(int(pin) + 1) % 10000:04d}"
    assert converse(session, ctx, f"STATUS {reference} {wrong}") == [render(ctx, "status/not_found", "en")]


def test_anonymous_through_the_dialogue_unlinks_every_sms(session: Session, ctx: Context) -> None:
    assert converse(session, ctx, "ЖАЛОБА АНОНИМ аким просил деньги")[0].startswith("Где это было?")
    ack = converse(session, ctx, "2")[0]  # the rayon is filed at once: no village question, no village asked after
    [complaint] = complaints(session)
    assert complaint.anonymous and complaint.contact_id is None
    assert complaint.district_code == "kadamjay-rayon" and complaint.municipality_code is None
    assert complaint.jurisdiction == Jurisdiction.OBLAST  # district-level place, accused: one level up
    assert pin_in(ack)
    assert session.exec(select(InboundMessage)).all() == []
    assert session.exec(select(ComplaintDraft)).first() is None
    # A new phone whose only act was the anonymous complaint keeps no contact (its number would stay).
    assert session.exec(select(Contact)).all() == []
    # No append window for anonymous complaints: the next SMS is not joined to it (and, the contact forgotten, is
    # answered in the default language).
    assert converse(session, ctx, "more text") == [render(ctx, "menu", ctx.settings.default_language)]


def test_pin_guesses_lock_out_the_guesser_not_the_family(session: Session, ctx: Context, settings: Settings) -> None:
    converse(session, ctx, "ANON not paid")
    ack = converse(session, ctx, "0")[0]
    reference, pin = reference_in(ack), pin_in(ack)
    not_found, throttled = render(ctx, "status/not_found", "en"), render(ctx, "status/throttled", "en")
    attacker = "+996700000001"
    wrong = [f"{(int(pin) + i) % 10000:04d}" for i in range(1, 40)]
    replies = [converse(session, ctx, f"STATUS {reference} {guess}", sender=attacker)[0] for guess in wrong]
    tries = min(settings.max_pin_failures_per_day, settings.max_status_failures_per_day)
    assert replies[:tries] == [not_found] * tries and set(replies[tries:]) == {throttled}
    # Even the right PIN no longer answers the guesser today...
    assert converse(session, ctx, f"STATUS {reference} {pin}", sender=attacker) == [throttled]
    # ...while many guessing phones cannot lock the family out: its phone with the right PIN gets in.
    for i in range(10):
        converse(session, ctx, f"STATUS {reference} {wrong[i]}", sender=f"+99670000{i + 10:04d}")
    assert converse(session, ctx, f"STATUS {reference} {pin}", sender=PHONE)[0].startswith(f"Complaint {reference}")
    later = utcnow() + timedelta(days=1)
    reply = converse(session, ctx, f"STATUS {reference} {pin}", sender=attacker, now=later)[0]
    assert reply.startswith(f"Complaint {reference}")


def test_daily_complaint_limit(session: Session, ctx: Context, settings: Settings) -> None:
    converse(session, ctx, "HELP")
    known_place(session)
    for i in range(settings.max_complaints_per_day):
        assert converse(session, ctx, f"COMPLAINT case {i}")[0].startswith("Complaint ")
    assert converse(session, ctx, "ANON case x") == [render(ctx, "complaints/limit", "en")]
    assert converse(session, ctx, "COMPLAINT case z") == [render(ctx, "complaints/limit", "en")]
    assert len(complaints(session)) == settings.max_complaints_per_day
    assert converse(session, ctx, "COMPLAINT case y", now=utcnow() + timedelta(days=1))[0].startswith("Complaint ")


def test_empty_or_emoji_complaint_asks_for_text(session: Session, ctx: Context) -> None:
    ask = render(ctx, "complaints/ask_text", "en", anonymous=False)
    assert converse(session, ctx, "COMPLAINT 😡😡") == [ask]
    assert converse(session, ctx, "   ") == [ask]
    assert converse(session, ctx, "🙏") == [ask]
    assert complaints(session) == []


def test_expired_dialogue_keeps_the_draft_and_says_how_to_finish(
    session: Session, ctx: Context, settings: Settings
) -> None:
    start = utcnow()
    converse(session, ctx, "COMPLAINT they asked for a gift", now=start)
    late = start + timedelta(minutes=settings.conversation_timeout_minutes + 1)
    assert converse(session, ctx, "1", now=late) == [render(ctx, "complaints/draft_saved", "en")]
    assert session.exec(select(ComplaintDraft)).one().text == "they asked for a gift"
    assert converse(session, ctx, "COMPLAINT", now=late)[0].startswith("Where did it happen?")
    converse(session, ctx, "5", now=late)
    [complaint] = complaints(session)
    assert complaint.text == "they asked for a gift" and complaint.district_code == "sulukta"


def test_two_phones_interleaved(session: Session, ctx: Context) -> None:
    converse(session, ctx, "COMPLAINT first phone text")
    converse(session, ctx, "ЖАЛОБА второй телефон", sender=OTHER)
    converse(session, ctx, "4")
    converse(session, ctx, "5", sender=OTHER)
    by_text = {c.text: c for c in complaints(session)}
    assert by_text["first phone text"].district_code == "kyzyl-kiya"
    assert by_text["второй телефон"].district_code == "sulukta"


def test_long_complaint_is_kept_whole(session: Session, ctx: Context) -> None:
    converse(session, ctx, "HELP")
    known_place(session)
    body = "ЖАЛОБА " + "я" * 1593
    converse(session, ctx, body)
    assert complaints(session)[0].text == "я" * 1593


def test_same_message_sid_twice_makes_one_complaint(client: TestClient, settings: Settings, session: Session) -> None:
    post_form(client, settings, sms_form("HELP"))
    known_place(session)
    form = sms_form("COMPLAINT not paid", sid=new_sid())
    first, second = post_form(client, settings, form), post_form(client, settings, form)
    assert first.text == second.text and "received" in first.text
    assert len(complaints(session)) == 1


def test_database_dump_shows_no_phone_number(
    client: TestClient, settings: Settings, engine: Engine, session: Session
) -> None:
    for body in ("COMPLAINT akim took money", "1", "3", "ANON second one", "2", "0", "STATUS"):
        post_form(client, settings, sms_form(body, sender=PHONE))
    assert len(complaints(session)) == 2
    everything = dump(engine)
    assert "akim took money" in everything
    assert "555123456" not in everything


def test_an_unfinished_anonymous_complaint_goes_with_its_dialogue(
    session: Session, ctx: Context, settings: Settings
) -> None:
    start = utcnow()
    converse(session, ctx, "HELP", now=start)  # a phone with a history keeps its contact
    converse(session, ctx, "ANON the akim took money", now=start)
    converse(session, ctx, "ANON the clerk wants a gift", sender=OTHER, now=start)
    assert len(session.exec(select(ComplaintDraft)).all()) == 2
    late = start + timedelta(minutes=settings.conversation_timeout_minutes + 1)
    # Written to again after the timeout: the draft is gone (not "saved"), and this message is private too.
    assert converse(session, ctx, "1", now=late) == [render(ctx, "expired", "en", flow="complaint")]
    assert session.exec(select(InboundMessage).where(InboundMessage.body == "1")).all() == []
    # Never written to again: the scheduled job forgets the draft, the dialogue and the new phone's contact.
    assert complaint_jobs.forget_abandoned_anonymous(session, ctx, late) == 1
    session.expire_all()
    assert session.exec(select(ComplaintDraft)).all() == []
    assert [c.phone_hash for c in session.exec(select(Contact))] == [ctx.vault.lookup_hash(PHONE)]
    assert complaints(session) == []


def test_an_anonymous_complaint_after_stop_is_not_kept_beside_the_phone(session: Session, ctx: Context) -> None:
    converse(session, ctx, "STOP")
    assert converse(session, ctx, "ANON the akim Toktosunov took money") == []  # after STOP: no answer
    assert converse(session, ctx, "COMPLAINT ANON the clerk Asanov wants a gift") == []
    bodies = [m.body for m in session.exec(select(InboundMessage))]
    assert not any("Toktosunov" in body or "Asanov" in body for body in bodies), bodies


def test_a_retried_anonymous_turn_files_once_and_gets_the_same_reply(
    client: TestClient, settings: Settings, session: Session, engine: Engine
) -> None:
    post_form(client, settings, sms_form("ANON they took 500 som"))
    form = sms_form("0", sid=new_sid())
    first, second = post_form(client, settings, form), post_form(client, settings, form)
    reference = complaints(session)[0].reference
    assert reference in first.text and "PIN" in first.text
    # The retry (Twilio repeats a request it got no answer to) gets the same reference and PIN, which the database
    # holds only sealed with a key made from the transport's id (which it does not hold).
    assert second.text == first.text
    assert len(complaints(session)) == 1
    everything = dump(engine)
    assert everything.count(reference) == 1 and f"PIN {pin_in(first.text)}" not in everything
