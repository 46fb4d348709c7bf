"""Zendesk search query syntax over the store: type:, status<, created>, organization:, tags:..."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .shapes import STATUS_ORDER, parse_ts

if TYPE_CHECKING:
    from .store import Store

TOKEN = re.compile(r'(-?)(?:([a-z_]+)(<=|>=|:|<|>))?("[^"]*"?|\S+)', re.IGNORECASE)
RELATIVE = re.compile(r"^(\d+)(minutes?|hours?|days?|weeks?|months?|years?)$")
UNITS = {
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 604800,
    "month": 2592000,
    "year": 31536000,
}
TYPES = {"ticket": "ticket", "user": "user", "organization": "organization"}
TEXT = {
    "ticket": ("subject", "description"),
    "user": ("name", "email", "notes", "details"),
    "organization": ("name", "details", "notes"),
}


def parse(query: str) -> list[tuple[bool, str | None, str, str]]:
    """Split a query into (negated, field, operator, value) terms."""
    terms = []
    for neg, field, op, value in TOKEN.findall(query or ""):
        value = value.strip('"')
        if value or field:
            terms.append((bool(neg), field.lower() if field else None, op or ":", value))
    return terms


def _when(value: str) -> datetime | None:
    rel = RELATIVE.match(value.lower())
    if rel:
        unit = rel.group(2).rstrip("s")
        return datetime.now(UTC) - timedelta(seconds=int(rel.group(1)) * UNITS[unit])
    try:
        return parse_ts(value)
    except ValueError:
        return None


def _cmp(left: Any, op: str, right: Any) -> bool:
    if left is None or right is None:
        return False
    return {
        ":": left == right,
        "<": left < right,
        ">": left > right,
        "<=": left <= right,
        ">=": left >= right,
    }[op]


def _text(obj: dict[str, Any], kind: str, value: str) -> bool:
    needle = value.lower().rstrip("*")
    if not needle:
        return True
    hay = " ".join(str(obj.get(f) or "") for f in TEXT[kind]).lower()
    return needle in hay or needle in obj.get("tags", [])


class Matcher:
    """Evaluates parsed terms against store objects."""

    def __init__(self, store: Store) -> None:
        """Bind to a store (read under its lock by the caller)."""
        self.store = store

    def _orgs(self, value: str) -> set[int]:
        if value.isdigit():
            return {int(value)}
        oid = self.store.org_names.get(value.lower())
        return {oid} if oid else set()

    def field(self, obj: dict[str, Any], kind: str, field: str, op: str, value: str) -> bool:
        """Whether one field term holds."""
        low = value.lower()
        if field in ("created", "updated", "created_at", "updated_at", "solved"):
            key = "updated_at" if field.startswith("updated") else "created_at"
            when, mine = _when(value), parse_ts(obj[key])
            if op == ":" and when is not None and len(value) == 10:
                return mine.date() == when.date()
            return _cmp(mine, op, when)
        if field == "status" and kind == "ticket":
            if low not in STATUS_ORDER:
                return False
            return _cmp(STATUS_ORDER.index(obj["status"]), op, STATUS_ORDER.index(low))
        if field in ("tags", "tag"):
            return low in obj.get("tags", [])
        if field == "organization":
            if kind == "organization":
                return obj["id"] in self._orgs(value)
            ids = self.store.user_org_ids(obj["id"]) if kind == "user" else [obj["organization_id"]]
            return bool(self._orgs(value) & set(ids))
        if field in ("requester", "submitter", "assignee") and kind == "ticket":
            uid = obj.get(f"{field}_id")
            user = self.store.users.get(uid) if uid else None
            return bool(user) and (low == str(uid) or low == (user["email"] or "").lower())
        if field == "ticket_type" and kind == "ticket":
            return (obj["type"] or "") == low
        if field in ("subject", "description", "name", "email", "notes", "details"):
            if field not in obj:
                return False
            text = str(obj[field] or "").lower()
            return text.startswith(low.rstrip("*")) if low.endswith("*") else low in text
        if field in obj:
            mine = obj[field]
            if isinstance(mine, bool):
                return str(mine).lower() == low
            return str(mine if mine is not None else "none").lower() == low
        return False

    def matches(self, obj: dict[str, Any], kind: str, terms: list[Any]) -> bool:
        """Whether every term holds for obj."""
        for neg, field, op, value in terms:
            if field == "type":
                ok = TYPES.get(value.lower()) == kind
            elif field is None:
                ok = _text(obj, kind, value)
            else:
                ok = self.field(obj, kind, field, op, value)
            if ok == neg:
                return False
        return True


def search(
    store: Store,
    query: str,
    kinds: tuple[str, ...] = ("ticket", "user", "organization"),
    sort_by: str | None = None,
    sort_order: str | None = None,
) -> list[dict[str, Any]]:
    """Every matching object, as a copy with result_type, in a stable order."""
    terms = parse(query)
    matcher = Matcher(store)
    pools = {"ticket": store.tickets, "user": store.users, "organization": store.orgs}
    found = []
    for kind in kinds:
        for obj in pools[kind].values():
            if matcher.matches(obj, kind, terms):
                found.append(dict(obj, result_type=kind))
    if sort_by in ("created_at", "updated_at", "status", "priority", "ticket_type"):
        key = {"ticket_type": "type"}.get(sort_by, sort_by)
        found.sort(key=lambda o: str(o.get(key) or ""), reverse=sort_order != "asc")
    return found
