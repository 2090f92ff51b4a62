"""Health alerts for health staff: families who texted DANGER or a danger sign, in their area, to call back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.models import Contact, HealthAlert, InboundMessage, StaffUser
from hotline.staff.access import municipality_in_area
from hotline.staff.audit import audit

PER_PAGE = 100


@dataclass(frozen=True)
class AlertRow:
    """One alert as the page shows it."""

    alert: HealthAlert
    phone: str
    text: str
    language: str


def alerts_for(session: Session, ctx: Context, user: StaffUser, *, open_only: bool, now: datetime) -> list[AlertRow]:
    """The area's alerts, newest first, with the number to call back; looking at them is audited."""
    query = select(HealthAlert, Contact, InboundMessage).join(Contact, col(Contact.id) == col(HealthAlert.contact_id))
    query = query.outerjoin(InboundMessage, col(InboundMessage.id) == col(HealthAlert.message_id))
    query = query.where(municipality_in_area(user, col(HealthAlert.municipality_code)))
    if open_only:
        query = query.where(col(HealthAlert.handled_at).is_(None))
    rows = session.exec(query.order_by(col(HealthAlert.id).desc()).limit(PER_PAGE)).all()
    audit(session, user, "view_health_alerts", now, count=len(rows))
    return [
        AlertRow(alert, ctx.vault.decrypt(contact.phone_encrypted), message.body if message else "", contact.language)
        for alert, contact, message in rows
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
