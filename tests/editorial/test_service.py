"""Staff change texts and programme rules (#21 point 1): each bad change refused with a clear message and nothing
saved; a figure waits for a second person; wording takes effect on its day; every change audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from hotline.context import Context
from hotline.editorial import service
from hotline.editorial.service import ContentRefused
from hotline.models import AuditEntry, ContentRevision, Jurisdiction, RevisionStatus, Role, StaffUser
from tests.factories import converse
from tests.staff_pages import make_staff

NOW = datetime(2026, 12, 1, 10, 0)
UBK = {
    "amount_som": "1200",
    "gmi_som": "1000",
    "child_age_limit": "16",
    "hotline_phone": "1966",
    "eligibility": "Families with children under 16 whose income per person is below the GMI.",
    "documents": "Applicant's passport; children's birth certificates.",
    "where": "District office of labour and social development.",
    "appeal": "Commission at the district administration.",
}


def now(ctx: Context) -> datetime:
    return NOW.replace(tzinfo=ctx.tz)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch, ctx: Context) -> None:
    """Texts are chosen by the moment they are rendered (hotline.models.utcnow): the test's clock."""
    monkeypatch.setattr("hotline.models.utcnow", lambda: now(ctx))


def officers(session: Session) -> tuple[StaffUser, StaffUser]:
    return (
        make_staff(session, "aida", Role.CONTENT, Jurisdiction.OBLAST, "batken"),
        make_staff(session, "bakyt", Role.CONTENT, Jurisdiction.OBLAST, "batken"),
    )


def saved(session: Session) -> int:
    return session.exec(select(func.count()).select_from(ContentRevision)).one()


def propose_text(ctx: Context, user: StaffUser, body: str, name: str = "help", language: str = "en") -> None:
    service.prepare_text(
        ctx, user, name=name, language=language, body=body, effective_from=date(2026, 12, 1), source="", now=now(ctx)
    )


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("Hotline: {{ free }} {% if free %}free{% endif", "refused.content_syntax"),  # an unclosed tag
        ("Hotline {{ free_text }}", "refused.content_placeholders"),  # a placeholder the text does not get
        ("Hotline " + "x" * 300, "refused.content_over_budget"),  # over help's 2 segments
    ],
)
def test_a_text_that_breaks_is_refused_and_nothing_is_saved(
    session: Session, ctx: Context, body: str, key: str
) -> None:
    author, _ = officers(session)
    with pytest.raises(ContentRefused) as refused:
        propose_text(ctx, author, body)
    assert refused.value.key == key
    assert "{" not in refused.value.text("en").split(":")[0]  # a sentence, filled in
    assert saved(session) == 0


def test_a_placeholder_dropped_from_a_programme_text_is_named(session: Session, ctx: Context) -> None:
    author, _ = officers(session)
    old = service.current_source(ctx, "benefits/uy_bulogo_komok", "ru")
    with pytest.raises(ContentRefused) as refused:
        propose_text(ctx, author, old.replace("{{ p.gmi_som|som }}", "1 000"), "benefits/uy_bulogo_komok", "ru")
    assert "p.gmi_som|som" in str(refused.value)


def test_an_unknown_language_is_refused(session: Session, ctx: Context) -> None:
    author, _ = officers(session)
    with pytest.raises(ContentRefused, match="Unknown language code kk"):
        propose_text(ctx, author, "Hello", language="kk")


def programme_change(ctx: Context, user: StaffUser, day: date, source: str, **fields: str) -> ContentRevision:
    revision, _ = service.prepare_programme(
        ctx,
        user,
        programme_id="uy_bulogo_komok",
        form={**UBK, **fields},
        effective_from=day,
        source=source,
        now=now(ctx),
    )
    return revision


def test_a_figure_without_a_source_or_too_far_back_is_refused(session: Session, ctx: Context) -> None:
    author, _ = officers(session)
    with pytest.raises(ContentRefused, match="needs its source"):
        programme_change(ctx, author, date(2027, 1, 1), "  ", amount_som="1500")
    with pytest.raises(ContentRefused, match="at most 7 days back"):
        programme_change(ctx, author, date(2026, 11, 23), "Resolution 1", amount_som="1500")
    with pytest.raises(ContentRefused, match="whole number"):
        programme_change(ctx, author, date(2027, 1, 1), "Resolution 1", amount_som="1 500 som")
    # A week back is a correction, and allowed.
    assert programme_change(ctx, author, date(2026, 11, 24), "Resolution 1", amount_som="1500").figures_changed
    assert saved(session) == 0


