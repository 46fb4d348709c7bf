"""Cursor paging of long lists, Zendesk-style: `?page[size]=&page[after]=` and `links.next`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict, TypeVar

from flask import abort, request, url_for

from comms.db import Page
from comms.ids import parse_number
from comms.incidents.models import SEVERITIES
from comms.incidents.service import STATUS_FILTERS
from comms.web.context import site_root

Item = TypeVar("Item")

DEFAULT_SIZE = 100
MAX_SIZE = 1000


def page_after(raw: str | None) -> int | None:
    """The cursor given (a whole number the previous page named), or None for the first page."""
    if raw is None or raw == "":
        return None
    cursor = parse_number(raw)
    if cursor is None:
        abort(400, f"page[after] must be the cursor a previous page gave, not “{raw[:40]}”.")
    return cursor


def choice(name: str, allowed: tuple[str, ...]) -> str:
    """A list's filter from the query: empty for all, else one of `allowed` (400 otherwise)."""
    value = request.args.get(name, "").strip()
    if value and value not in allowed:
        abort(400, f"{name} must be one of {', '.join(allowed)}, not “{value[:40]}”.")
    return value


class IncidentFilters(TypedDict):
    status: str
    severity: str
    search: str


def incident_filters() -> IncidentFilters:
    """The incidents list's filters from the query (?status=, ?severity=, ?q=), for the page and
    the API alike; a status or severity it does not know is a 400."""
    return {
        "status": choice("status", STATUS_FILTERS),
        "severity": choice("severity", SEVERITIES),
        "search": request.args.get("q", "")[:200],
    }


def page_size() -> int:
    """The page size asked for (1 to MAX_SIZE, DEFAULT_SIZE when not given)."""
    raw = request.args.get("page[size]", "")
    if raw == "":
        return DEFAULT_SIZE
    size = parse_number(raw)
    if size is None or not 1 <= size <= MAX_SIZE:
        abort(400, f"page[size] must be a whole number from 1 to {MAX_SIZE}.")
    return size


def paging() -> tuple[int, int | None]:
    """The size and cursor of the page asked for (400 when either is not understood)."""
    return page_size(), page_after(request.args.get("page[after]"))


def links(after: int | None, size: int) -> dict[str, str | None]:
    """The `links` of a page: `next` is the address of the following page, None on the last."""
    if after is None:
        return {"next": None}
    args = {k: v for k, v in request.args.items() if not k.startswith("page[")}
    args.update({"page[size]": str(size), "page[after]": str(after)})
    assert request.endpoint is not None
    # From base_url, never the request's Host: a forged Host header cannot change the link.
    values: dict[str, Any] = {**(request.view_args or {}), **args}
    path = url_for(request.endpoint, **values)
    return {"next": site_root() + path}


def paged(key: str, items: list[Any], after: int | None, size: int) -> dict[str, Any]:
    """A page of a list as JSON, with Zendesk's `meta` (has_more, after_cursor) and `links`."""
    return {
        key: items,
        "meta": {
            "has_more": after is not None,
            "after_cursor": None if after is None else str(after),
        },
        "links": links(after, size),
    }


def api_page(read: Callable[..., Page[Item]]) -> tuple[Page[Item], int]:
    """The page `?page[size]=&page[after]=` asks for, and its size."""
    size, after = paging()
    return read_page(read, size=size, after=after), size


def read_page(read: Callable[..., Page[Item]], *, size: int, after: int | None) -> Page[Item]:
    """Read one page; a cursor that names no row of this list is a 400, not a 500."""
    try:
        return read(size=size, after=after)
    except LookupError as error:
        abort(400, str(error))


def section_page(read: Callable[..., Page[Item]], name: str, size: int) -> Page[Item]:
    """The page of one section of the incident page its `<name>_after` argument asks for."""
    return read_page(read, size=size, after=page_after(request.args.get(f"{name}_after")))
