"""Village health volunteers (registered with importer.register_volunteer) are told by SMS of danger signs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.messaging.outbox import enqueue
from hotline.models import Contact, HealthAlert, Purpose, Volunteer
from hotline.places import get_gazetteer

ALERT_VALID = timedelta(hours=6)  # an alert that could not go out within hours is no longer useful


def notify(session: Session, ctx: Context, alert: HealthAlert, family: Contact, now: datetime) -> int:
    """SMS every active volunteer of the alert's municipality, with the family's number to call; how many."""
    if not alert.municipality_code:
        return 0
    volunteers = session.exec(
        select(Volunteer).where(Volunteer.municipality_code == alert.municipality_code, col(Volunteer.active))
    ).all()
    place = get_gazetteer().get(alert.municipality_code)
    sent = 0
    for volunteer in volunteers:
        contact = session.get(Contact, volunteer.contact_id)
        if contact is None or contact.id == family.id:
            continue
        text = ctx.texts.render(
            "reminders/volunteer_alert",
            contact.language,
            place=place.name(contact.language) if place else alert.municipality_code,
            phone=ctx.vault.decrypt(family.phone_encrypted),
            time=now.astimezone(ctx.tz).strftime("%H:%M"),
        ).text
        enqueue(
            session,
            ctx,
            contact=contact,
            text=text,
            purpose=Purpose.ALERT,
            key=f"health-alert:{alert.id}:volunteer:{volunteer.id}",
            expires_at=now + ALERT_VALID,
            now=now,
        )
        sent += 1
    return sent
