"""Organization, user and membership routes."""

from __future__ import annotations

from typing import Any

from .paging import first
from .request import Request, Result, lookup
from .search import search
from .shapes import invalid


def orgs_list(r: Request) -> Result:
    return 200, r.page(list(r.store.orgs.values()), "organizations")


def org_create(r: Request) -> Result:
    data = r.obj("organization")
    return 201, {"organization": r.store.add_organization(**data)}


def orgs_create_many(r: Request) -> Result:
    def work(index: int, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": r.store.add_organization(**data)["id"], "index": index}

    return 200, {
        "job_status": r.store.start_job(r.many("organizations"), work, "Bulk create organizations")
    }


def orgs_update_many(r: Request) -> Result:
    def work(index: int, data: dict[str, Any]) -> dict[str, Any]:
        org = r.store.update_organization(data.get("id"), data)
        return {"id": org["id"], "action": "update", "status": "Updated", "success": True}

    return 200, {
        "job_status": r.store.start_job(r.many("organizations"), work, "Bulk update organizations")
    }


def orgs_show_many(r: Request) -> Result:
    if "external_ids" in r.params:
        wanted = set(r.ids("external_ids"))
        found = [o for o in r.store.orgs.values() if o["external_id"] in wanted]
    else:
        found = lookup(r.store.orgs, r.ids())
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
    r.store.index.changed("organization", org["id"])
    return 204, None


def org_users(r: Request, oid: str) -> Result:
    roles = set(r.params.get("role", []) + r.params.get("role[]", []))
    users = [
        u for u in r.store.org_members(oid) if u["active"] and (not roles or u["role"] in roles)
    ]
    return 200, r.page(users, "users")


def org_memberships(r: Request, oid: str) -> Result:
    r.store.organization(oid)
    found = [m for m in r.store.memberships.values() if m["organization_id"] == int(oid)]
    return 200, r.page(found, "organization_memberships")


# users and memberships -------------------------------------------------------------
def users_list(r: Request) -> Result:
    roles = set(r.params.get("role", []) + r.params.get("role[]", []))
    return 200, r.page(
        [u for u in r.store.users.values() if u["active"] and (not roles or u["role"] in roles)],
        "users",
    )


def user_create(r: Request) -> Result:
    return 201, {"user": r.store.add_user(**r.obj("user"))}


def users_create_many(r: Request) -> Result:
    def work(index: int, data: dict[str, Any]) -> dict[str, Any]:
        user = r.store.add_user(**data)
        return {"id": user["id"], "index": index, "status": "Created", "email": user["email"]}

    items = r.many("users", "Maximum 100 users may be created per call")
    return 200, {"job_status": r.store.start_job(items, work, "Bulk create users")}


def users_update_many(r: Request) -> Result:
    def work(index: int, data: dict[str, Any]) -> dict[str, Any]:
        user = r.store.update_user(data.get("id"), data)
        return {"id": user["id"], "action": "update", "status": "Updated", "success": True}

    return 200, {"job_status": r.store.start_job(r.many("users"), work, "Bulk update users")}


def users_show_many(r: Request) -> Result:
    deleted_too = first(r.params, "include_deleted") == "true"
    found = [u for u in lookup(r.store.users, r.ids()) if deleted_too or u["active"]]
    return 200, r.page(found, "users", cursor_ok=False)


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
    r.store.index.changed("user", user["id"])
    return 200, {"user": user}


def user_identities(r: Request, uid: str) -> Result:
    return 200, r.page(r.store.identities(uid), "identities")


def user_identity_create(r: Request, uid: str) -> Result:
    data = r.obj("identity")
    if data.get("type") != "email" or not str(data.get("value") or "").strip():
        raise invalid("value", "Value: is invalid (only e-mail identities are emulated)")
    return 201, {"identity": r.store.add_identity(int(uid), str(data["value"]))}


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
