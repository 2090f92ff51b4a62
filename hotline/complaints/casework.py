"""The complaint page: what an officer sees of one complaint, and every change they make to it, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select, update

from hotline.complaints.closing import tell_outcome
from hotline.complaints.escalation import escalate, supervisors_of
from hotline.complaints.service import (
    DECIDED_STATUSES,
    InvalidTransition,
    above_the_accused,
    add_answer,
    change_status,
    correct_category,
    events_of,
    masked_phone,
    record_event,
)
from hotline.content import Rendered, TextTooLong
from hotline.context import Context
from hotline.models import (
    Actor,
    AuditEntry,
    Complaint,
    ComplaintAnswer,
    ComplaintEvent,
    ComplaintStatus,
    Contact,
    InboundMessage,
    Jurisdiction,
    Notification,
    OutboundMessage,
    OutboundStatus,
    StaffUser,
)
from hotline.places import get_gazetteer
from hotline.staff.access import RANK, Forbidden, can_see, is_supervisor, visible_clause
from hotline.staff.audit import audit
from hotline.staff.i18n import Explained
from hotline.staff.narrate import Narrator, ids_in, staff_names

MAX_NOTE_CHARS = 2000
MIN_REVEAL_REASON_CHARS = 10
MAX_REASON_CHARS = 500
CANNED_DIR = "complaints/canned"


class NotFound(Exception):
    """No such complaint."""


class Refused(Explained):
    """A change that cannot be made as asked (the officer reads why, in the interface language)."""


@dataclass(frozen=True)
class ThreadItem:
    """One message of the conversation with the family, in order."""

    at: datetime
    incoming: bool
    text: str
    status: str  # delivery status of an answer; "" for what the family sent


@dataclass(frozen=True)
class HistoryItem:
    """One line of the complaint's history, told in the reader's language."""

    at: datetime
    kind: str
    text: str
    note: str  # an internal note's own text, shown below its line


@dataclass(frozen=True)
class ComplaintView:
    """Everything the complaint page shows."""

    complaint: Complaint
    thread: list[ThreadItem]
    events: list[ComplaintEvent]
    history: list[HistoryItem]
    routed_reason: str  # why it was moved up, in the reader's language
    masked_phone: str
    assignee: StaffUser | None
    staff: list[StaffUser]  # who it may be assigned to
    canned: dict[str, str]
    names: dict[int, str]
    districts: list[str]  # the districts whose municipalities the user may move it to
    above_accused: Jurisdiction | None  # where "accuses municipal staff" would move it; None when it is there


def open_complaint(session: Session, user: StaffUser, complaint_id: int, now: datetime, action: str) -> Complaint:
    """A complaint the user may see; Forbidden (and audited) otherwise. Callers commit the audit row."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound
    if not can_see(user, complaint):
        audit(session, user, "denied", now, complaint, attempted=action)
        raise Forbidden
    return complaint


class NoRecording(Exception):
    """The complaint came by SMS: there is nothing to listen to."""


def read_complaint(session: Session, user: StaffUser, complaint_id: int, now: datetime, tz: ZoneInfo) -> Complaint:
    """Open a complaint to read it, audited: one `view` row per person, complaint and local day (every page after a
    change is an opening too, and the changes have rows of their own); a refused opening always has one."""
    complaint = open_complaint(session, user, complaint_id, now, "view")
    day_start = datetime.combine(now.astimezone(tz).date(), time(), tz)
    seen_today = session.exec(
        select(AuditEntry.id).where(
            AuditEntry.user_id == user.id,
            AuditEntry.complaint_id == complaint.id,
            AuditEntry.action == "view",
            col(AuditEntry.at) >= day_start,
        )
    ).first()
    if seen_today is None:
        audit(session, user, "view", now, complaint)
    return complaint


def recording_of(session: Session, user: StaffUser, complaint_id: int, now: datetime) -> str:
    """The recording SID of a complaint an officer may hear; each listening is audited."""
    complaint = open_complaint(session, user, complaint_id, now, "listen")
    if not complaint.recording_sid:
        raise NoRecording
    audit(session, user, "listen", now, complaint)
    return complaint.recording_sid


