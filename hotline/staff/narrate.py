"""A complaint's history and the audit log told as sentences in the interface language: statuses, categories,
levels and places by their names, staff by their names (the rows themselves keep codes and ids, for exports)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from hotline.models import StaffUser
from hotline.places import get_gazetteer
from hotline.staff.i18n import FALLBACK, catalogues, translator

# What a detail's value names, by the row's kind and the detail's name: "old"/"new" depend on what changed.
_OLD_NEW = {
    "status_changed": "status",
    "status": "status",
    "category_changed": "category",
    "category": "category",
    "municipality_changed": "place",
    "municipality": "place",
    "assigned": "user",
    "assign": "user",
    "escalated": "level",
    "routed": "level",
}
_BY_NAME = {
    "to": "level",
    "level": "level",
    "channel": "channel",
    "category": "category",
    "area": "place",
    "place": "place",
    "old_area": "place",
    "role": "role",
    "old_role": "role",
    "old_level": "level",
    "kind": "request_kind",
    "attempted": "action",
    "what": "action",
    "reason": "reason",
}
USER_FIELDS = ("old", "new")  # the only details that hold a staff id (assignments)
_MISSING = "—"


class _Blank(dict[str, str]):
    # A sentence whose row lacks a detail (an older row) shows a dash rather than failing the page.
    def __missing__(self, key: str) -> str:
        return _MISSING


@dataclass(frozen=True)
class Narrator:
    """Tells rows in one interface language, naming the staff in `names` (id → display name)."""

    language: str
    names: Mapping[int, str]

    def _t(self, key: str) -> str:
        return translator(self.language)(key)

    def _known(self, key: str) -> bool:
        return key in catalogues()[FALLBACK]

    def _word(self, prefix: str, value: object) -> str:
        key = f"{prefix}.{value}"
        return self._t(key) if self._known(key) else str(value)

    def value(self, kind: str, name: str, value: object) -> str:
        """One detail as a reader says it."""
        vocabulary = _OLD_NEW.get(kind) if name in ("old", "new") else _BY_NAME.get(name)
        if value is None or value == "":
            return _MISSING
        if isinstance(value, bool):
            return self._t("yes" if value else "no")
        if vocabulary == "user":
            return self.names.get(int(str(value)), f"#{value}") if str(value).isdigit() else str(value)
        if vocabulary == "place":
            place = get_gazetteer().get(str(value))
            return place.name(self.language) if place is not None else str(value)
        if vocabulary in ("status", "category", "level", "channel", "role"):
            return self._word(vocabulary, value)
        if vocabulary == "request_kind":
            return self._word("users.kind", value)
        if vocabulary == "action":
            return self._word("action", str(value).split(":", 1)[0])
        if vocabulary == "reason":  # a code of ours ("first_answer_overdue", "category bribe") or a person's words
            key = "reason." + str(value).replace(" ", "_")
            return self._t(key) if self._known(key) else str(value)
        if isinstance(value, dict):
            return ", ".join(f"{k}={v}" for k, v in value.items() if v)
        return str(value)

    def _sentence(self, key: str, kind: str, details: Mapping[str, Any], **extra: str) -> str:
        values = _Blank({k: self.value(kind, k, v) for k, v in details.items()})
        values.update(extra)
        return self._t(key).format_map(values)

    def event(self, kind: str, actor: str, actor_id: int | None, details: Mapping[str, Any]) -> str:
        """A complaint event (ComplaintEvent) as a sentence: who did what, with names."""
        who = self.names.get(actor_id, "") if actor_id else ""
        who = who or self._t(f"actor.{actor}")
        key = f"said.{_event_variant(kind, actor_id, details)}"
        if not self._known(key):
            return self._t(f"event.{kind}") if self._known(f"event.{kind}") else kind
        return self._sentence(key, kind, details, who=who)

    def action(self, action: str) -> str:
        """An audit action's name."""
        return self._word("action", action)

    def audit(self, action: str, user_id: int | None, details: Mapping[str, Any]) -> str:
        """An audit row's details as a sentence (its user and time are shown beside it)."""
        key = f"did.{_audit_variant(action, user_id, details)}"
        if self._known(key):
            return self._sentence(key, action, details)
        labels = (f"{name}: {self.value(action, name, v)}" for name, v in details.items())
        return "; ".join(labels)


def _event_variant(kind: str, actor_id: int | None, details: Mapping[str, Any]) -> str:
    if kind == "created" and details.get("anonymous"):
        return "created_anonymous"
    if kind == "assigned":
        if details.get("new") is None:
            return "unassigned_by"
        return "took" if details.get("new") == actor_id else "assigned"
    if kind == "municipality_changed" and details.get("old") is None:
        return "municipality_set"
    if kind in ("routed", "escalated") and actor_id:
        return f"{kind}_by"
    return kind


def _audit_variant(action: str, user_id: int | None, details: Mapping[str, Any]) -> str:
    if action == "assign":
        if details.get("new") is None:
            return "unassign"
        return "take" if details.get("new") == user_id else "assign"
    if action == "status" and details.get("by_answer"):
        return "status_by_answer"
    if action == "category" and details.get("routed"):
        return "category_routed"
    if action == "municipality" and details.get("old") is None:
        return "municipality_set"
    if action in ("user_created", "login_unlocked") and details.get("via") == "cli":
        return f"{action}_cli"
    if action == "denied" and "attempted" not in details:
        return "denied_what"
    return action


def staff_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """The display names of these staff accounts (for sentences about assignments)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    users = session.exec(select(StaffUser).where(col(StaffUser.id).in_(wanted)))
    return {u.id or 0: u.display_name for u in users}


def ids_in(details: Iterable[Mapping[str, Any]]) -> set[int]:
    """The staff ids named in rows' details (an assignment's old and new assignee)."""
    return {int(d[f]) for d in details for f in USER_FIELDS if str(d.get(f, "")).isdigit()}
