"""`hotline erase --phone`: a family's data removed on request; its complaints stay, unlinked; audited, masked."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.complaints.service import events_of
from hotline.config import Settings
from hotline.context import Context
from hotline.main import create_app
from hotline.models import (
    AuditEntry,
    Complaint,
    ComplaintDraft,
    Conversation,
    Enrolment,
    HealthAlert,
    Household,
    InboundMessage,
    Jurisdiction,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    ReminderPlanned,
    Role,
    Volunteer,
)
from hotline.phones import mask_phone
from tests.factories import PHONE, converse
from tests.privacy.builders import VOLUNTEER, contact_of, family
from tests.staff_pages import log_in, make_staff

runner = CliRunner()
NEIGHBOUR = "+996555765432"
WHEN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_erase_removes_the_family_and_keeps_its_complaint_unlinked(
    env: Settings, session: Session, ctx: Context
) -> None:
    complaint = family(session, ctx, WHEN)
    neighbours = family(session, ctx, WHEN, NEIGHBOUR)
    converse(session, ctx, "ЖАЛОБА", PHONE, WHEN)  # an unfinished complaint: a dialogue and nothing filed yet
    family_id = complaint.contact_id

    result = runner.invoke(app, ["erase", "--phone", "0555 123 456", "--yes", "--reason", "asked at the office"])

    assert result.exit_code == 0, result.output
    assert "Erased +996 55• ••• •56:" in result.stdout
    assert "named complaints (kept with their text, no longer linked to the phone)" in result.stdout
    assert "messages waiting in the outbox (cancelled)" in result.stdout
    assert "555123456" not in result.output
    assert contact_of(session, ctx) is None
    # Nothing is left that names the family's phone or leads to it.
    for model in (Household, Volunteer, Conversation, ComplaintDraft, HealthAlert):
        assert not session.exec(select(model).where(col(model.contact_id) == family_id)).all(), model
    assert session.exec(select(InboundMessage).where(InboundMessage.contact_id == family_id)).all() == []
    assert session.exec(select(OutboundMessage).where(OutboundMessage.contact_id == family_id)).all() == []
    unlinked = session.exec(select(OutboundMessage).where(col(OutboundMessage.contact_id).is_(None))).all()
    assert unlinked and all(m.idempotency_key == f"erased:{m.id}" for m in unlinked)  # no household, no alert id
    assert len(session.exec(select(Enrolment)).all()) == 1  # the neighbour's
    assert {p.enrolment_id for p in session.exec(select(ReminderPlanned))} <= {
        e.id for e in session.exec(select(Enrolment))
    }
    # The waiting reminder will not be sent, and the volunteer's alert no longer holds the family's number.
    reminders = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.REMINDER)).all()
    cancelled = [m for m in reminders if m.contact_id is None]
    assert len(cancelled) == 1 and cancelled[0].status == OutboundStatus.CANCELLED and cancelled[0].body == ""
    alerts = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.ALERT)).all()
    assert len(alerts) == 2 and not any(PHONE in a.body for a in alerts)
    assert any(NEIGHBOUR in a.body for a in alerts)
    # The SMS rows stay (counts add up) but hold no text, reply or link.
    erased_sms = session.exec(select(InboundMessage).where(col(InboundMessage.contact_id).is_(None))).all()
    assert len(erased_sms) == 9 and all(m.body == "" and m.replies == [] and m.complaint_id is None for m in erased_sms)
    # The complaint stays for the officers, with its text, unlinked, and says why.
    session.expire_all()
    kept = session.get(Complaint, complaint.id)
    assert kept is not None and kept.contact_id is None and kept.text == "аким просил 2000 сом за справку"
    events = events_of(session, kept)  # the trail as officers see it, oldest first
    assert events[-1].kind == "identity_removed" and events[-1].actor == "system"
    # The neighbour's data is untouched.
    assert contact_of(session, ctx, NEIGHBOUR) is not None
    assert session.get(Complaint, neighbours.id).contact_id is not None  # type: ignore[union-attr]
    # The audit entry: who, why and what, with the number masked, not which complaints were the family's.
    (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "erase")).all()
    assert entry.details["phone"] == mask_phone(PHONE) and entry.details["reason"] == "asked at the office"
    assert entry.details["complaints"] == 1 and entry.details["households"] == 1
    assert entry.complaint_id is None and entry.user_id is None
    dumped = json.dumps(entry.details, ensure_ascii=False)
    assert "555123456" not in dumped and complaint.reference not in dumped


def test_a_later_sms_from_the_phone_starts_afresh(env: Settings, session: Session, ctx: Context) -> None:
    complaint = family(session, ctx, WHEN)
    assert runner.invoke(app, ["erase", "--phone", PHONE, "--yes"]).exit_code == 0
    reply = converse(session, ctx, f"СТАТУС {complaint.reference}", PHONE, WHEN)
    assert reply == converse(session, ctx, "СТАТУС 12345678", NEIGHBOUR, WHEN)  # "not found", as for anyone
    reply = converse(session, ctx, "ЖАЛОБА пособие не платят", PHONE, WHEN)
    assert reply[0].startswith("Где это было?")  # the remembered place went with the number


def test_erase_asks_first_and_no_keeps_everything(env: Settings, session: Session, ctx: Context) -> None:
    family(session, ctx, WHEN)
    result = runner.invoke(app, ["erase", "--phone", PHONE], input="n\n")
    assert result.exit_code == 1
    assert "The hotline holds for +996 55• ••• •56" in result.stdout
    assert "household enrolled for reminders" in result.stdout and "Nothing erased." in result.stdout
    assert contact_of(session, ctx) is not None
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "erase")).all() == []
    result = runner.invoke(app, ["erase", "--phone", PHONE], input="y\n")
    assert result.exit_code == 0, result.output
    assert contact_of(session, ctx) is None


def test_erase_of_an_unknown_phone_says_so(env: Settings, session: Session) -> None:
    result = runner.invoke(app, ["erase", "--phone", "+996 700 999 888", "--yes"])
    assert result.exit_code == 1
    assert "no data for +996 70• ••• •88: nothing erased" in result.stderr
    assert session.exec(select(AuditEntry)).all() == []


def test_erase_of_something_that_is_not_a_phone(env: Settings) -> None:
    for bad in ("hello", "", "+1"):
        result = runner.invoke(app, ["erase", "--phone", bad, "--yes"])
        assert result.exit_code == 2, bad
        assert "is not a phone number" in result.stderr and "Traceback" not in result.output
    assert runner.invoke(app, ["erase"]).exit_code == 2  # --phone is required


def test_erasing_a_volunteer_drops_the_registration(env: Settings, session: Session, ctx: Context) -> None:
    family(session, ctx, WHEN)
    result = runner.invoke(app, ["erase", "--phone", VOLUNTEER, "--yes"])
    assert result.exit_code == 0, result.output
    assert "health-volunteer registration" in result.stdout
    assert session.exec(select(Volunteer)).all() == []
    # Its alert about the family keeps no text and no number; the family's own data is untouched.
    (alert,) = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.ALERT)).all()
    assert alert.body == "" and alert.recipient_encrypted == "" and alert.contact_id is None
    assert contact_of(session, ctx) is not None


def test_keys_rotate_after_an_erasure(env: Settings, session: Session, ctx: Context, engine: Engine) -> None:
    family(session, ctx, WHEN)
    assert runner.invoke(app, ["erase", "--phone", PHONE, "--yes"]).exit_code == 0
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0, result.output


def test_officers_see_the_erasure_on_the_complaint_and_in_the_audit_log(
    env: Settings, session: Session, ctx: Context
) -> None:
    complaint = family(session, ctx, WHEN)
    # An erasure names no area (not even which complaints were the family's): the oblast's supervisors read it.
    make_staff(session, "oblast.super", Role.SUPERVISOR, Jurisdiction.OBLAST, "batken")
    assert runner.invoke(app, ["erase", "--phone", PHONE, "--yes", "--reason", "request by letter"]).exit_code == 0
    with TestClient(create_app(env), base_url="https://hotline.example.org") as supervisor:
        log_in(supervisor, "oblast.super")
        page = supervisor.get(f"/admin/complaints/{complaint.id}").text
        assert '<dd id="phone">number removed</dd>' in page, "masked"
        assert "phone was removed" in page
        assert "аким просил 2000 сом за справку" in page
        audit_page = supervisor.get("/admin/audit?action=erase").text
        assert "+996 55• ••• •56" in audit_page and "request by letter" in audit_page
        exported = supervisor.get("/admin/audit.csv?action=erase").text
        assert "erase" in exported and "555123456" not in exported + audit_page
