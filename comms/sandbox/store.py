"""In-memory Zendesk account: organizations, users, memberships, jobs; tickets via mixins."""

from __future__ import annotations

import copy
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import shapes
from .merge import BulkMixin
from .search import SearchIndex
from .shapes import ApiError, invalid, norm_tags, not_found, ts
from .tickets import TicketsMixin

JOB_DELAY_S = 0.05  # queued this long before it starts working
JOB_ITEM_S = 0.005  # each item of a job takes this long
MAX_JOBS = 30  # queued or working jobs per account
INDEX_DELAY_S = 60.0  # search finds a change this long after it (Zendesk: "a few minutes")
API_EMAIL = "comms@sandbox.example"


class Store(TicketsMixin, BulkMixin):
    """The account: every object lives here, guarded by one re-entrant lock."""

    def __init__(
        self, base_url: str, api_email: str = API_EMAIL, index_delay_s: float = INDEX_DELAY_S
    ) -> None:
        """Create an empty account with one admin agent (the API user)."""
        self.lock = threading.RLock()
        self.index = SearchIndex(index_delay_s)
        self.base_url = base_url
        self._ids = itertools.count(6130000000001)
        self._ticket_ids = itertools.count(1)
        self.orgs: dict[int, dict[str, Any]] = {}
        self.org_names: dict[str, int] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.emails: dict[str, int] = {}  # every e-mail identity, primary or not -> uid
        self.secondary_emails: dict[int, list[str]] = {}  # uid -> other e-mail identities
        self.memberships: dict[int, dict[str, Any]] = {}
        self.user_orgs: dict[int, list[int]] = {}  # uid -> membership ids, default first
        self.org_users: dict[int, list[int]] = {}  # oid -> uids in join order
        self.tickets: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_item_s = JOB_ITEM_S
        self.jobs_may_run = threading.Event()  # cleared: jobs stay queued (a test's control)
        self.jobs_may_run.set()
        self.on_ticket_created: list[Callable[[dict[str, Any]], None]] = []
        me = self.add_user(name="Comms API", email=api_email, role="admin")
        self.api_user_id: int = me["id"]

    def pools(self) -> dict[str, dict[int, dict[str, Any]]]:
        """Every searchable object by kind and id."""
        return {"ticket": self.tickets, "user": self.users, "organization": self.orgs}

    def next_id(self) -> int:
        """A fresh large id, Zendesk style."""
        return next(self._ids)

    # organizations ---------------------------------------------------------------
    def add_organization(
        self,
        name: str = "",
        tags: list[str] | None = None,
        created_at: datetime | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """Create an organization (names are unique, case-insensitively)."""
        with self.lock:
            if not name:
                raise invalid("name", "Name: cannot be blank", "BlankValue")
            if name.lower() in self.org_names:
                raise invalid("name", "Name: has already been taken", "DuplicateValue")
            oid = self.next_id()
            kw = {k: v for k, v in kw.items() if k in ORG_FIELDS}
            org = shapes.organization(
                self.base_url, oid, name, ts(created_at), tags=norm_tags(tags), **kw
            )
            self.orgs[oid] = org
            self.org_names[name.lower()] = oid
            self.org_users[oid] = []
            self.index.changed("organization", oid, created_at)
            return copy.deepcopy(org)

    def organization(self, oid: int) -> dict[str, Any]:
        """The stored organization (404 if unknown)."""
        org = self.orgs.get(int(oid))
        if org is None:
            raise not_found()
        return org

    def update_organization(self, oid: int, data: dict[str, Any]) -> dict[str, Any]:
        """Apply writable fields to an organization."""
        with self.lock:
            org = self.organization(oid)
            name = data.get("name")
            if name and name != org["name"]:
                if name.lower() in self.org_names:
                    raise invalid("name", "Name: has already been taken", "DuplicateValue")
                del self.org_names[org["name"].lower()]
                self.org_names[name.lower()] = org["id"]
                org["name"] = name
                for mid in self.memberships:
                    if self.memberships[mid]["organization_id"] == org["id"]:
                        self.memberships[mid]["organization_name"] = name
            for key in ORG_FIELDS:
                if key in data:
                    org[key] = norm_tags(data[key]) if key == "tags" else data[key]
            org["updated_at"] = ts()
            self.index.changed("organization", org["id"])
            return org

    # users -----------------------------------------------------------------------
    def add_user(
        self,
        name: str = "",
        email: str | None = None,
        role: str = "end-user",
        organization_ids: list[int] | None = None,
        tags: list[str] | None = None,
        suspended: bool = False,
        organization_id: int | None = None,
        created_at: datetime | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """Create a user; the first organization is the default (user.organization_id)."""
        with self.lock:
            if not name:
                raise invalid("name", "Name: is too short (minimum is 1 character)", "BlankValue")
            if role not in ("end-user", "agent", "admin"):
                raise invalid("role", f"Role: {role} is not valid", "InvalidValue")
            if email:
                email = email.strip()
                if email.lower() in self.emails:
                    raise invalid(
                        "email",
                        f"Email: {email} is already being used by another user",
                        "DuplicateValue",
                    )
            org_ids = list(organization_ids or [])
            if organization_id and organization_id not in org_ids:
                org_ids.insert(0, organization_id)
            for oid in org_ids:
                if int(oid) not in self.orgs:
                    raise invalid("organization_id", "Organization: is invalid", "InvalidValue")
            uid = self.next_id()
            kw = {k: v for k, v in kw.items() if k in USER_FIELDS}
            now = ts(created_at)
            user = shapes.user(
                self.base_url,
                uid,
                name,
                now,
                email=email,
                role=role,
                tags=norm_tags(tags),
                suspended=suspended,
                **kw,
            )
            self.users[uid] = user
            self.user_orgs[uid] = []
            if email:
                self.emails[email.lower()] = uid
            for oid in org_ids:
                self.add_membership(uid, int(oid))
            self.index.changed("user", uid, created_at)
            return dict(user, tags=list(user["tags"]))

    def user(self, uid: int) -> dict[str, Any]:
        """The stored user (404 if unknown)."""
        user = self.users.get(int(uid))
        if user is None:
            raise not_found()
        return user

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        """Look a user up by primary e-mail, case-insensitively."""
        uid = self.emails.get(email.strip().lower())
        return self.users.get(uid) if uid else None

    def may(self, uid: int, permission: str) -> bool:
        """Whether the user's role allows it ("ticket_editing", "ticket_merge"); admins may."""
        user = self.users[uid]
        if user["role"] == "admin":
            return True
        role = shapes.CUSTOM_ROLES.get(user["custom_role_id"] or shapes.STAFF_ROLE_ID)
        return bool(role and role["configuration"].get(permission))

    def require(self, uid: int, permission: str) -> None:
        """403 Forbidden unless the user's role allows it."""
        if not self.may(uid, permission):
            raise ApiError(403, dict(shapes.FORBIDDEN))

    def update_user(self, uid: int, data: dict[str, Any]) -> dict[str, Any]:
        """Apply writable fields to a user."""
        with self.lock:
            user = self.user(uid)
            for key in ("name", "role", "suspended", "tags", *USER_FIELDS):
                if key in data:
                    user[key] = norm_tags(data[key]) if key == "tags" else data[key]
            if data.get("email") and data["email"].strip().lower() not in self.emails:
                self.add_identity(user["id"], data["email"])  # on update: a new identity
            if data.get("organization_id") and data["organization_id"] != user["organization_id"]:
                self.add_membership(user["id"], int(data["organization_id"]), default=True)
            user["updated_at"] = ts()
            self.index.changed("user", user["id"])
            return user

    def identities(self, uid: int) -> list[dict[str, Any]]:
        """The user's e-mail identities, the primary (user.email) first."""
        user = self.user(uid)
        primary = [user["email"]] if user["email"] else []
        return [
            shapes.identity(self.base_url, user["id"], email, user["created_at"], n)
            for n, email in enumerate(primary + self.secondary_emails.get(user["id"], []))
        ]

    def add_identity(self, uid: int, email: str) -> dict[str, Any]:
        """Add a secondary e-mail identity (unique in the account, like every address)."""
        with self.lock:
            user, email = self.user(uid), email.strip()
            if email.lower() in self.emails:
                raise invalid(
                    "value",
                    f"Value: {email} is already being used by another user",
                    "DuplicateValue",
                )
            if not user["email"]:  # a user's first address becomes the primary one
                user["email"] = email
            else:
                self.secondary_emails.setdefault(user["id"], []).append(email)
            self.emails[email.lower()] = user["id"]
            return next(i for i in self.identities(user["id"]) if i["value"] == email)

    # memberships -----------------------------------------------------------------
    def add_membership(self, uid: int, oid: int, default: bool = False) -> dict[str, Any]:
        """Put a user in an organization; the first membership (or default=True) is the default."""
        with self.lock:
            user, org = self.user(uid), self.organization(oid)
            for mid in self.user_orgs[uid]:
                if self.memberships[mid]["organization_id"] == oid:
                    raise invalid(
                        "user_id",
                        "User: is already a member of this organization",
                        "DuplicateValue",
                    )
            mids = self.user_orgs[uid]
            default = default or not mids
            mid = self.next_id()
            member = shapes.membership(self.base_url, mid, uid, org, default, ts())
            self.memberships[mid] = member
            if default:
                for other in mids:
                    self.memberships[other]["default"] = False
                mids.insert(0, mid)
                user["organization_id"] = oid
            else:
                mids.append(mid)
            self.org_users[oid].append(uid)
            return member

    def user_memberships(self, uid: int) -> list[dict[str, Any]]:
        """A user's memberships, default first."""
        self.user(uid)
        return [self.memberships[m] for m in self.user_orgs[int(uid)]]

    def org_members(self, oid: int) -> list[dict[str, Any]]:
        """Users of an organization, in id order."""
        self.organization(oid)
        return sorted((self.users[u] for u in self.org_users[int(oid)]), key=lambda u: u["id"])

    def user_org_ids(self, uid: int) -> list[int]:
        """Ids of every organization the user belongs to."""
        return [self.memberships[m]["organization_id"] for m in self.user_orgs.get(uid, [])]

    # jobs ------------------------------------------------------------------------
    def start_job(
        self, items: list[Any], work: Callable[[int, Any], dict[str, Any]], job_type: str
    ) -> dict[str, Any]:
        """Queue a background job running work(index, item) for each item; returns its status.

        `job_type` names the job as Zendesk's job statuses do (a readOnly string in the spec,
        e.g. "Bulk upsert/update/delete agent instance values"; the exact values Zendesk gives
        bulk ticket jobs are not documented, so these are descriptive ones).

        Like Zendesk's: queued a moment, then working with progress item by item (each takes
        job_item_s), then completed; at most MAX_JOBS queued or working, else TooManyJobs.
        """
        jid = "V3-" + uuid.uuid4().hex
        job = {
            "id": jid,
            "job_type": job_type,
            "message": None,
            "progress": None,
            "results": None,
            "status": "queued",
            "total": len(items),
            "url": f"{self.base_url}/api/v2/job_statuses/{jid}.json",
        }
        with self.lock:
            busy = [j["id"] for j in self.jobs.values() if j["status"] in ("queued", "working")]
            if len(busy) >= MAX_JOBS:  # the body as documented; the status code is not
                raise ApiError(
                    429,
                    {
                        "error": "TooManyJobs",
                        "description": "Too many background jobs are currently queued or "
                        "running. Try again later.",
                        "current_job_ids": busy,
                    },
                )
            self.jobs[jid] = job

        def run() -> None:
            time.sleep(JOB_DELAY_S)
            self.jobs_may_run.wait()
            results = []
            for index, item in enumerate(items):
                with self.lock:
                    job.update(status="working", progress=index)
                    results.append(_job_item(work, index, item))
                time.sleep(self.job_item_s)
            with self.lock:
                job.update(
                    status="completed",
                    progress=len(items),
                    results=results,
                    message="Completed at "
                    + time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime()),
                )

        threading.Thread(target=run, daemon=True, name=f"sandbox-job-{jid}").start()
        return dict(job)

    def job(self, jid: str) -> dict[str, Any]:
        """A job status (404 if unknown)."""
        job = self.jobs.get(jid)
        if job is None:
            raise not_found()
        return job


def _job_item(work: Callable[[int, Any], dict[str, Any]], index: int, item: Any) -> dict[str, Any]:
    """One item's result, or its failure shaped as Zendesk's."""
    try:
        return work(index, item)
    except ApiError as exc:
        return {
            "id": item.get("id") if isinstance(item, dict) else item,
            "index": index,
            "success": False,
            "error": exc.body.get("error"),
            "details": exc.body.get("description"),
        }


ORG_FIELDS = (
    "details",
    "notes",
    "domain_names",
    "external_id",
    "group_id",
    "tags",
    "organization_fields",
)
USER_FIELDS = (
    "details",
    "notes",
    "external_id",
    "phone",
    "user_fields",
    "alias",
    "custom_role_id",
    "role_type",
)