def _require_supervisor(session: Session, user: StaffUser, complaint: Complaint, action: str, now: datetime) -> None:
    if not is_supervisor(user):
        audit(session, user, "denied", now, complaint, attempted=action)
        raise Forbidden


def canned_answers(ctx: Context, language: str) -> dict[str, str]:
    """The canned answers in the family's language, by name."""
    names = [n for n in ctx.texts.names(language) if n.startswith(f"{CANNED_DIR}/")]
    return {n.removeprefix(f"{CANNED_DIR}/"): ctx.texts.render(n, language).text for n in names}


def complaint_view(session: Session, ctx: Context, user: StaffUser, complaint: Complaint) -> ComplaintView:
    """The complaint with its conversation, trail and the choices the page offers."""
    thread = [
        ThreadItem(m.received_at, True, m.body, "")
        for m in session.exec(
            select(InboundMessage).where(InboundMessage.complaint_id == complaint.id).order_by(col(InboundMessage.id))
        )
        if m.body
    ]
    if not thread:  # anonymous complaints keep no message rows: the complaint text is what the family sent
        thread = [ThreadItem(complaint.created_at, True, complaint.text, "")]
    answers = session.exec(
        select(ComplaintAnswer).where(ComplaintAnswer.complaint_id == complaint.id).order_by(col(ComplaintAnswer.id))
    ).all()
    keys = {f"complaint:{complaint.id}:answer:{a.id}": a for a in answers}
    outbox = {
        m.idempotency_key: m
        for m in session.exec(select(OutboundMessage).where(col(OutboundMessage.idempotency_key).in_(list(keys))))
    }
    for key, answer in keys.items():
        message = outbox.get(key)
        status = _delivery(message) if message else ("waiting_status" if complaint.anonymous else "")
        thread.append(ThreadItem(answer.created_at, False, answer.text, str(status)))
    thread.sort(key=lambda item: item.at)
    staff = [
        u
        for u in session.exec(select(StaffUser).where(col(StaffUser.active).is_(True)).order_by(StaffUser.username))
        if can_see(u, complaint)
    ]
    events = events_of(session, complaint)
    ids = {e.actor_id for e in events} | {a.officer_id for a in answers} | ids_in(e.details for e in events)
    names = staff_names(session, ids)
    narrator = Narrator(user.ui_language, names)
    history = [
        HistoryItem(
            e.at,
            e.kind,
            narrator.event(e.kind, e.actor, e.actor_id, e.details),
            str(e.details.get("text", "")) if e.kind == "note" else "",
        )
        for e in events
    ]
    return ComplaintView(
        complaint=complaint,
        thread=thread,
        events=events,
        history=history,
        routed_reason=narrator.value("routed", "reason", complaint.routed_reason),
        masked_phone=masked_phone(session, ctx, complaint),
        assignee=session.get(StaffUser, complaint.assignee_id) if complaint.assignee_id else None,
        staff=staff,
        canned=canned_answers(ctx, complaint.language),
        names=names,
        districts=movable_districts(user),
        above_accused=None if _above_already(complaint) else above_the_accused(complaint.municipality_code is not None),
    )


# Why the outbox cancelled a message: the family's STOP (ours, or Twilio's 21610), as outbox.py and dispatcher.py write.
STOPPED_PREFIX = "recipient opted out"


def _delivery(message: OutboundMessage) -> str:
    # An answer cancelled because the family sent STOP says so, not just "cancelled".
    stopped = message.status == OutboundStatus.CANCELLED and (message.last_error or "").startswith(STOPPED_PREFIX)
    return "stopped" if stopped else str(message.status)


