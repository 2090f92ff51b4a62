"""Who may see what: a complaint, an audit row, a household or an alert by the staff member's area (municipality,
district, oblast) and level, nothing else (docs/ADMIN.md, "Who can do what")."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from hotline.models import AuditEntry, Complaint, Jurisdiction, Role, StaffUser
from hotline.places import get_gazetteer


class Forbidden(Exception):
    """The user may not see or do this (the attempt is audited); shown as the 403 page."""


RANK = {Jurisdiction.MUNICIPALITY: 0, Jurisdiction.DISTRICT: 1, Jurisdiction.OBLAST: 2}
CASEWORK_ROLES = frozenset({Role.OFFICER, Role.SUPERVISOR})


def _levels_up_to(level: Jurisdiction) -> list[str]:
    return [j.value for j, rank in RANK.items() if rank <= RANK[level]]


def visible_clause(user: StaffUser) -> ColumnElement[bool]:
    """SQL condition for the complaints a user may see.

    A complaint is seen by staff of its area at its own level and above: one routed or escalated to the district
    is never shown to the municipality's officers (who may be the accused)."""
    if user.role not in CASEWORK_ROLES:
        return sa.false()
    level = Jurisdiction(user.level)
    area = {
        Jurisdiction.MUNICIPALITY: col(Complaint.municipality_code),
        Jurisdiction.DISTRICT: col(Complaint.district_code),
        Jurisdiction.OBLAST: col(Complaint.oblast_code),
    }[level]
    if level == Jurisdiction.OBLAST:
        return area == user.area_code
    return sa.and_(area == user.area_code, col(Complaint.jurisdiction).in_(_levels_up_to(level)))


def can_see(user: StaffUser, complaint: Complaint) -> bool:
    """The same rule as visible_clause, for one loaded complaint."""
    if user.role not in CASEWORK_ROLES:
        return False
    level = Jurisdiction(user.level)
    area = {
        Jurisdiction.MUNICIPALITY: complaint.municipality_code,
        Jurisdiction.DISTRICT: complaint.district_code,
        Jurisdiction.OBLAST: complaint.oblast_code,
    }[level]
    return area == user.area_code and RANK[Jurisdiction(complaint.jurisdiction)] <= RANK[level]


def is_supervisor(user: StaffUser) -> bool:
    """Supervisors reveal identities, reassign, escalate, close and reopen."""
    return user.role == Role.SUPERVISOR


def _places_under(user: StaffUser) -> list[str]:
    """The codes of the places inside the user's area (for a district: its municipalities)."""
    if user.level == Jurisdiction.OBLAST:
        return [p.code for p in get_gazetteer().places.values() if p.oblast == user.area_code]
    if user.level == Jurisdiction.DISTRICT:
        return [m.code for m in get_gazetteer().municipalities.get(user.area_code, [])]
    return []


def municipality_in_area(user: StaffUser, column: Mapped[str | None]) -> ColumnElement[bool]:
    """SQL condition: a municipality-code column lies in the user's area (an unknown place is the oblast's; a rayon
    without its village, the rayon's)."""
    if user.level == Jurisdiction.OBLAST:
        return sa.or_(column.in_(_places_under(user)), column.is_(None))
    if user.level == Jurisdiction.DISTRICT:
        return column.in_([user.area_code, *_places_under(user)])
    return column == user.area_code


def place_in_area(user: StaffUser, code: str | None) -> bool:
    """The same rule as municipality_in_area, for one municipality code."""
    if user.level == Jurisdiction.OBLAST:
        return code is None or code in _places_under(user)
    if user.level == Jurisdiction.DISTRICT:
        return code in (user.area_code, *_places_under(user))
    return code == user.area_code


def staff_in_area(user: StaffUser) -> ColumnElement[bool]:
    """SQL condition on StaffUser: accounts whose area is the user's own or lies inside it."""
    return col(StaffUser.area_code).in_([user.area_code, *_places_under(user)])


def audit_visible_clause(user: StaffUser) -> ColumnElement[bool]:
    """SQL condition for the audit rows a user may read (the audit page and its CSV; only supervisors read them).

    A row is the area's when it is about a complaint the user may see (visible_clause: so a complaint routed above
    a district is not the district's), or when its actor is staff of the area (an account of the user's area or of
    a place inside it). Rows about nobody and no complaint (throttled logins, erasures) belong to the oblast. A
    reveal's reason is therefore read by the supervisors of the complaint's area and of the revealer's area, no
    one else."""
    if not is_supervisor(user):
        return sa.false()
    about_visible = col(AuditEntry.complaint_id).in_(sa.select(col(Complaint.id)).where(visible_clause(user)))
    by_area_staff = col(AuditEntry.user_id).in_(sa.select(col(StaffUser.id)).where(staff_in_area(user)))
    if user.level != Jurisdiction.OBLAST:
        return sa.or_(about_visible, by_area_staff)
    nobodys = sa.and_(col(AuditEntry.user_id).is_(None), col(AuditEntry.complaint_id).is_(None))
    return sa.or_(about_visible, by_area_staff, nobodys)
