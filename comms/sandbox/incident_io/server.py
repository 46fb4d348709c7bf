"""The incident.io API subset comms uses, with its auth, errors, paging and rate limit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ..jsonserver import Faults, JsonHandler, JsonServer, Window
from .store import SEVERITIES, STATUSES, NotFound, Store

RATE_LIMIT_PER_MINUTE = 1200  # per API key (api-docs.incident.io)
MAX_PAGE_SIZE = 250


def problem(status: int, kind: str, message: str) -> dict[str, Any]:
    """incident.io's error body."""
    return {
        "type": kind,
        "status": status,
        "request_id": str(uuid.uuid4()),
        "errors": [{"code": kind, "message": message}],
    }


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Handler(JsonHandler):
    server: IncidentIoServer

    def route(self) -> tuple[int, Any, dict[str, str]]:
        if self.path_only.startswith("/_emulator/"):
            from .control import control

            return control(self.server, self.command, self.path_only, self.json_body() or {})
        self.server.request_count += 1
        fault = self.server.faults.take(self.path_only)
        if fault:
            headers = {"Retry-After": str(fault["retry"])} if fault["status"] == 429 else {}
            return fault["status"], problem(fault["status"], "injected", "Injected fault"), headers
        key = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if key not in self.server.keys:
            message = "Invalid API key" if key else "No API key: send Authorization: Bearer <key>"
            return 401, problem(401, "authentication_error", message), {}
        wait = self.server.window_for(key).admit()
        if wait:
            message = "Rate limit exceeded"
            return 429, problem(429, "rate_limited", message), {"Retry-After": str(wait)}
        can_see_private = self.server.keys[key]
        with self.server.store.lock:
            return self.api(can_see_private)

    def api(self, private: bool) -> tuple[int, Any, dict[str, str]]:
        path, store = self.path_only.rstrip("/"), self.server.store
        if self.command == "GET" and path == "/v1/severities":
            return 200, {"severities": SEVERITIES}, {}
        if self.command == "GET" and path == "/v1/incident_statuses":
            return 200, {"incident_statuses": STATUSES}, {}
        if self.command == "POST" and path.startswith("/v2/incidents/"):
            return self.edit(path, private)
        if self.command == "GET" and path == "/v2/incidents":
            return self.list_incidents(private)
        if self.command == "GET" and path.startswith("/v2/incidents/"):
            try:
                incident = store.get(path.removeprefix("/v2/incidents/"))
            except NotFound:
                incident = None
            if incident is None or (incident["visibility"] == "private" and not private):
                return 404, problem(404, "not_found", "The incident was not found"), {}
            return 200, {"incident": incident}, {}
        if self.command == "GET" and path == "/v2/incident_updates":
            wanted = self.query.get("incident_id", "")
            found = [u for u in store.updates if not wanted or u["incident_id"] == wanted]
            found = sorted(found, key=lambda u: u["created_at"], reverse=True)
            return 200, {"incident_updates": found, "pagination_meta": {"page_size": 25}}, {}
        return 404, problem(404, "not_found", f"No route for {self.command} {path}"), {}

    def edit(self, path: str, private: bool) -> tuple[int, Any, dict[str, str]]:
        """POST /v2/incidents/{id}/actions/edit: severity, status; webhooks follow."""
        incident_id, _, action = path.removeprefix("/v2/incidents/").partition("/")
        if action != "actions/edit":
            return 404, problem(404, "not_found", f"No route for POST {path}"), {}
        body = self.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("incident"), dict):
            return 422, problem(422, "validation_error", "incident: is required"), {}
        if not isinstance(body.get("notify_incident_channel"), bool):
            return 422, problem(422, "validation_error", "notify_incident_channel: is required"), {}
        try:
            incident = self.server.store.get(incident_id)
        except NotFound:
            incident = None
        if incident is None or (incident["visibility"] == "private" and not private):
            return 404, problem(404, "not_found", "The incident was not found"), {}
        wanted, fields = body["incident"], {}
        for key, items, name in (
            ("severity_id", SEVERITIES, "severity"),
            ("incident_status_id", STATUSES, "status"),
        ):
            if key in wanted:
                found = [i for i in items if i["id"] == wanted[key]]
                if not found:
                    return 422, problem(422, "validation_error", f"{key}: not found"), {}
                fields[name] = found[0]["name"]
        from .control import change

        return 200, {"incident": change(self.server, incident_id, **fields)}, {}

    def list_incidents(self, private: bool) -> tuple[int, Any, dict[str, str]]:
        query = self.query
        try:
            size = int(query.get("page_size", "25"))
            since = _time(query["updated_at[gte]"]) if "updated_at[gte]" in query else None
        except ValueError as error:
            return 422, problem(422, "validation_error", f"Invalid parameter: {error}"), {}
        if not 1 <= size <= MAX_PAGE_SIZE:
            message = f"page_size must be between 1 and {MAX_PAGE_SIZE}"
            return 422, problem(422, "validation_error", message), {}
        categories = set(filter(None, query.get("status_category[one_of]", "").split(",")))
        found = [
            i
            for i in self.server.store.incidents.values()
            if (private or i["visibility"] != "private")
            and (not categories or i["incident_status"]["category"] in categories)
            and (since is None or _time(i["updated_at"]) >= since)
        ]
        found.sort(key=lambda i: i["id"])
        after = query.get("after")
        if after:
            found = [i for i in found if i["id"] > after]
        page = found[:size]
        meta: dict[str, Any] = {"page_size": size, "total_record_count": len(found)}
        if len(found) > size:
            meta["after"] = page[-1]["id"]
        return 200, {"incidents": page, "pagination_meta": meta}, {}


class IncidentIoServer(JsonServer):
    def __init__(self, host: str, port: int, store: Store, keys: dict[str, bool]) -> None:
        super().__init__(host, port, Handler)
        self.store = store
        self.keys = keys
        self.faults = Faults()
        self.rate_limit: int | None = RATE_LIMIT_PER_MINUTE
        self.windows: dict[str, Window] = {}
        self.request_count = 0
        from .webhooks import Webhooks

        self.webhooks = Webhooks()

    def window_for(self, key: str) -> Window:
        if key not in self.windows:
            self.windows[key] = Window(self.rate_limit, 60)
        return self.windows[key]
