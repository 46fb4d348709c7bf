"""Organisations and users: the raw material of the contact list."""

from __future__ import annotations

import queue
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from zenpy import Zenpy

from comms.zendesk.base import BeyondSearchLimit, GatewayBase, ProgressCallback, chunks, quoted
from comms.zendesk.errors import ZendeskNotFound
from comms.zendesk.models import Organization, User, organization_from_json, user_from_json
from comms.zendesk.transport import close_client

PAGE_SIZE = 100


class DirectoryOperations(GatewayBase):
    """Find organisations and read their users."""

    def search_organizations(self, name: str, limit: int = 20) -> list[Organization]:
        """Return organisations whose name starts with `name` (for as-you-type search)."""
        name = name.strip()
        if len(name) < 2:  # Zendesk's autocomplete wants at least two characters.
            return []
        with self._guard():
            body = self._get_json(
                "organizations/autocomplete", {"name": name, "per_page": min(limit, 100)}
            )
        return [organization_from_json(o) for o in body.get("organizations", [])][:limit]

    def organizations(self, ids: Sequence[int]) -> list[Organization]:
        """Return the organisations that exist among `ids` (show_many, 100 at a time)."""
        return [organization_from_json(o) for o in self._show_many("organizations", ids)]

    def users(self, ids: Sequence[int]) -> list[User]:
        """Return the users that exist among `ids` (show_many, 100 at a time)."""
        return [user_from_json(u) for u in self._show_many("users", ids)]

    def _show_many(self, kind: str, ids: Sequence[int]) -> Iterator[dict[str, Any]]:
        for chunk in chunks(list(dict.fromkeys(int(i) for i in ids))):
            with self._guard():
                body = self._get_json(f"{kind}/show_many", {"ids": ",".join(map(str, chunk))})
            yield from body.get(kind, [])

    def organizations_by_tag(self, tag: str) -> list[Organization]:
        """Return every organisation with the tag, even beyond search's 1,000-result limit."""
        try:
            items = self._search(f"type:organization tags:{quoted(tag)}", strict=True)
        except BeyondSearchLimit:
            return self._all_organizations_tagged(tag)
        found = {
            int(o["id"]): organization_from_json(o)
            for o in items
            if o.get("result_type", "organization") == "organization"
        }
        return sorted(found.values(), key=lambda o: o.name.lower())

    def _all_organizations_tagged(self, tag: str) -> list[Organization]:
        """List every organisation (cursor pages) and keep the tagged ones."""
        found = []
        after: str | None = None
        while True:
            params = {"page[size]": PAGE_SIZE} | ({"page[after]": after} if after else {})
            with self._guard():
                body = self._get_json("organizations", params)
            found += [
                organization_from_json(o)
                for o in body.get("organizations", [])
                if tag in (o.get("tags") or ())
            ]
            after = _next_cursor(body)
            if after is None:
                return sorted(found, key=lambda o: o.name.lower())

    def organization_end_users(
        self,
        organization_ids: Sequence[int],
        *,
        concurrency: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> dict[int, list[User]]:
        """Return each organisation's end-users; organisations that no longer exist are left out."""
        org_ids = list(dict.fromkeys(int(i) for i in organization_ids))
        workers = max(1, min(concurrency or self.settings.concurrency or 4, len(org_ids) or 1))
        clients: queue.Queue[Zenpy] = queue.Queue()
        extra = [self._new_client() for _ in range(workers - 1)]
        for client in [self._client, *extra]:
            clients.put(client)
        result: dict[int, list[User]] = {}
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(self._org_users_with, clients, oid): oid for oid in org_ids}
                for done, future in enumerate(as_completed(futures), start=1):
                    users = future.result()
                    if users is not None:
                        result[futures[future]] = users
                    if progress is not None:
                        progress(done, len(org_ids))
        finally:
            for client in extra:
                close_client(client)
        return {oid: result[oid] for oid in org_ids if oid in result}

    def _org_users_with(self, clients: queue.Queue[Zenpy], org_id: int) -> list[User] | None:
        """Borrow a client (one per thread in flight), read the organisation's end-users."""
        client = clients.get()
        try:
            return self._org_users(client, org_id)
        except ZendeskNotFound:
            return None
        finally:
            clients.put(client)

    def _org_users(self, client: Zenpy, org_id: int) -> list[User]:
        """Read one organisation's end-users, 100 a page, stopping when has_more is false."""
        users: list[User] = []
        after: str | None = None
        missing = ZendeskNotFound(f"organization {org_id} does not exist in Zendesk")
        while True:
            params = {"role": "end-user", "page[size]": PAGE_SIZE}
            if after:
                params["page[after]"] = after
            with self._guard(not_found=missing, client=client):
                body = self._get_json(f"organizations/{org_id}/users", params, client=client)
            users += [user_from_json(u) for u in body.get("users", [])]
            after = _next_cursor(body)
            if after is None:
                return users


def _next_cursor(body: dict[str, Any]) -> str | None:
    """Return the cursor of the next page, or None when Zendesk says there is no more."""
    meta = body.get("meta") or {}
    if not meta.get("has_more") or not body.get("links", {}).get("next"):
        return None
    return meta.get("after_cursor") or None
