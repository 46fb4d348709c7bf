"""Zendesk search query syntax over the store: type:, status<, created>, organization:, tags:..."""

from __future__ import annotations

import copy
import math
import re
import time
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


Pools = dict[str, dict[int, dict[str, Any]]]


class SearchIndex:
    """What search sees: each object as it was when last indexed, delay_s after it changed.

    Zendesk indexes new and changed records after "a few minutes": until then search does
    not find a new ticket, and finds a changed one as it was.
    """

    def __init__(self, delay_s: float) -> None:
        """An empty index; delay_s is how long after a change search sees it."""
        self.delay_s = delay_s
        self.copies: dict[str, dict[int, dict[str, Any]]] = {
            "ticket": {},
            "user": {},
            "organization": {},
        }
        self.pending: list[tuple[float, str, int]] = []  # (when indexed, kind, id)

    def changed(self, kind: str, oid: int, at: datetime | None = None) -> None:
        """Note a change (at: when it happened, for records made in the past)."""
        when = at.timestamp() if at is not None else time.time()
        self.pending.append((when + self.delay_s, kind, int(oid)))

    def catch_up(
        self, pools: dict[str, dict[int, dict[str, Any]]], now: float | None = None
    ) -> None:
        """Index every change that is due (all of them with now=inf)."""
        now = time.time() if now is None else now
        waiting = []
        for ready, kind, oid in self.pending:
            if ready > now:
                waiting.append((ready, kind, oid))
                continue
            obj = pools[kind].get(oid)
            if obj is None:
                self.copies[kind].pop(oid, None)
            else:
                self.copies[kind][oid] = copy.deepcopy(obj)
        self.pending = waiting

    def index_now(self, pools: Pools) -> None:
        """Index everything at once (for a test that needs an instant index)."""
        self.catch_up(pools, math.inf)


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


WORD = re.compile(r"[\w@.+-]+")


def words_match(text: str, value: str) -> bool:
    """Zendesk's matching: whole words, `word*` a prefix, a quoted phrase its words in order."""
    needle = value.lower().strip()
    if not needle or needle == "*":
        return True
    hay = [w.strip(".-") for w in WORD.findall(text.lower())]
    wanted = [w.strip(".-") for w in WORD.findall(needle.rstrip("*"))]
    if not wanted:
        return True
    prefix = needle.endswith("*")
    for start in range(len(hay) - len(wanted) + 1):
        window = hay[start : start + len(wanted)]
        if window[:-1] == wanted[:-1] and (
            window[-1].startswith(wanted[-1]) if prefix else window[-1] == wanted[-1]
        ):
            return True
    return False


def _text(obj: dict[str, Any], kind: str, value: str) -> bool:
    hay = " ".join(str(obj.get(f) or "") for f in TEXT[kind])
    return words_match(hay, value) or value.lower() in obj.get("tags", [])


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
            if field == "email":  # an address matches whole, or by its start with *
                text = str(obj[field] or "").lower()
                return text.startswith(low.rstrip("*")) if low.endswith("*") else text == low
            return words_match(str(obj[field] or ""), value)
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
    store.index.catch_up(store.pools())
    pools = store.index.copies
    found = []
    for kind in kinds:
        for obj in pools[kind].values():
            if obj.get("active") is False:  # deleted users are not found
                continue
            if matcher.matches(obj, kind, terms):
                found.append(dict(obj, result_type=kind))
    if sort_by in ("created_at", "updated_at", "status", "priority", "ticket_type"):
        key = {"ticket_type": "type"}.get(sort_by, sort_by)
        found.sort(key=lambda o: str(o.get(key) or ""), reverse=sort_order != "asc")
    return found
