"""The daily retention job: what goes after how many days, what stays, and that running it again changes nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.complaints import service as complaints
from hotline.config import ConfigError, Settings, get_settings
from hotline.context import Context
from hotline.models import (
    Actor,
    Complaint,
    ComplaintAnswer,
    ComplaintEvent,
    ComplaintStatus,
    DeliveryReport,
    InboundMessage,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    RateEvent,
)
from hotline.privacy import jobs as retention
from hotline.privacy.jobs import enforce_retention
from tests.factories import PHONE, converse
from tests.privacy.builders import contact_of, deliver_everything, family
from tests.support import make_settings

WHEN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def decide(session: Session, ctx: Context, complaint: Complaint, at: datetime) -> None:
    """An officer answers (an SMS to the family), notes and resolves the complaint at `at` (the service path:
    no decided_at)."""
    complaint = session.get(Complaint, complaint.id)  # type: ignore[assignment]
    complaints.record_event(session, complaint, "note", Actor.OFFICER, at, actor_id=1, text="called the akim")
    complaints.add_answer(session, ctx, complaint, "Акимге эскертүү берилди", at, officer_id=1)
    for status in (ComplaintStatus.INVESTIGATING, ComplaintStatus.RESOLVED):
        complaints.change_status(session, complaint, status, actor=Actor.OFFICER, actor_id=1, now=at)
    session.commit()


def snapshot(session: Session) -> dict[str, list[Any]]:
    session.expire_all()
    tables: list[type[SQLModel]] = [InboundMessage, OutboundMessage, Complaint, ComplaintAnswer, ComplaintEvent]
    return {t.__name__: [_columns(r) for r in session.exec(select(t))] for t in tables}


def _columns(row: SQLModel) -> dict[str, Any]:
    return {name: value for name, value in vars(row).items() if not name.startswith("_")}


def test_message_bodies_are_kept_for_the_set_days_then_blanked(session: Session, ctx: Context) -> None:
    family(session, ctx, WHEN)
    deliver_everything(session)
    # The reminder still waits (a retry after an outage): it must keep what it needs to be sent.
    waiting = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.REMINDER)).one()
    waiting.status = OutboundStatus.PENDING
    session.commit()
    assert ctx.settings.message_retention_days == 90

    report = enforce_retention(session, ctx, WHEN + 89 * DAY)
    assert report.messages_in == report.messages_out == 0
    assert all(m.body for m in session.exec(select(InboundMessage)))

    report = enforce_retention(session, ctx, WHEN + 91 * DAY)
    session.expire_all()
    inbound = session.exec(select(InboundMessage)).all()
    assert report.messages_in == len(inbound) == 8
    assert all(m.body == "" and m.replies == [] for m in inbound)
    assert all(m.message_sid and m.received_at for m in inbound)  # still counted, still a repeat's answer
    outbound = session.exec(select(OutboundMessage)).all()
    sent = [m for m in outbound if m.status == OutboundStatus.DELIVERED]
    assert report.messages_out == len(sent) == 1  # the volunteer's alert, which held the family's number
    assert all(m.body == "" and m.recipient_encrypted == "" for m in sent)
    assert session.get(OutboundMessage, waiting.id).body != ""  # type: ignore[union-attr]
    # Complaints are governed by their own settings: the text is untouched.
    assert session.exec(select(Complaint)).one().text == "аким просил 2000 сом за справку"


def test_a_decided_complaint_loses_its_link_to_the_phone_after_the_set_days(session: Session, ctx: Context) -> None:
    complaint = family(session, ctx, WHEN)
    decide(session, ctx, complaint, WHEN + 10 * DAY)
    still_open = complaints.file_complaint(
        session, ctx, contact=contact_of(session, ctx), text="пособие не платят", anonymous=False, place=None, now=WHEN
    ).complaint
    session.commit()

    not_found = converse(session, ctx, "СТАТУС 12345678", PHONE, WHEN + 189 * DAY)
    assert enforce_retention(session, ctx, WHEN + 189 * DAY).identities == 0
    status = converse(session, ctx, f"СТАТУС {complaint.reference}", PHONE, WHEN + 189 * DAY)
    assert status != not_found and complaint.reference in status[0]

    report = enforce_retention(session, ctx, WHEN + 191 * DAY)
    assert report.identities == 1
    session.expire_all()
    kept = session.get(Complaint, complaint.id)
    assert kept is not None and kept.contact_id is None
    assert kept.text == "аким просил 2000 сом за справку" and kept.status == ComplaintStatus.RESOLVED
    assert session.exec(select(InboundMessage).where(InboundMessage.complaint_id == complaint.id)).all() == []
    update = session.exec(select(OutboundMessage).where(OutboundMessage.purpose == Purpose.COMPLAINT_UPDATE)).one()
    assert (update.contact_id, update.recipient_encrypted, update.body) == (None, "", "")
    assert "identity_removed" in [e.kind for e in complaints.events_of(session, kept)]
    # The family's STATUS no longer finds it: the same answer as for a reference that is not theirs.
    assert converse(session, ctx, f"СТАТУС {complaint.reference}", PHONE, WHEN + 191 * DAY) == not_found
    # An open complaint keeps its link however old it is.
    assert session.get(Complaint, still_open.id).contact_id is not None  # type: ignore[union-attr]
    assert enforce_retention(session, ctx, WHEN + 4000 * DAY).identities == 0


def test_an_old_decided_complaint_keeps_its_record_but_not_its_text(session: Session, ctx: Context) -> None:
    complaint = family(session, ctx, WHEN)
    decide(session, ctx, complaint, WHEN)
    assert enforce_retention(session, ctx, WHEN + 1824 * DAY).texts == 0
    assert session.get(Complaint, complaint.id).text  # type: ignore[union-attr]

    assert enforce_retention(session, ctx, WHEN + 1826 * DAY).texts == 1
    session.expire_all()
    kept = session.get(Complaint, complaint.id)
    assert kept is not None and kept.text == "" and kept.contact_id is None
    # What, where, when and how it was decided stay for statistics and audits.
    assert (kept.reference, kept.category, kept.municipality_code) == (complaint.reference, "bribe", "dara")
    assert kept.status == ComplaintStatus.RESOLVED and kept.created_at == WHEN
    assert [a.text for a in session.exec(select(ComplaintAnswer))] == [""]
    events = complaints.events_of(session, kept)
    (note,) = [e for e in events if e.kind == "note"]
    assert note.details == {"chars": len("called the akim"), "redacted": True}
    assert events[-1].kind == "text_removed"


def test_running_again_changes_nothing(session: Session, ctx: Context) -> None:
    complaint = family(session, ctx, WHEN)
    decide(session, ctx, complaint, WHEN)
    deliver_everything(session)
    later = WHEN + 2000 * DAY
    assert enforce_retention(session, ctx, later)
    before = snapshot(session)
    again = enforce_retention(session, ctx, later + DAY)
    assert not again, again
    assert snapshot(session) == before


def test_batches_reach_every_row(session: Session, ctx: Context) -> None:
    for n in range(7):
        converse(session, ctx, f"HELP {n}", PHONE, WHEN)
    assert retention.forget_inbound_bodies(session, WHEN + DAY, batch=3) == 7
    assert retention.forget_inbound_bodies(session, WHEN + DAY, batch=3) == 0


def test_rate_limit_rows_of_past_days_go_and_todays_still_count(session: Session, ctx: Context) -> None:
    today = ctx.local_day(WHEN)
    for day in (today - 5 * DAY, today - DAY, today):
        complaints.add_rate_event(session, "status_failure", "k" * 64, day)
    session.commit()
    assert enforce_retention(session, ctx, WHEN).rate_events == 1
    assert sorted(r.day for r in session.exec(select(RateEvent))) == [today - DAY, today]
    assert complaints.count_today(session, "status_failure", "k" * 64, today) == 1


def test_delivery_reports_that_never_found_their_message_go_with_old_bodies(session: Session, ctx: Context) -> None:
    old = WHEN - timedelta(days=ctx.settings.message_retention_days + 1)
    session.add(DeliveryReport(transport="kannel", reference="1", status="delivered", received_at=old))
    session.add(DeliveryReport(transport="twilio", reference="SM" + "a" * 32, status="sent", received_at=WHEN))
    session.commit()
    assert enforce_retention(session, ctx, WHEN).reports == 1
    assert [r.transport for r in session.exec(select(DeliveryReport))] == ["twilio"]


def test_two_scheduler_processes_at_once_do_each_row_once(session: Session, ctx: Context, engine: Engine) -> None:
    complaint = family(session, ctx, WHEN)
    decide(session, ctx, complaint, WHEN)
    for n in range(30):
        converse(session, ctx, f"HELP {n}", f"+99655500{n:04d}", WHEN)
    reports: list[retention.RetentionReport] = []
    start = threading.Barrier(2)

    def run() -> None:
        with Session(engine) as own:
            start.wait()
            reports.append(enforce_retention(own, ctx, WHEN + 2000 * DAY))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.messages_in for r in reports) == len(session.exec(select(InboundMessage)).all()) == 38
    assert sum(r.identities for r in reports) == 1 and sum(r.texts for r in reports) == 1
    kinds = [e.kind for e in complaints.events_of(session, complaint)]
    assert kinds.count("identity_removed") == 1 and kinds.count("text_removed") == 1


@pytest.mark.parametrize("name", ["MESSAGE_RETENTION_DAYS", "COMPLAINANT_IDENTITY_DAYS", "COMPLAINT_TEXT_DAYS"])
@pytest.mark.parametrize("value", ["0", "-5", "", "ninety"])
def test_zero_or_nonsense_days_are_refused_naming_the_variable(
    env: Settings, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"HOTLINE_{name}", value)
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match=f"HOTLINE_{name}"):
        get_settings()
    result = CliRunner().invoke(app, ["erase", "--phone", PHONE, "--yes"])
    assert result.exit_code == 2 and f"HOTLINE_{name}" in result.stderr and "Traceback" not in result.output


def test_defaults_and_the_order_of_identity_and_text(settings: Settings, tmp_path: Any) -> None:
    assert (settings.message_retention_days, settings.complainant_identity_days, settings.complaint_text_days) == (
        90,
        180,
        1825,
    )
    with pytest.raises(ValueError, match="HOTLINE_COMPLAINT_TEXT_DAYS must not be shorter"):
        make_settings(settings.database_url, tmp_path, complainant_identity_days=400, complaint_text_days=300)