def set_status(
    session: Session,
    user: StaffUser,
    complaint: Complaint,
    new: str,
    now: datetime,
    *,
    by_answer: bool = False,
    ctx: Context | None = None,
) -> None:
    """Move the complaint along its workflow; closing and reopening are a supervisor's. Given the context, a
    decision (resolved, rejected) is told to a named family (closing.tell_outcome)."""
    try:
        target = ComplaintStatus(new)
    except ValueError as exc:
        raise Refused("unknown_status", status=new) from exc
    current = ComplaintStatus(complaint.status)
    if target == ComplaintStatus.CLOSED or (current in DECIDED_STATUSES and target not in DECIDED_STATUSES):
        _require_supervisor(session, user, complaint, f"status:{target.value}", now)
    try:
        change_status(session, complaint, target, actor=Actor.OFFICER, actor_id=user.id, now=now)
    except InvalidTransition as exc:
        raise Refused("transition", old=current.value, new=target.value) from exc
    if target in DECIDED_STATUSES:
        complaint.due_at = None
        complaint.decided_at = complaint.decided_at or now
    else:  # reopened, or still open: the deadline that matters now
        complaint.decided_at = None
        complaint.due_at = complaint.resolution_due if complaint.first_answered_at else complaint.first_answer_due
    extra = {"by_answer": True} if by_answer else {}
    audit(session, user, "status", now, complaint, old=current.value, new=target.value, **extra)
    if ctx is not None:
        tell_outcome(session, ctx, complaint, now)


def set_category(session: Session, user: StaffUser, complaint: Complaint, category: str, now: datetime) -> None:
    """Correct the guessed category (recorded in the trail and the audit log); a bribe leaves the municipality."""
    old = complaint.category
    try:
        corrected = correct_category(session, complaint, category, officer_id=user.id, now=now)
    except ValueError as exc:
        raise Refused("category", category=category) from exc
    routed = corrected.route_to != Jurisdiction.MUNICIPALITY and route_above_accused(
        session, user, complaint, f"category {category}", now
    )
    audit(session, user, "category", now, complaint, old=old, new=category, routed=routed)


def mark_accuses_staff(session: Session, user: StaffUser, complaint: Complaint, now: datetime) -> None:
    """An officer's finding that the complaint accuses municipal staff: it leaves the municipality at once."""
    if not route_above_accused(session, user, complaint, "accuses municipal staff", now):
        raise Refused("already_above")
    audit(session, user, "accuses_staff", now, complaint, to=complaint.jurisdiction)


def _above_already(complaint: Complaint) -> bool:
    target = above_the_accused(complaint.municipality_code is not None)
    return RANK[Jurisdiction(complaint.jurisdiction)] >= RANK[target]


def route_above_accused(session: Session, user: StaffUser, complaint: Complaint, reason: str, now: datetime) -> bool:
    """Move a complaint above the office it accuses, at once: a municipality's to the district, a town-district's
    to the oblast (as routing does for a new complaint). Its assignee below that level loses it, the supervisors
    who now see it are told. Never moves a complaint down; False when it is already there."""
    if _above_already(complaint):
        return False
    old = Jurisdiction(complaint.jurisdiction)
    target = above_the_accused(complaint.municipality_code is not None)
    complaint.jurisdiction, complaint.routed_reason, complaint.updated_at = target, reason, now
    session.add(complaint)
    details = {"old": old.value, "to": target.value, "reason": reason}
    record_event(session, complaint, "routed", Actor.OFFICER, now, actor_id=user.id, **details)
    assignee = session.get(StaffUser, complaint.assignee_id) if complaint.assignee_id else None
    if assignee is not None and not can_see(assignee, complaint):
        complaint.assignee_id = None  # the accused level's officer must not keep working on it
        record_event(session, complaint, "unassigned", Actor.SYSTEM, now, reason="routed")
    details = {"reference": complaint.reference, "reason": reason, "to": target.value}
    for supervisor in supervisors_of(session, complaint):
        session.add(
            Notification(
                user_id=supervisor.id or 0, complaint_id=complaint.id, kind="routed", details=details, created_at=now
            )
        )
    return True


