"""Health alerts for health staff: families who texted DANGER or a danger sign, in their area, to call back.

One alert a local day per phone, holding all its danger messages. It belongs to the family's village; without one, to
its rayon, and without that to the oblast, whose health staff are prompted to ask the family where it lives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.models import Contact, HealthAlert, Household, InboundMessage, StaffUser
from hotline.places import Place, find_in_text, get_gazetteer
from hotline.staff.access import municipality_in_area
from hotline.staff.audit import audit

PER_PAGE = 100


@dataclass(frozen=True)
class AlertRow:
    """One alert as the page shows it: every danger message of the day, and where the family lives if known."""

    alert: HealthAlert
    phone: str
    messages: list[InboundMessage]
    language: str
    place: Place | None
    ask_village: bool  # no village known: whoever calls asks it


def raise_alert(
    session: Session, ctx: Context, contact: Contact, message_id: int | None, text: str, now: datetime
) -> HealthAlert:
    """Record a danger message: added to the phone's alert of the local day (opened again if it was handled: the
    family wrote again), else a new alert. Its place is the household's or the phone's, else one the message names."""
    household = session.exec(select(Household).where(Household.contact_id == contact.id)).first()
    named = find_in_text(text)
    place = (
        (household.municipality_code if household else None)
        or contact.municipality_code
        or (named[0].code if len(named) == 1 else None)
    )
    day_start = datetime.combine(ctx.local_day(now), time(0), ctx.tz)
    alert = session.exec(
        select(HealthAlert)
        .where(HealthAlert.contact_id == contact.id, col(HealthAlert.created_at) >= day_start)
        .where(col(HealthAlert.created_at) < day_start + timedelta(days=1))
        .order_by(col(HealthAlert.id))
    ).first()
    if alert is None:
        alert = HealthAlert(contact_id=contact.id or 0, message_id=message_id, created_at=now)
    if message_id is not None and message_id not in alert.message_ids:
        alert.message_ids = [*alert.message_ids, message_id]  # a new list: a JSON column is saved when replaced
    if _more_precise(place, alert.municipality_code):
        alert.municipality_code = place
    alert.handled_at = alert.handled_by = None
    session.add(alert)
    session.flush()
    return alert


def _more_precise(new: str | None, old: str | None) -> bool:
    """A village inside the rayon known so far, or any place where none was known."""
    if new is None or new == old:
        return False
    known = get_gazetteer().get(old)
    return known is None or (known.district is None and get_gazetteer().places[new].district == known.code)


def needs_village(code: str | None) -> bool:
    """No village known: the oblast or a rayon with villages (a town without villages is the place itself)."""
    place = get_gazetteer().get(code)
    return place is None or (place.district is None and bool(get_gazetteer().municipalities.get(place.code)))


def _message_ids(alert: HealthAlert) -> list[int]:
    return alert.message_ids or ([alert.message_id] if alert.message_id is not None else [])


def alerts_for(session: Session, ctx: Context, user: StaffUser, *, open_only: bool, now: datetime) -> list[AlertRow]:
    """The area's alerts, newest first, with the number to call back; looking at them is audited."""
    query = select(HealthAlert, Contact).join(Contact, col(Contact.id) == col(HealthAlert.contact_id))
    query = query.where(municipality_in_area(user, col(HealthAlert.municipality_code)))
    if open_only:
        query = query.where(col(HealthAlert.handled_at).is_(None))
    rows = session.exec(query.order_by(col(HealthAlert.id).desc()).limit(PER_PAGE)).all()
    audit(session, user, "view_health_alerts", now, count=len(rows))
    wanted = {i for alert, _ in rows for i in _message_ids(alert)}
    found = session.exec(select(InboundMessage).where(col(InboundMessage.id).in_(wanted))).all() if wanted else []
    by_id = {message.id: message for message in found}
    gazetteer = get_gazetteer()
    return [
        AlertRow(
            alert,
            ctx.vault.decrypt(contact.phone_encrypted),
            [by_id[i] for i in _message_ids(alert) if i in by_id],
            contact.language,
            gazetteer.get(alert.municipality_code),
            needs_village(alert.municipality_code),
        )
        for alert, contact in rows
    ]


def mark_handled(session: Session, user: StaffUser, alert_id: int, now: datetime) -> bool:
    """Record that someone followed the alert up; False if it is not in the user's area."""
    alert = session.exec(
        select(HealthAlert).where(
            HealthAlert.id == alert_id, municipality_in_area(user, col(HealthAlert.municipality_code))
        )
    ).first()
    if alert is None:
        return False
    alert.handled_at, alert.handled_by = alert.handled_at or now, alert.handled_by or user.id
    session.add(alert)
    audit(session, user, "health_alert_handled", now, alert_id=alert_id)
    return True
