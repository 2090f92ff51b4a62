"""Who may see which complaint: an area (municipality, district, oblast) and a level, nothing else."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from hotline.models import Complaint, Jurisdiction, Role, StaffUser
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


def municipality_in_area(user: StaffUser, column: Mapped[str | None]) -> ColumnElement[bool]:
    """SQL condition: a municipality-code column lies in the user's area (an unknown place is the oblast's)."""
    if user.level == Jurisdiction.OBLAST:
        codes = [p.code for p in get_gazetteer().places.values() if p.oblast == user.area_code]
        return sa.or_(column.in_(codes), column.is_(None))
    if user.level == Jurisdiction.DISTRICT:
        return column.in_([m.code for m in get_gazetteer().municipalities.get(user.area_code, [])])
    return column == user.area_code