def movable_districts(user: StaffUser) -> list[str]:
    """The districts whose municipalities a user may move a complaint to: only where the user's own supervisors
    still see it. Municipal and district staff stay within their district; oblast staff choose in the oblast."""
    gazetteer = get_gazetteer()
    if user.level == Jurisdiction.OBLAST:
        return [d.code for d in gazetteer.districts if d.oblast == user.area_code]
    own = gazetteer.get(user.area_code)
    return [own.district_code] if own is not None else []


def set_municipality(session: Session, user: StaffUser, complaint: Complaint, code: str, now: datetime) -> None:
    """Correct where the complaint happened, within the district the user's supervisors watch (the oblast for
    oblast staff): nobody moves a complaint out of their own supervisors' sight. Recorded; the level never drops."""
    place = get_gazetteer().get(code)
    if place is None or place.district is None or place.oblast != complaint.oblast_code:
        raise Refused("municipality", code=code)
    if place.district_code not in movable_districts(user):
        audit(session, user, "denied", now, complaint, attempted="municipality", to=code)
        raise Forbidden
    old = complaint.municipality_code
    complaint.municipality_code, complaint.district_code, complaint.updated_at = place.code, place.district_code, now
    session.add(complaint)
    record_event(session, complaint, "municipality_changed", Actor.OFFICER, now, actor_id=user.id, old=old, new=code)
    audit(session, user, "municipality", now, complaint, old=old, new=code)


def assign(session: Session, user: StaffUser, complaint: Complaint, assignee_id: int | None, now: datetime) -> None:
    """Officers take an unassigned complaint for themselves; supervisors (re)assign to anyone who may see it."""
    if not is_supervisor(user) and not (assignee_id == user.id and complaint.assignee_id is None):
        audit(session, user, "denied", now, complaint, attempted="assign")
        raise Forbidden
    assignee = session.get(StaffUser, assignee_id) if assignee_id else None
    if assignee_id and (assignee is None or not assignee.active or not can_see(assignee, complaint)):
        raise Refused("assignee")
    old = complaint.assignee_id
    complaint.assignee_id, complaint.updated_at = assignee_id, now
    session.add(complaint)
    record_event(session, complaint, "assigned", Actor.OFFICER, now, actor_id=user.id, old=old, new=assignee_id)
    audit(session, user, "assign", now, complaint, old=old, new=assignee_id)


def add_note(session: Session, user: StaffUser, complaint: Complaint, text: str, now: datetime) -> None:
    """An internal note (never sent to the family)."""
    text = text.strip()
    if not text:
        raise Refused("note_empty")
    if len(text) > MAX_NOTE_CHARS:
        raise Refused("note_long", max=MAX_NOTE_CHARS, chars=len(text))
    record_event(session, complaint, "note", Actor.OFFICER, now, actor_id=user.id, text=text)
    audit(session, user, "note", now, complaint, chars=len(text))


def preview_answer(ctx: Context, complaint: Complaint, text: str) -> Rendered:
    """The SMS the family would get for this answer, and its cost (TextTooLong past the budget)."""
    return ctx.texts.render("complaints/update", complaint.language, reference=complaint.reference, text=text.strip())


def answer(session: Session, ctx: Context, user: StaffUser, complaint: Complaint, text: str, now: datetime) -> bool:
    """Send the family an answer through the outbox; the first one meets the first-answer deadline, and a new
    complaint is in progress from then on (audited as a status change). False when the family's STOP keeps the
    SMS from going (the answer is kept, and shown on STATUS from another phone with the PIN)."""
    text = " ".join(text.split())
    if not text:
        raise Refused("answer_empty")
    if ComplaintStatus(complaint.status) == ComplaintStatus.CLOSED:
        raise Refused("closed")
    try:
        preview_answer(ctx, complaint, text)
        stored = add_answer(session, ctx, complaint, text, now, officer_id=user.id)
    except TextTooLong as exc:
        raise Refused("answer_long", segments=exc.segments, max=exc.budget) from exc
    if complaint.first_answered_at is None:
        complaint.first_answered_at = now
        if ComplaintStatus(complaint.status) not in DECIDED_STATUSES:
            complaint.due_at = complaint.resolution_due
        session.add(complaint)
    audit(session, user, "answer", now, complaint, chars=len(text))
    if ComplaintStatus(complaint.status) == ComplaintStatus.NEW:
        # One click less: answering a new complaint is working on it; the officer need not save the status too.
        set_status(session, user, complaint, ComplaintStatus.INVESTIGATING, now, by_answer=True)
    key = f"complaint:{complaint.id}:answer:{stored.id}"
    message = session.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).first()
    return message is None or _delivery(message) != "stopped"


