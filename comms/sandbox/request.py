"""The parsed API request handed to every route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .paging import paginate
from .shapes import ApiError, invalid, too_many
from .store import Store

Result = tuple[int, Any]


@dataclass
class Request:
    """One parsed API request."""

    store: Store
    method: str
    path: str  # as requested, e.g. /api/v2/tickets.json
    params: dict[str, list[str]]
    body: dict[str, Any]
    user_id: int

    def page(self, items: list[Any], plural: str, cursor_ok: bool = True) -> dict[str, Any]:
        """Paginate items back to this request's own URL."""
        return paginate(items, plural, self.params, self.store.base_url, self.path, cursor_ok)

    def ids(self, key: str = "ids") -> list[str]:
        """Comma-separated ids from the query (≤100)."""
        raw = ",".join(self.params.get(key, []))
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if len(ids) > 100:
            raise too_many(100, key)
        return ids

    def obj(self, key: str) -> dict[str, Any]:
        """The enveloped object of the body (422 if missing)."""
        value = self.body.get(key)
        if not isinstance(value, dict):
            raise invalid(key, f"{key} parameter is missing", "InvalidValue")
        return value

    def many(self, key: str, message: str | None = None) -> list[dict[str, Any]]:
        """The enveloped list of the body (≤100)."""
        value = self.body.get(key)
        if not isinstance(value, list):
            raise invalid(key, f"{key} parameter is missing", "InvalidValue")
        if len(value) > 100:
            if message:
                raise ApiError(400, {"error": "TooManyValues", "description": message})
            raise too_many(100)
        return value


def lookup(items: dict[int, Any], ids: list[str]) -> list[Any]:
    return [items[int(i)] for i in ids if i.isdigit() and int(i) in items]
