"""The dashboard counts only what the viewer's area and level may see: an officer of the accused municipality learns
nothing of a bribe complaint routed above them, not even from the voice line's oblast-wide figures."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from hotline.context import Context
from hotline.models import CallDirection, Jurisdiction, Role, StaffUser, VoiceCall
from tests.staff_pages import log_in, make_complaint, make_staff

Web = Callable[[], TestClient]


def test_the_accused_municipality_sees_no_count_of_a_complaint_routed_above_it(
    web: Web, staff: dict[str, StaffUser], session: Session, ctx: Context
) -> None:
    bribe = make_complaint(session, ctx, "Аким взял взятку 1000 сом за справку", municipality="dara")
    assert bribe.jurisdiction == Jurisdiction.DISTRICT
    # The family also called: the voice line records calls without a place.
    session.add(
        VoiceCall(
            call_sid="CA" + secrets.token_hex(16),
            direction=CallDirection.INBOUND,
            menu_path=["main:complaint", "complaint:recorded"],
            duration_seconds=60,
        )
    )
    session.commit()
    make_staff(session, "dara.health", Role.HEALTH, Jurisdiction.MUNICIPALITY, "dara")
    for username in ("dara.officer", "dara.health"):
        dara = web()
        log_in(dara, username)
        page = dara.get("/admin/dashboard").text
        assert 'id="calls"' not in page and "complaint recorded" not in page, username
        assert "Dara: 1" not in page, username
    officer = web()
    log_in(officer, "dara.officer")
    assert '<dd id="total">0</dd>' in officer.get("/admin/dashboard").text
    # Above the municipality the figures are there.
    district = web()
    log_in(district, "batken.super")
    theirs = district.get("/admin/dashboard").text
    assert '<dd id="total">1</dd>' in theirs and "Dara: 1" in theirs
    assert '<dd id="calls">1</dd>' in theirs and "complaint recorded: 1" in theirs