def reveal(session: Session, user: StaffUser, complaint: Complaint, reason: str, now: datetime) -> AuditEntry:
    """Let a supervisor who writes why see the complainant's full number, once: recorded in the trail and the audit
    log, whose row the next page shows the number for (revealed_number)."""
    _require_supervisor(session, user, complaint, "reveal", now)
    reason = " ".join(reason.split())
    if len(reason) < MIN_REVEAL_REASON_CHARS:
        raise Refused("reason_short", min=MIN_REVEAL_REASON_CHARS)
    if len(reason) > MAX_REASON_CHARS:
        raise Refused("reason_long", max=MAX_REASON_CHARS)
    contact = session.get(Contact, complaint.contact_id) if complaint.contact_id and not complaint.anonymous else None
    if contact is None:
        raise Refused("anonymous")
    record_event(session, complaint, "identity_revealed", Actor.OFFICER, now, actor_id=user.id, reason=reason)
    entry = audit(session, user, "reveal", now, complaint, reason=reason)
    session.flush()
    return entry


REVEAL_SHOWN_WITHIN = timedelta(minutes=2)


def revealed_number(
    session: Session, ctx: Context, user: StaffUser, complaint: Complaint, entry_id: int, now: datetime
) -> str | None:
    """The number a reveal was for, the first time the page after it asks (post-redirect-get): the reveal's audit
    row must be this user's, about this complaint, recent, and not shown yet; it then records when it was shown, so
    a reload, the back button or a copied cookie shows the masked number and writes no second reveal."""
    entry = session.get(AuditEntry, entry_id)
    if (
        entry is None
        or entry.action != "reveal"
        or entry.user_id != user.id
        or entry.complaint_id != complaint.id
        or "shown_at" in entry.details
        or not now - REVEAL_SHOWN_WITHIN <= entry.at <= now
    ):
        return None
    contact = session.get(Contact, complaint.contact_id) if complaint.contact_id and not complaint.anonymous else None
    if contact is None:  # erased in between
        return None
    entry.details = {**entry.details, "shown_at": now.isoformat(timespec="seconds")}
    session.add(entry)
    return ctx.vault.decrypt(contact.phone_encrypted)


def escalate_now(session: Session, ctx: Context, user: StaffUser, complaint: Complaint, now: datetime) -> None:
    """A supervisor's escalation by hand."""
    _require_supervisor(session, user, complaint, "escalate", now)
    if ComplaintStatus(complaint.status) in DECIDED_STATUSES:
        raise Refused("not_open")
    escalate(session, ctx, complaint, now, reason="by_supervisor", actor=Actor.OFFICER, actor_id=user.id)
    audit(session, user, "escalate", now, complaint)


def notifications_for(session: Session, user: StaffUser) -> list[Notification]:
    """Unread notifications, newest first; none about a complaint the user no longer sees (routed above them)."""
    about_visible = col(Notification.complaint_id).in_(select(col(Complaint.id)).where(visible_clause(user)))
    return list(
        session.exec(
            select(Notification)
            .where(
                Notification.user_id == user.id,
                col(Notification.read_at).is_(None),
                sa.or_(col(Notification.complaint_id).is_(None), about_visible),
            )
            .order_by(col(Notification.id).desc())
            .limit(20)
        )
    )


def mark_read(session: Session, user: StaffUser, now: datetime) -> None:
    """Dismiss all the user's notifications (not only the ones on the page)."""
    session.execute(
        update(Notification)
        .where(col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
        .values(read_at=now)
    )
