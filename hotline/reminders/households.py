"""What staff do to households on the admin pages: find one by its number, act on its enrolments, enrol by form or
file. Each only within the staff member's area (hotline.staff.access), each audited (the caller commits).

A household of another area is treated as if it did not exist: the look-up answers "not enrolled", an action on its
enrolment by id answers 404 like an id that names nothing, and enrolling its number answers as for a new number."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.dialogue.contacts import find_contact
from hotline.models import Enrolment, EnrolmentKind, EnrolmentStatus, Household, Jurisdiction, StaffUser
from hotline.phones import InvalidPhone, normalise_phone
from hotline.places import Place, get_gazetteer
from hotline.reminders.importer import ImportRejected, ImportResult, Problem, Row, StaffRequestError, write_rows
from hotline.staff.access import municipality_in_area, place_in_area
from hotline.staff.audit import audit

STAFF_ACTIONS = {
    "loss": EnrolmentStatus.LOSS,
    "pause": EnrolmentStatus.PAUSED,
    "resume": EnrolmentStatus.ACTIVE,
    "stop": EnrolmentStatus.STOPPED,
}


def household_by_phone(
    session: Session, ctx: Context, user: StaffUser, phone: str
) -> tuple[Household | None, list[Enrolment]]:
    """The household of a number a staff member typed, with its enrolments, if it lies in their area."""
    try:
        normalised = normalise_phone(phone)
    except InvalidPhone:
        return None, []
    contact = find_contact(session, ctx, normalised)
    if contact is None:
        return None, []
    household = session.exec(
        select(Household).where(
            Household.contact_id == contact.id, municipality_in_area(user, col(Household.municipality_code))
        )
    ).first()
    if household is None:
        return None, []
    enrolments = session.exec(
        select(Enrolment).where(Enrolment.household_id == household.id).order_by(col(Enrolment.id))
    )
    return household, list(enrolments)


def look_up_household(
    session: Session, ctx: Context, user: StaffUser, phone: str, now: datetime
) -> tuple[Household | None, list[Enrolment]]:
    """A household of the user's area found by a number they typed, audited (whether or not it was found)."""
    found = household_by_phone(session, ctx, user, phone)
    audit(session, user, "household_lookup", now, found=found[0] is not None)
    return found


def enrolment_in_area(
    session: Session, user: StaffUser, enrolment_id: int, attempted: str, now: datetime
) -> Enrolment | None:
    """An enrolment of a household of the user's area; None for one that does not exist or lies elsewhere (an
    attempt on another area's enrolment is audited as `denied`)."""
    found = session.exec(
        select(Enrolment, Household)
        .join(Household, col(Household.id) == col(Enrolment.household_id))
        .where(Enrolment.id == enrolment_id)
    ).first()
    if found is None:
        return None
    enrolment, household = found
    if not place_in_area(user, household.municipality_code):
        audit(session, user, "denied", now, attempted=f"enrolment_{attempted}"[:32], enrolment_id=enrolment_id)
        return None
    return enrolment


def staff_action(session: Session, enrolment: Enrolment, action: str, now: datetime) -> None:
    """A staff member records a loss, pauses, resumes or stops one enrolment (a loss only ends a pregnancy)."""
    status = STAFF_ACTIONS.get(action)
    if status is None:
        raise StaffRequestError("action", action=action)
    if status == EnrolmentStatus.LOSS and enrolment.kind != EnrolmentKind.PREGNANCY:
        raise StaffRequestError("loss_child")
    enrolment.status, enrolment.updated_at = status, now
    session.add(enrolment)


def act_on_enrolment(session: Session, user: StaffUser, enrolment: Enrolment, action: str, now: datetime) -> None:
    """A staff action on one enrolment found with enrolment_in_area (StaffRequestError if it cannot be done),
    audited."""
    staff_action(session, enrolment, action, now)
    audit(session, user, f"enrolment_{action}", now, enrolment_id=enrolment.id)


def enrol_places(user: StaffUser) -> list[tuple[Place, list[Place]]]:
    """The municipalities a staff member may enrol households into, by district (for the form)."""
    gazetteer = get_gazetteer()
    by_district = [
        (district, [m for m in gazetteer.municipalities[district.code] if place_in_area(user, m.code)])
        for district in gazetteer.districts
    ]
    return [(district, places) for district, places in by_district if places]


def rows_for_area(user: StaffUser, rows: list[Row]) -> list[Row]:
    """Checked rows placed in the staff member's area, or ImportRejected naming every row that is not.

    A row without a municipality goes to a municipal worker's own municipality; a district's staff must name one
    (a household without a place belongs to the oblast, out of their sight)."""
    placed: list[Row] = []
    problems: list[Problem] = []
    for row in rows:
        municipality = row.municipality
        if municipality is None and user.level == Jurisdiction.MUNICIPALITY:
            municipality = user.area_code
        if municipality is None and user.level == Jurisdiction.DISTRICT:
            problems.append(Problem("import_municipality_needed", line=row.line))
        elif not place_in_area(user, municipality):
            problems.append(Problem("import_outside_area", line=row.line, value=municipality, area=user.area_code))
        else:
            placed.append(replace(row, municipality=municipality))
    if problems:
        raise ImportRejected(problems)
    return placed


def import_by_staff(
    session: Session, ctx: Context, user: StaffUser, rows: list[Row], now: datetime, channel: str
) -> ImportResult:
    """Write rows placed by rows_for_area for a staff member (the upload or the one-household form), audited."""
    result = write_rows(session, ctx, rows, now, channel, in_area=lambda code: place_in_area(user, code))
    audit(
        session, user, "enrolment_import", now, rows=result.rows, channel=channel, new_enrolments=result.new_enrolments
    )
    return result