def test_a_figure_waits_for_a_second_person_never_its_author(session: Session, ctx: Context) -> None:
    author, second = officers(session)
    revision = programme_change(ctx, author, date(2026, 12, 1), "Resolution 1", amount_som="1500")
    service.save(session, author, [revision], now(ctx))
    assert revision.status == RevisionStatus.PENDING
    assert "1 200 som" in converse(session, ctx, "BENEFITS 1", now=now(ctx))[0]
    with pytest.raises(ContentRefused, match="a second person must approve"):
        service.decide(session, author, revision.id or 0, now(ctx), approve=True)
    session.rollback()
    assert session.get(ContentRevision, revision.id).status == RevisionStatus.PENDING  # type: ignore[union-attr]
    service.decide(session, second, revision.id or 0, now(ctx), approve=True)
    assert "1 500 som/month" in converse(session, ctx, "BENEFITS 1", now=now(ctx))[0]
    actions = session.exec(select(AuditEntry.action).order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
    assert actions == ["content_proposed", "content_approved"]
    with pytest.raises(ContentRefused, match="no longer waiting"):
        service.decide(session, second, revision.id or 0, now(ctx), approve=False)


def test_wording_takes_effect_on_its_day_without_approval(session: Session, ctx: Context) -> None:
    author, _ = officers(session)
    old = service.current_source(ctx, "benefits/uy_bulogo_komok", "en")
    body = old.replace("Uy-bulogo komok", "Uy-bulogo komok (family support)")
    revision = service.prepare_text(
        ctx,
        author,
        name="benefits/uy_bulogo_komok",
        language="en",
        body=body,
        effective_from=date(2026, 12, 1),
        source="",
        now=now(ctx),
    )
    service.save(session, author, [revision], now(ctx))
    assert revision.status == RevisionStatus.APPROVED and not revision.figures_changed
    assert service.current_source(ctx, "benefits/uy_bulogo_komok", "en") == body.strip("\n")
    assert "(family support)" in converse(session, ctx, "BENEFITS 1", now=now(ctx))[0]


def test_a_number_changed_in_a_text_is_a_figure(session: Session, ctx: Context) -> None:
    author, _ = officers(session)
    old = service.current_source(ctx, "benefits/uy_bulogo_komok", "en")
    body = old.replace("{{ p.hotline_phone }}", "{{ p.hotline_phone }} or 103")
    with pytest.raises(ContentRefused, match="needs its source"):
        propose_text(ctx, author, body, "benefits/uy_bulogo_komok")
    later = now(ctx) + timedelta(days=1)
    revision = service.prepare_text(
        ctx,
        author,
        name="benefits/uy_bulogo_komok",
        language="en",
        body=body,
        effective_from=date(2026, 12, 2),
        source="Ministry letter",
        now=later,
    )
    assert revision.status == RevisionStatus.PENDING


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (
            lambda s: s.replace('{% elif part == "documents" %}', '{% elif part == "documents" '),
            "refused.content_syntax",
        ),
        (lambda s: s.replace("{{ p.hotline_phone }}", "{{ p.phone }}"), "refused.content_placeholders"),
        (lambda s: s.replace("{{ p.gmi_som|som }}", "1000"), "refused.content_placeholders"),
    ],
)
def test_a_voice_text_that_breaks_is_refused_and_the_line_says_the_old_one(
    session: Session, ctx: Context, edit: Callable[[str], str], key: str
) -> None:
    author, _ = officers(session)
    name = "voice/benefits/uy_bulogo_komok"
    old = service.current_source(ctx, name, "ru")
    with pytest.raises(ContentRefused) as refused:
        propose_text(ctx, author, edit(old), name, "ru")
    assert refused.value.key == key
    assert saved(session) == 0 and service.current_source(ctx, name, "ru") == old
    version = ctx.catalogue.in_force("uy_bulogo_komok", NOW.date())
    assert "1200 сом в месяц" in ctx.texts.speech(name, "ru", p=version, part="rules")


def test_an_admin_cannot_approve_a_figure_of_a_content_account_whose_password_they_set(
    session: Session, ctx: Context
) -> None:
    """An admin who made a content account chose its password and may have logged in as it: proposing a figure as
    that account and approving it as oneself would be one person's change."""
    admin = make_staff(session, "azamat", Role.ADMIN, Jurisdiction.OBLAST, "batken")
    other_admin = make_staff(session, "nurlan", Role.ADMIN, Jurisdiction.OBLAST, "batken")
    author, _ = officers(session)
    author.password_set_by_id = admin.id  # as accounts.create_user records it
    session.add(author)
    session.commit()
    revision = programme_change(ctx, author, date(2026, 12, 1), "Resolution 1", amount_som="1500")
    service.save(session, author, [revision], now(ctx))
    with pytest.raises(ContentRefused, match="a second person must approve"):
        service.decide(session, admin, revision.id or 0, now(ctx), approve=True)
    session.rollback()
    assert session.get(ContentRevision, revision.id).status == RevisionStatus.PENDING  # type: ignore[union-attr]
    service.decide(session, other_admin, revision.id or 0, now(ctx), approve=True)
    assert "1 500 som/month" in converse(session, ctx, "BENEFITS 1", now=now(ctx))[0]
