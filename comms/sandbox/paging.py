"""Cursor and offset pagination with absolute links back to the sandbox."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from .shapes import ApiError

PAGE_KEYS = ("page[size]", "page[after]", "page[before]", "page", "per_page")


def _int(value: str | None, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(
            400,
            {"error": "InvalidPaginationParameter", "description": f"{name} must be an integer"},
        ) from None


def _encode(offset: int) -> str:
    return base64.b64encode(json.dumps({"o": "id", "v": offset}).encode()).decode()


def _decode(cursor: str) -> int:
    try:
        return int(json.loads(base64.b64decode(cursor))["v"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(
            400,
            {
                "error": "InvalidPaginationParameter",
                "description": "page[after] is not a valid cursor",
            },
        ) from None


def first(params: dict[str, list[str]], key: str) -> str | None:
    """The first value of a query parameter."""
    values = params.get(key)
    return values[0] if values else None


def link(base: str, path: str, params: dict[str, list[str]], **page: Any) -> str:
    """An absolute URL for path with params, page params replaced."""
    pairs = [(k, v) for k, vs in params.items() if k not in PAGE_KEYS for v in vs]
    pairs += [
        (k.replace("_", "[", 1) + "]" if k.startswith("page_") else k, v) for k, v in page.items()
    ]
    return f"{base}{path}?{urlencode(pairs)}"


def paginate(
    items: list[Any],
    plural: str,
    params: dict[str, list[str]],
    base: str,
    path: str,
    cursor_ok: bool = True,
    max_size: int = 100,
) -> dict[str, Any]:
    """One page of items: cursor style if page[size]/page[after] given, else offset style."""
    if cursor_ok and ("page[size]" in params or "page[after]" in params):
        size = max(1, min(_int(first(params, "page[size]"), 100, "page[size]"), max_size))
        after = first(params, "page[after]")
        start = _decode(after) if after else 0
        chunk = items[start : start + size]
        end = start + len(chunk)
        has_more = end < len(items)
        body: dict[str, Any] = {
            plural: chunk,
            "meta": {
                "has_more": has_more,
                "after_cursor": _encode(end) if chunk else None,
                "before_cursor": _encode(start) if chunk else None,
            },
            "links": {
                "next": link(base, path, params, page_after=_encode(end), page_size=size)
                if chunk
                else None,
                "prev": link(base, path, params, page_before=_encode(start), page_size=size)
                if chunk
                else None,
            },
        }
        return body
    page = max(1, _int(first(params, "page"), 1, "page"))
    per_page = max(1, min(_int(first(params, "per_page"), 100, "per_page"), max_size))
    if page * per_page > 10000 and plural != "results":
        raise ApiError(
            400,
            {
                "error": "InvalidPaginationParameter",
                "description": "Offset pagination is limited to the first 10000 records",
            },
        )
    start = (page - 1) * per_page
    chunk = items[start : start + per_page]
    return {
        plural: chunk,
        "next_page": link(base, path, params, page=page + 1, per_page=per_page)
        if start + per_page < len(items)
        else None,
        "previous_page": link(base, path, params, page=page - 1, per_page=per_page)
        if page > 1
        else None,
        "count": len(items),
    }
