"""Zendesk API v2 routes: each handler takes a Request and returns (status, body)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .paging import first, paginate
from .search import search
from .shapes import ApiError, invalid, not_found, too_many
from .store import Store

SEARCH_LIMIT = {
    "error": "invalid",
    "description": "Invalid search: Requested response size was greater than Search Response Limits",
}
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


def _lookup(items: dict[int, Any], ids: list[str]) -> list[Any]:
    return [items[int(i)] for i in ids if i.isdigit() and int(i) in items]


# tickets ---------------------------------------------------------------------------
def tickets_list(r: Request) -> Result:
    return 200, r.page(sorted(r.store.tickets.values(), key=lambda t: t["id"]), "tickets")


def tickets_listing(r: Request, items: list[dict[str, Any]]) -> Result:
    body = r.page([{k: v for k, v in t.items() if k != "fields"} for t in items], "tickets")
    return 200, body


def ticket_create(r: Request) -> Result:
    ticket, audit = r.store.create_ticket(r.obj("ticket"), author_id=r.user_id)
    return 201, {"ticket": ticket, "audit": audit}


def tickets_create_many(r: Request) -> Result:
    items = r.many("tickets")

    def work(index: int, data: dict[str, Any]) -> dict[str, Any]:
        ticket, _ = r.store.create_ticket(data, author_id=r.user_id)
        return {"id": ticket["id"], "index": index}

    return 200, {"job_status": r.store.start_job(items, work)}


def tickets_show_many(r: Request) -> Result:
    return 200, r.page(_lookup(r.store.tickets, r.ids()), "tickets", cursor_ok=False)


def tickets_update_many(r: Request) -> Result:
    if "tickets" in r.body:
        items = r.many("tickets")
    else:
        change = r.obj("ticket")
        items = [dict(change, id=int(i) if i.isdigit() else i) for i in r.ids()]
    return 200, {"job_status": r.store.update_many(items, r.user_id)}


def ticket_show(r: Request, tid: str) -> Result:
    return 200, {"ticket": r.store._ticket(tid)}


def ticket_update(r: Request, tid: str) -> Result:
    ticket, audit = r.store.update_ticket(tid, r.obj("ticket"), author_id=r.user_id)
    return 200, {"ticket": ticket, "audit": audit}


def ticket_delete(r: Request, tid: str) -> Result:
    r.store._ticket(tid)
    del r.store.tickets[int(tid)]
    return 204, None


def ticket_comments(r: Request, tid: str) -> Result:
    r.store._ticket(tid)
    return 200, r.page(r.store.comments[int(tid)], "comments")


def ticket_incidents(r: Request, tid: str) -> Result:
    return tickets_listing(r, r.store.incidents(tid))


def ticket_merge(r: Request, tid: str) -> Result:
    return 200, {"job_status": r.store.merge(tid, r.body, r.user_id)}


def problems(r: Request) -> Result:
    items = [t for t in r.store.tickets.values() if t["type"] == "problem"]
    return tickets_listing(r, items)


def org_tickets(r: Request, oid: str) -> Result:
    org = r.store.organization(oid)
    return tickets_listing(
        r, [t for t in r.store.tickets.values() if t["organization_id"] == org["id"]]
    )


# jobs ------------------------------------------------------------------------------
def job_show(r: Request, jid: str) -> Result:
    return 200, {"job_status": r.store.job(jid)}


def jobs_show_many(r: Request) -> Result:
    ids = r.ids()
    return 200, {"job_statuses": [r.store.jobs[j] for j in ids if j in r.store.jobs]}


# organizations ---------------------------------------------------------------------
def orgs_list(r: Request) -> Result:
    return 200, r.page(list(r.store.orgs.values()), "organizations")


def org_create(r: Request) -> Result:
    data = r.obj("organization")
    return 201, {"organization": r.store.add_organization(**data)}


def orgs_create_many(r: Request) -> Result:
    def work(index: int, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": r.store.add_organization(**data)["id"], "index": index}

    return 200, {"job_status": r.store.start_job(r.many("organizations"), work)}


def orgs_update_many(r: Request) -> Result:
    def work(index: int, data: dict[str, Any]) -> dict[str, Any]:
        org = r.store.update_organization(data.get("id"), data)
        return {"id": org["id"], "action": "update", "status": "Updated", "success": True}

    return 200, {"job_status": r.store.start_job(r.many("organizations"), work)}


def orgs_show_many(r: Request) -> Result:
    if "external_ids" in r.params:
        wanted = set(r.ids("external_ids"))
        found = [o for o in r.store.orgs.values() if o["external_id"] in wanted]
    else:
        found = _lookup(r.store.orgs, r.ids())
    return 200, r.page(found, "organizations", cursor_ok=False)


def orgs_autocomplete(r: Request) -> Result:
    prefix = (first(r.params, "name") or "").lower()
    if len(prefix) < 2:
        raise invalid("name", "Name: is too short (minimum is 2 characters)")
    found = sorted(
        (o for o in r.store.orgs.values() if o["name"].lower().startswith(prefix)),
        key=lambda o: o["name"].lower(),
    )
    return 200, r.page(found, "organizations", cursor_ok=False)


def orgs_search(r: Request) -> Result:
    name, ext = first(r.params, "name"), first(r.params, "external_id")
    if name is not None:
        oid = r.store.org_names.get(name.lower())
        found = [r.store.orgs[oid]] if oid else []
    else:
        found = [o for o in r.store.orgs.values() if ext is not None and o["external_id"] == ext]
    return 200, r.page(found, "organizations", cursor_ok=False)


def org_show(r: Request, oid: str) -> Result:
    return 200, {"organization": r.store.organization(oid)}


def org_update(r: Request, oid: str) -> Result:
    return 200, {"organization": r.store.update_organization(oid, r.obj("organization"))}


def org_delete(r: Request, oid: str) -> Result:
    org = r.store.organization(oid)
    del r.store.orgs[org["id"]]
    r.store.org_names.pop(org["name"].lower(), None)
    return 204, None


def org_users(r: Request, oid: str) -> Result:
    roles = set(r.params.get("role", []) + r.params.get("role[]", []))
    users = [u for u in r.store.org_members(oid) if not roles or u["role"] in roles]
    return 200, r.page(users, "users")


def org_memberships(r: Request, oid: str) -> Result:
    r.store.organization(oid)
    found = [m for m in r.store.memberships.values() if m["organization_id"] == int(oid)]
    return 200, r.page(found, "organization_memberships")


# users and memberships -------------------------------------------------------------
def users_list(r: Request) -> Result:
    roles = set(r.params.get("role", []) + r.params.get("role[]", []))
    return 200, r.page(
        [u for u in r.store.users.values() if not roles or u["role"] in roles], "users"
    )


def user_create(r: Request) -> Result:
    return 201, {"user": r.store.add_user(**r.obj("user"))}


def users_create_many(r: Request) -> Result:
    def work(index: int, data: dict[str, Any]) -> dict[str, Any]:
        user = r.store.add_user(**data)
        return {"id": user["id"], "index": index, "status": "Created", "email": user["email"]}

    items = r.many("users", "Maximum 100 users may be created per call")
    return 200, {"job_status": r.store.start_job(items, work)}


def users_update_many(r: Request) -> Result:
    def work(index: int, data: dict[str, Any]) -> dict[str, Any]:
        user = r.store.update_user(data.get("id"), data)
        return {"id": user["id"], "action": "update", "status": "Updated", "success": True}

    return 200, {"job_status": r.store.start_job(r.many("users"), work)}


def users_show_many(r: Request) -> Result:
    return 200, r.page(_lookup(r.store.users, r.ids()), "users", cursor_ok=False)


def users_search(r: Request) -> Result:
    ext = first(r.params, "external_id")
    if ext is not None:
        found = [u for u in r.store.users.values() if u["external_id"] == ext]
    else:
        found = search(r.store, first(r.params, "query") or "", ("user",))
    for user in found:
        user.pop("result_type", None)
    return 200, r.page(found, "users", cursor_ok=False)


def user_me(r: Request) -> Result:
    return 200, {"user": dict(r.store.user(r.user_id), authenticity_token="sandbox-token")}


def user_show(r: Request, uid: str) -> Result:
    return 200, {"user": r.store.user(uid)}


def user_update(r: Request, uid: str) -> Result:
    return 200, {"user": r.store.update_user(uid, r.obj("user"))}


def user_delete(r: Request, uid: str) -> Result:
    user = r.store.user(uid)
    user["active"] = False
    return 200, {"user": user}


def user_identities(r: Request, uid: str) -> Result:
    return 200, r.page(r.store.identities(uid), "identities")


def user_memberships(r: Request, uid: str) -> Result:
    return 200, r.page(r.store.user_memberships(uid), "organization_memberships")


def user_orgs(r: Request, uid: str) -> Result:
    orgs = [r.store.orgs[m["organization_id"]] for m in r.store.user_memberships(uid)]
    return 200, r.page(orgs, "organizations")


def memberships_list(r: Request) -> Result:
    return 200, r.page(list(r.store.memberships.values()), "organization_memberships")


def membership_create(r: Request) -> Result:
    data = r.obj("organization_membership")
    member = r.store.add_membership(
        int(data["user_id"]), int(data["organization_id"]), bool(data.get("default"))
    )
    return 201, {"organization_membership": member}


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


ID = r"(\d+)"
ROUTES: list[tuple[str, str, Callable[..., Result]]] = [
    ("GET", "tickets", tickets_list),
    ("POST", "tickets", ticket_create),
    ("POST", "tickets/create_many", tickets_create_many),
    ("GET", "tickets/show_many", tickets_show_many),
    ("PUT", "tickets/update_many", tickets_update_many),
    ("GET", f"tickets/{ID}", ticket_show),
    ("PUT", f"tickets/{ID}", ticket_update),
    ("DELETE", f"tickets/{ID}", ticket_delete),
    ("GET", f"tickets/{ID}/comments", ticket_comments),
    ("GET", f"tickets/{ID}/incidents", ticket_incidents),
    ("POST", f"tickets/{ID}/merge", ticket_merge),
    ("GET", "problems", problems),
    ("GET", "job_statuses/show_many", jobs_show_many),
    ("GET", r"job_statuses/([\w-]+)", job_show),
    ("GET", "organizations", orgs_list),
    ("POST", "organizations", org_create),
    ("POST", "organizations/create_many", orgs_create_many),
    ("PUT", "organizations/update_many", orgs_update_many),
    ("GET", "organizations/show_many", orgs_show_many),
    ("GET", "organizations/autocomplete", orgs_autocomplete),
    ("GET", "organizations/search", orgs_search),
    ("GET", f"organizations/{ID}", org_show),
    ("PUT", f"organizations/{ID}", org_update),
    ("DELETE", f"organizations/{ID}", org_delete),
    ("GET", f"organizations/{ID}/users", org_users),
    ("GET", f"organizations/{ID}/tickets", org_tickets),
    ("GET", f"organizations/{ID}/organization_memberships", org_memberships),
    ("GET", "users", users_list),
    ("POST", "users", user_create),
    ("POST", "users/create_many", users_create_many),
    ("PUT", "users/update_many", users_update_many),
    ("GET", "users/show_many", users_show_many),
    ("GET", "users/search", users_search),
    ("GET", "users/me", user_me),
    ("GET", f"users/{ID}", user_show),
    ("PUT", f"users/{ID}", user_update),
    ("DELETE", f"users/{ID}", user_delete),
    ("GET", f"users/{ID}/identities", user_identities),
    ("GET", f"users/{ID}/organization_memberships", user_memberships),
    ("GET", f"users/{ID}/organizations", user_orgs),
    ("GET", "organization_memberships", memberships_list),
    ("POST", "organization_memberships", membership_create),
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
