"""Households and their enrolments: the dates families and staff give, checked, and enrolment itself (the daily
planner is planner.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlmodel import Session, select

from hotline.models import (
    Contact,
    Enrolment,
    EnrolmentKind,
    Household,
)
from hotline.reminders.schedule import PREGNANCY_DAYS

MAX_PREGNANCY_MONTH = 10
MAX_CHILD_AGE = relativedelta(years=5)


class EnrolmentError(ValueError):
    """An enrolment that cannot be made as asked; `reason` names the template that explains it to the family."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def due_date_from_month(month: int, today: date) -> date:
    """Estimated due date from the month of pregnancy a woman gives (the middle of that month)."""
    if not 1 <= month <= 9:
        raise EnrolmentError("month_out_of_range")
    weeks_pregnant = round((month - 0.5) * 30.4 / 7)
    return today + timedelta(days=PREGNANCY_DAYS - 7 * weeks_pregnant)


def check_due_date(due: date, today: date) -> None:
    """A due date must lie in the next ten months (or be at most four weeks past)."""
    if due > today + relativedelta(months=MAX_PREGNANCY_MONTH):
        raise EnrolmentError("due_too_far")
    if due < today - timedelta(weeks=4):
        raise EnrolmentError("due_past")


def check_birth_date(born: date, today: date) -> None:
    """A birth date must not be in the future, and the child must be under five."""
    if born > today:
        raise EnrolmentError("birth_in_future")
    if born <= today - MAX_CHILD_AGE:
        raise EnrolmentError("child_too_old")


def example_birth_date(today: date) -> date:
    """The date a text gives as an example of a birth date: a past day, taken from the clock so it stays one."""
    return today - timedelta(days=2)


def join_examples(today: date) -> dict[str, date]:
    """JOIN's examples, from the clock so they stay true: a child's birth about a year and a half ago (under five),
    and a due date about four months ahead (within the nine months a due date may be)."""
    return {"child_example": today - timedelta(days=540), "due_example": today + timedelta(days=120)}


def household_of(
    session: Session, contact: Contact, now: datetime, channel: str, municipality: str | None = None
) -> Household:
    """The contact's household, created with consent recorded now (the caller has asked for consent)."""
    household = session.exec(select(Household).where(Household.contact_id == contact.id)).first()
    if household is None:
        household = Household(
            contact_id=contact.id or 0,
            municipality_code=municipality or contact.municipality_code,
            consent_at=now,
            consent_channel=channel,
            created_at=now,
        )
        session.add(household)
        session.flush()
    return household


def enrol(
    session: Session,
    household: Household,
    kind: EnrolmentKind,
    now: datetime,
    today: date,
    *,
    due_date: date | None = None,
    birth_date: date | None = None,
) -> Enrolment:
    """Add a pregnancy or a child to a household; the same one twice is not added again."""
    if kind == EnrolmentKind.PREGNANCY:
        if due_date is None:
            raise EnrolmentError("due_missing")
        check_due_date(due_date, today)
        same = Enrolment.due_date == due_date
    else:
        if birth_date is None:
            raise EnrolmentError("birth_missing")
        check_birth_date(birth_date, today)
        same = Enrolment.birth_date == birth_date
    existing = session.exec(
        select(Enrolment).where(Enrolment.household_id == household.id, Enrolment.kind == kind, same)
    ).first()
    if existing is not None:
        return existing
    enrolment = Enrolment(
        household_id=household.id or 0,
        kind=kind,
        due_date=due_date,
        birth_date=birth_date,
        created_at=now,
        updated_at=now,
    )
    session.add(enrolment)
    session.flush()
    return enrolment
