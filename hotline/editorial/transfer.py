"""`hotline content export/import`: what staff changed, moved between installations as one JSON document."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from hotline.context import Context
from hotline.editorial.service import ContentRefused, check_source, current_source, programme_in_force, save
from hotline.models import ContentRevision, RevisionKind, RevisionStatus
from hotline.overrides import staff_version

FORMAT = "hotline-content/1"
FIELDS = ("kind", "subject", "language", "body", "effective_from", "source", "note", "figures_changed", "status")
KEPT = (RevisionStatus.APPROVED, RevisionStatus.PENDING)


def export_content(session: Session) -> dict[str, Any]:
    """Every approved or pending revision, oldest first (refused ones stay behind)."""
    rows = session.exec(
        select(ContentRevision).where(col(ContentRevision.status).in_(KEPT)).order_by(col(ContentRevision.id))
    )
    revisions = [
        {
            **{f: getattr(r, f) for f in FIELDS},
            "effective_from": r.effective_from.isoformat(),
            "reviewed_by": r.reviewed_by,
        }
        for r in rows
    ]
    return {"format": FORMAT, "revisions": revisions}


def _key(r: ContentRevision) -> tuple[Any, ...]:
    return (r.kind, r.subject, r.language, r.body, r.effective_from, r.status)


def import_content(session: Session, ctx: Context, document: dict[str, Any], now: datetime) -> int:
    """Add the revisions this installation lacks, each checked against its templates first; all or nothing.
    Approvals made elsewhere stay approved (audited as imported); pending ones wait for a second person here."""
    if document.get("format") != FORMAT or not isinstance(document.get("revisions"), list):
        raise ContentRefused("content_format", expected=FORMAT)
    have = {_key(r) for r in session.exec(select(ContentRevision))}
    new = []
    for number, raw in enumerate(document["revisions"], 1):
        try:
            revision = ContentRevision(
                kind=RevisionKind(raw["kind"]),
                subject=str(raw["subject"]),
                language=raw.get("language"),
                body=str(raw["body"]),
                effective_from=date.fromisoformat(raw["effective_from"]),
                source=str(raw.get("source", ""))[:500],
                note=str(raw.get("note", ""))[:500],
                figures_changed=bool(raw.get("figures_changed")),
                status=RevisionStatus(raw["status"]),
                reviewed_by=raw.get("reviewed_by"),
                created_at=now,
                decided_at=now if raw["status"] == RevisionStatus.APPROVED else None,
            )
            if revision.status not in KEPT:
                raise ValueError(revision.status)
        except (KeyError, ValueError, TypeError) as exc:
            raise ContentRefused("content_import_row", row=number, error=str(exc)) from exc
        if _key(revision) in have:
            continue
        _check(ctx, revision, number)
        have.add(_key(revision))
        new.append(revision)
    save(session, None, new, now)
    return len(new)


def _check(ctx: Context, revision: ContentRevision, number: int) -> None:
    try:
        if revision.kind == RevisionKind.TEXT:
            language = revision.language or ""
            old = current_source(ctx, revision.subject, language)
            check_source(ctx, revision.subject, language, revision.body, old, revision.effective_from)
        else:
            current = programme_in_force(ctx, revision.subject, revision.effective_from)
            staff_version(current, revision.effective_from, revision.source, json.loads(revision.body))
    except ContentRefused as refused:
        raise ContentRefused("content_import_row", row=number, error=str(refused)) from refused
    except Exception as exc:  # a template that is not there, a body that is not JSON
        raise ContentRefused("content_import_row", row=number, error=type(exc).__name__) from exc
