"""Zendesk API v2 routes: each handler takes a Request and returns (status, body)."""

from __future__ import annotations

import re
from collections.abc import Callable

from . import routes_accounts as A
from . import routes_tickets as T
from .paging import first
from .request import Request, Result
from .search import search
from .shapes import CUSTOM_ROLES, ApiError, not_found

SEARCH_LIMIT = {
    "error": "invalid",
    "description": "Invalid search: Requested response size was greater than "
    "Search Response Limits",
}


# search ----------------------------------------------------------------------------
def search_all(r: Request) -> Result:
    page = int(first(r.params, "page") or 1)
    per_page = min(int(first(r.params, "per_page") or 100), 100)
    if page * per_page > 1000:
        raise ApiError(422, dict(SEARCH_LIMIT))
    kind = first(r.params, "filter[type]")
    kinds = (
        (kind,)
        if kind in ("ticket", "user", "organization")
        else ("ticket", "user", "organization")
    )
    found = search(
        r.store,
        first(r.params, "query") or "",
        kinds,
        first(r.params, "sort_by"),
        first(r.params, "sort_order"),
    )
    return 200, dict(r.page(found, "results", cursor_ok=False), facets=None)


def search_count(r: Request) -> Result:
    return 200, {"count": len(search(r.store, first(r.params, "query") or ""))}


def custom_roles(r: Request) -> Result:
    """Agents may list the account's roles (Enterprise)."""
    return 200, {"custom_roles": list(CUSTOM_ROLES.values())}


ID = r"(\d+)"
ROUTES: list[tuple[str, str, Callable[..., Result]]] = [
    ("GET", "tickets", T.tickets_list),
    ("POST", "tickets", T.ticket_create),
    ("POST", "tickets/create_many", T.tickets_create_many),
    ("GET", "tickets/show_many", T.tickets_show_many),
    ("PUT", "tickets/update_many", T.tickets_update_many),
    ("GET", f"tickets/{ID}", T.ticket_show),
    ("PUT", f"tickets/{ID}", T.ticket_update),
    ("DELETE", f"tickets/{ID}", T.ticket_delete),
    ("GET", f"tickets/{ID}/comments", T.ticket_comments),
    ("GET", f"tickets/{ID}/incidents", T.ticket_incidents),
    ("POST", f"tickets/{ID}/merge", T.ticket_merge),
    ("GET", "problems", T.problems),
    ("GET", "incremental/tickets/cursor", T.incremental_tickets),
    ("GET", "job_statuses/show_many", T.jobs_show_many),
    ("GET", r"job_statuses/([\w-]+)", T.job_show),
    ("GET", "organizations", A.orgs_list),
    ("POST", "organizations", A.org_create),
    ("POST", "organizations/create_many", A.orgs_create_many),
    ("PUT", "organizations/update_many", A.orgs_update_many),
    ("GET", "organizations/show_many", A.orgs_show_many),
    ("GET", "organizations/autocomplete", A.orgs_autocomplete),
    ("GET", "organizations/search", A.orgs_search),
    ("GET", f"organizations/{ID}", A.org_show),
    ("PUT", f"organizations/{ID}", A.org_update),
    ("DELETE", f"organizations/{ID}", A.org_delete),
    ("GET", f"organizations/{ID}/users", A.org_users),
    ("GET", f"organizations/{ID}/tickets", T.org_tickets),
    ("GET", f"organizations/{ID}/organization_memberships", A.org_memberships),
    ("GET", "users", A.users_list),
    ("POST", "users", A.user_create),
    ("POST", "users/create_many", A.users_create_many),
    ("PUT", "users/update_many", A.users_update_many),
    ("GET", "users/show_many", A.users_show_many),
    ("GET", "users/search", A.users_search),
    ("GET", "users/me", A.user_me),
    ("GET", f"users/{ID}", A.user_show),
    ("PUT", f"users/{ID}", A.user_update),
    ("DELETE", f"users/{ID}", A.user_delete),
    ("GET", f"users/{ID}/identities", A.user_identities),
    ("POST", f"users/{ID}/identities", A.user_identity_create),
    ("GET", f"users/{ID}/organization_memberships", A.user_memberships),
    ("GET", f"users/{ID}/organizations", A.user_orgs),
    ("GET", "organization_memberships", A.memberships_list),
    ("POST", "organization_memberships", A.membership_create),
    ("GET", "custom_roles", custom_roles),
    ("GET", "search", search_all),
    ("GET", "search/count", search_count),
]
COMPILED = [(m, re.compile(rf"^/api/v2/{p}(?:\.json)?/?$"), f) for m, p, f in ROUTES]


def dispatch(request: Request) -> Result:
    """Route a request (404 RecordNotFound for unknown paths)."""
    for method, pattern, handler in COMPILED:
        match = pattern.match(request.path)
        if match and method == request.method:
            return handler(request, *match.groups())
    raise not_found()
