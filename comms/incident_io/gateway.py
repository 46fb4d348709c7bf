"""The only module that speaks to incident.io's API, returning the project's own dataclasses."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from comms.config import IncidentIoSettings

PAGE_SIZE = 250
MAX_WAIT_SECONDS = 10  # a longer Retry-After is reported, and the next tick tries again


class IncidentIoError(Exception):
    """incident.io could not be reached or refused; the message says what to do."""


class IncidentNotFound(IncidentIoError):
    """No such incident, or the key may not read it (private incidents need a key that can)."""


@dataclass(frozen=True)
class Role:
    role_type: str
    name: str
    assignee_name: str
    assignee_email: str


@dataclass(frozen=True)
class RemoteIncident:
    """An incident as incident.io's API shows it (only what comms uses)."""

    id: str
    reference: str
    name: str
    summary: str
    permalink: str
    visibility: str
    severity_name: str
    severity_rank: int | None
    status_name: str
    status_category: str
    slack_channel_id: str
    slack_channel_name: str
    updated_at: datetime | None
    roles: tuple[Role, ...] = ()
    custom_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _field_values(entry: dict[str, Any]) -> tuple[str, ...]:
    values = []
    for value in entry.get("values") or []:
        option = value.get("value_option") or value.get("value_catalog_entry") or {}
        text = option.get("value") or option.get("name") or value.get("value_text")
        if text is None and value.get("value_numeric") is not None:
            text = str(value["value_numeric"])
        if text:
            values.append(str(text))
    return tuple(values)


def parse_incident(data: dict[str, Any]) -> RemoteIncident:
    """Read IncidentV2 (the API's and the webhook's shape)."""
    severity = data.get("severity") or {}
    status = data.get("incident_status") or {}
    roles = tuple(
        Role(
            role_type=str((a.get("role") or {}).get("role_type") or ""),
            name=str((a.get("role") or {}).get("name") or ""),
            assignee_name=str((a.get("assignee") or {}).get("name") or ""),
            assignee_email=str((a.get("assignee") or {}).get("email") or ""),
        )
        for a in data.get("incident_role_assignments") or []
    )
    fields = {
        str((entry.get("custom_field") or {}).get("name") or ""): _field_values(entry)
        for entry in data.get("custom_field_entries") or []
    }
    rank = severity.get("rank")
    return RemoteIncident(
        id=str(data["id"]),
        reference=str(data.get("reference") or ""),
        name=str(data.get("name") or ""),
        summary=str(data.get("summary") or ""),
        permalink=str(data.get("permalink") or ""),
        visibility=str(data.get("visibility") or "public"),
        severity_name=str(severity.get("name") or ""),
        severity_rank=rank if isinstance(rank, int) and not isinstance(rank, bool) else None,
        status_name=str(status.get("name") or ""),
        status_category=str(status.get("category") or ""),
        slack_channel_id=str(data.get("slack_channel_id") or ""),
        slack_channel_name=str(data.get("slack_channel_name") or ""),
        updated_at=_parse_time(data.get("updated_at")),
        roles=roles,
        custom_fields=fields,
    )


class IncidentIoGateway:
    """incident.io's REST API over HTTPS with a bearer key."""

    def __init__(self, settings: IncidentIoSettings) -> None:
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update(
            {"Authorization": f"Bearer {settings.api_key}", "User-Agent": "comms"}
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> IncidentIoGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self._request("GET", path, params=params)

    def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        for _attempt in range(3):
            try:
                response = self.http.request(
                    method,
                    self.base + path,
                    params=params,
                    json=body,
                    timeout=self.settings.timeout,
                )
            except requests.RequestException as error:
                message = f"incident.io at {self.base} cannot be reached: {error}"
                raise IncidentIoError(message) from None
            if response.status_code != 429:
                break
            wait = int(response.headers.get("Retry-After") or 60)
            if wait > MAX_WAIT_SECONDS:
                raise IncidentIoError(f"incident.io asks to slow down for {wait} s; trying later")
            time.sleep(wait)
        if response.status_code == 401:
            raise IncidentIoError(
                "incident.io refused the API key: check [incident_io] api_key "
                "(COMMS_INCIDENT_IO_API_KEY)"
            )
        if response.status_code == 404:
            raise IncidentNotFound(f"incident.io has no {path} that this API key may read")
        if response.status_code == 403:
            raise IncidentIoError(
                f"incident.io refused {method} {path}: the API key may not do that "
                "(give it the permission to edit incidents)"
            )
        if response.status_code >= 400:
            raise IncidentIoError(f"incident.io answered {response.status_code} for {path}")
        try:
            return response.json()
        except ValueError:
            raise IncidentIoError(f"incident.io answered {path} with something not JSON") from None

    def incident(self, incident_id: str) -> RemoteIncident:
        """GET /v2/incidents/{id}: the truth about one incident."""
        return parse_incident(self._get(f"/v2/incidents/{incident_id}")["incident"])

    def live_incidents(self, *, updated_since: datetime | None) -> list[RemoteIncident]:
        """Incidents in the live (or closed-since) categories changed since the last look."""
        found: list[RemoteIncident] = []
        params = {"page_size": str(PAGE_SIZE)}
        if updated_since is not None:
            params["updated_at[gte]"] = updated_since.isoformat().replace("+00:00", "Z")
        for category in ("triage", "live", "learning", "closed"):
            after: str | None = None
            while True:
                page_params = {**params, "status_category[one_of]": category}
                if after:
                    page_params["after"] = after
                page = self._get("/v2/incidents", page_params)
                found.extend(parse_incident(item) for item in page.get("incidents") or [])
                after = (page.get("pagination_meta") or {}).get("after")
                if not after:
                    break
        return found

    def latest_update(self, incident_id: str) -> str:
        """The text of the lead's latest update ("" when none)."""
        page = self._get("/v2/incident_updates", {"incident_id": incident_id, "page_size": "5"})
        for update in page.get("incident_updates") or []:
            if update.get("message"):
                return str(update["message"])
        return ""

    def statuses(self) -> list[dict[str, Any]]:
        """GET /v1/incident_statuses: the account's statuses, with their categories."""
        return list(self._get("/v1/incident_statuses").get("incident_statuses") or [])

    def edit(self, incident_id: str, fields: dict[str, str]) -> RemoteIncident:
        """POST /v2/incidents/{id}/actions/edit (severity_id, incident_status_id); the channel
        is told, as when someone changes it in Slack. Answers the incident as edited."""
        body = {"incident": fields, "notify_incident_channel": True}
        answer = self._request("POST", f"/v2/incidents/{incident_id}/actions/edit", body=body)
        return parse_incident(answer["incident"])

    def severities(self) -> list[dict[str, Any]]:
        """GET /v1/severities (also how `comms check` signs in)."""
        return list(self._get("/v1/severities").get("severities") or [])
