"""The gateway's plumbing: one zenpy client, error translation, raw JSON reads and job polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Self, TypeVar

from zenpy import Zenpy

from comms.config import ZendeskSettings
from comms.zendesk.errors import JobUnfinished, ZendeskError, translate
from comms.zendesk.models import Permissions, User, user_from_json
from comms.zendesk.transport import (
    Pacer,
    RequestCounter,
    address,
    close_client,
    make_client,
    reset_budget,
)

T = TypeVar("T")
CHUNK = 100
FINISHED = ("completed", "failed", "killed")
SEARCH_LIMIT = 1000


class BeyondSearchLimit(Exception):
    """A search matches more than the 1,000 results Zendesk will return."""


def quoted(term: str) -> str:
    """Quote a search term so spaces and colons are taken literally."""
    return '"' + term.replace('"', " ").strip() + '"'


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[list[T]]:
    """Yield consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def as_json(obj: Any) -> dict[str, Any]:
    """Return a zenpy object (or a TicketAudit's ticket) as a plain dict."""
    obj = getattr(obj, "ticket", None) or obj
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class GatewayBase:
    """Hold the client and the settings; translate every failure into a ZendeskError."""

    # Sleeps between retries of a server error; tests may shorten them.
    retry_delays: Sequence[float] = (0.25, 0.5, 1.0)
    job_poll_interval: float = 0.2

    def __init__(self, settings: ZendeskSettings) -> None:
        self.settings = settings
        self.address = address(settings)
        self._counter = RequestCounter()
        self.pacer = Pacer()  # shared by every client of this gateway
        self.pacer.max_wait = settings.rate_limit_wait_seconds
        self._client = self._new_client()
        self._export_lock = threading.Lock()
        self._export: tuple[float, datetime, list[dict[str, Any]]] | None = None

    @property
    def request_count(self) -> int:
        """Return how many HTTP requests this gateway has made."""
        return self._counter.value

    def rate_limit_note(self) -> str:
        """While waiting for Zendesk's rate limit to reset, one sentence saying so; else ""."""
        wait = self.pacer.seconds_to_wait()
        if not wait:
            return ""
        if self.pacer.waiting_for_jobs:
            return (
                "Waiting for Zendesk to finish other jobs: the account has 30 bulk jobs "
                "queued or running, the most Zendesk allows (other apps count too)."
            )
        return (
            f"Waiting {wait:.0f} s for Zendesk's rate limit to reset: the account's requests "
            "for this minute are used up (other apps on the account count too)."
        )

    def _new_client(self) -> Zenpy:
        return make_client(self.settings, self._counter, self.retry_delays, self.pacer)

    def close(self) -> None:
        """Close the HTTP connections."""
        close_client(self._client)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _guard(
        self,
        not_found: ZendeskError | None = None,
        client: Zenpy | None = None,
        action: str | None = None,
    ) -> Iterator[None]:
        """Refill the rate-limit budget, then turn any failure into a ZendeskError.

        `action` ("merge tickets") names what a 403 means the API user may not do.
        """
        reset_budget(client or self._client, self.settings.rate_limit_wait_seconds)
        try:
            yield
        except Exception as error:
            mapped = translate(
                error,
                address=self.address,
                email=self.settings.email,
                timeout=self.settings.timeout,
                budget=self.settings.rate_limit_wait_seconds,
                not_found=not_found,
                action=action,
            )
            if mapped is None:
                raise
            raise mapped from error

    def _get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        client: Zenpy | None = None,
    ) -> dict[str, Any]:
        """GET a path (or a full URL from a pagination link) through zenpy's session."""
        url = path if "://" in path else f"{self.address}/api/v2/{path}.json"
        api = (client or self._client).tickets
        response = api._get(url, raw_response=True, params=dict(params or {}))
        body = response.json()
        if not isinstance(body, dict):
            raise ZendeskError(f"Zendesk sent an unexpected answer to GET {path}")
        return body

    def _search(self, query: str, strict: bool = False) -> list[dict[str, Any]]:
        """Return all results (at most 1,000); strict raises BeyondSearchLimit if there are more."""
        params: dict[str, Any] | None = {"query": query, "per_page": 100}
        url = "search"
        found: list[dict[str, Any]] = []
        while url and len(found) < SEARCH_LIMIT:
            with self._guard():
                body = self._get_json(url, params)
            if strict and int(body.get("count") or 0) > SEARCH_LIMIT:
                raise BeyondSearchLimit(query)
            results = body.get("results") or []
            found += results
            url, params = (body.get("next_page") or "") if results else "", None
        return found

    def me(self) -> User:
        """Return the signed-in user (checks address, e-mail and token)."""
        with self._guard():
            return user_from_json(self._get_json("users/me")["user"])

    def permissions(self) -> Permissions:
        """What the API user's role allows: admins everything, agents what their role says."""
        with self._guard():
            raw = self._get_json("users/me")["user"]
        user = user_from_json(raw)
        if user.role == "admin":
            return Permissions(user, "admin", True, True, True)
        if user.role != "agent":
            return Permissions(user, user.role, False, False, False)
        role_id = raw.get("custom_role_id")
        try:
            with self._guard():
                roles = self._get_json("custom_roles").get("custom_roles") or []
        except ZendeskError:  # plans without custom roles: an agent may do all three
            roles = []
        role = next((r for r in roles if r.get("id") == role_id), None)
        if role is None:
            return Permissions(user, "agent", True, True, True)
        config = role.get("configuration") or {}
        return Permissions(
            user,
            f"agent, role {role.get('name') or role_id}",
            can_create=True,
            can_edit=bool(config.get("ticket_editing")),
            can_merge=bool(config.get("ticket_merge")),
        )

    def _wait_for_job(
        self, job_id: str, timeout: float, client: Zenpy | None = None
    ) -> dict[str, Any]:
        """Poll a job status until Zendesk finishes it, or give up after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        interval = self.job_poll_interval
        while True:
            with self._guard(client=client):
                job = self._get_json(f"job_statuses/{job_id}", client=client)["job_status"]
            if job.get("status") in FINISHED:
                return dict(job)
            if time.monotonic() + interval > deadline:
                raise JobUnfinished(
                    f"Zendesk did not finish job {job_id} within {timeout:g} s; "
                    "its tickets may still change: check them in Zendesk"
                )
            time.sleep(interval)
            interval = min(interval * 1.5, 2.0)


ProgressCallback = Callable[[int, int], None]
