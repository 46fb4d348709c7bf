"""The incidents of an emulated incident.io account, in the shapes of its API (IncidentV2)."""

from __future__ import annotations

import itertools
import re
import threading
from datetime import UTC, datetime
from typing import Any

SEVERITIES = [
    {"id": "01SEV1TRIVIAL", "name": "Trivial", "rank": 1, "description": "Retrospective issue"},
    {"id": "01SEV2MINOR", "name": "Minor", "rank": 2, "description": "Minor functionality"},
    {"id": "01SEV3MAJOR", "name": "Major", "rank": 3, "description": "Major functionality"},
    {"id": "01SEV4CRITICAL", "name": "Critical", "rank": 4, "description": "Sites down"},
]
STATUSES = [
    {"id": "01STTRIAGE", "name": "Triage", "category": "triage", "rank": 0},
    {"id": "01STINVESTIGATING", "name": "Investigating", "category": "live", "rank": 1},
    {"id": "01STFIXING", "name": "Fixing", "category": "live", "rank": 2},
    {"id": "01STMONITORING", "name": "Monitoring", "category": "live", "rank": 3},
    {"id": "01STDOCUMENTING", "name": "Documenting", "category": "learning", "rank": 4},
    {"id": "01STCLOSED", "name": "Closed", "category": "closed", "rank": 5},
    {"id": "01STDECLINED", "name": "Declined", "category": "declined", "rank": 6},
]
LEAD_ROLE = {
    "id": "01ROLELEAD",
    "name": "Incident Lead",
    "role_type": "lead",
    "shortform": "lead",
    "description": "Coordinates the response",
    "instructions": "Take point on the response",
    "required": True,
}
CLIENTS_AFFECTED = {
    "id": "01CFCLIENTS",
    "name": "Clients affected",
    "description": "Do clients see this incident?",
    "field_type": "single_select",
    "options": [
        {"id": "01OPTYES", "value": "yes", "custom_field_id": "01CFCLIENTS", "sort_key": 10},
        {"id": "01OPTNO", "value": "no", "custom_field_id": "01CFCLIENTS", "sort_key": 20},
    ],
}


class NotFound(KeyError):
    """No such incident."""


def stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _by_name(items: list[dict[str, Any]], name: str, what: str) -> dict[str, Any]:
    for item in items:
        if item["name"].lower() == name.lower():
            return dict(item)
    raise ValueError(f"no {what} named {name!r}")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


class Store:
    """Incidents and their updates; every change bumps updated_at."""

    def __init__(self, organisation: str = "brightwave") -> None:
        self.lock = threading.RLock()
        self.organisation = organisation
        self.incidents: dict[str, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []
        self._numbers = itertools.count(1)
        self._ids = itertools.count(1)

    def next_id(self, prefix: str) -> str:
        return f"01{prefix}{next(self._ids):020d}"

    def declare(
        self,
        *,
        name: str,
        summary: str = "",
        severity: str = "Major",
        status: str = "Investigating",
        lead: dict[str, str] | None = None,
        custom_fields: dict[str, str] | None = None,
        visibility: str = "public",
        slack_channel_id: str = "",
    ) -> dict[str, Any]:
        with self.lock:
            number = next(self._numbers)
            now = stamp()
            incident = {
                "id": self.next_id("INC"),
                "reference": f"INC-{number}",
                "name": name,
                "summary": summary,
                "permalink": f"https://app.incident.io/{self.organisation}/incidents/{number}",
                "mode": "standard",
                "visibility": visibility,
                "severity": _by_name(SEVERITIES, severity, "severity"),
                "incident_status": _by_name(STATUSES, status, "status"),
                "incident_type": {"id": "01TYPEDEFAULT", "name": "Default", "is_default": True},
                "incident_role_assignments": [],
                "slack_channel_id": slack_channel_id or f"C{number:08d}",
                "slack_channel_name": f"inc-{number}-{slug(name)}",
                "slack_team_id": "T0BRIGHTWAVE",
                "custom_field_entries": [],
                "incident_timestamp_values": [],
                "call_url": "",
                "created_at": now,
                "updated_at": now,
            }
            self.incidents[incident["id"]] = incident
            self._assign_lead(incident, lead)
            for field_name, value in (custom_fields or {}).items():
                self._set_field(incident, field_name, value)
            return incident

    def change(
        self,
        incident_id: str,
        *,
        severity: str | None = None,
        status: str | None = None,
        lead: dict[str, str] | None = None,
        message: str | None = None,
        custom_fields: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Change an incident; returns it and the previous status when the status changed."""
        with self.lock:
            incident = self.get(incident_id)
            previous = None
            if severity is not None:
                incident["severity"] = _by_name(SEVERITIES, severity, "severity")
            if status is not None:
                new = _by_name(STATUSES, status, "status")
                if new["id"] != incident["incident_status"]["id"]:
                    previous = incident["incident_status"]
                    incident["incident_status"] = new
            if lead is not None:
                self._assign_lead(incident, lead)
            for field_name, value in (custom_fields or {}).items():
                self._set_field(incident, field_name, value)
            if message is not None or previous is not None:
                self.updates.append(
                    {
                        "id": self.next_id("UPD"),
                        "incident_id": incident_id,
                        "message": message or "",
                        "new_incident_status": incident["incident_status"],
                        "new_severity": incident["severity"],
                        "updater": {"user": self._lead(incident)},
                        "created_at": stamp(),
                    }
                )
            incident["updated_at"] = stamp()
            return incident, previous

    def get(self, incident_id: str) -> dict[str, Any]:
        with self.lock:
            if incident_id not in self.incidents:
                raise NotFound(incident_id)
            return self.incidents[incident_id]

    def latest_message(self, incident_id: str) -> str:
        with self.lock:
            found = [u["message"] for u in self.updates if u["incident_id"] == incident_id]
            return next((m for m in reversed(found) if m), "")

    def _lead(self, incident: dict[str, Any]) -> dict[str, Any] | None:
        for assignment in incident["incident_role_assignments"]:
            if assignment["role"]["role_type"] == "lead":
                return assignment.get("assignee")
        return None

    def _assign_lead(self, incident: dict[str, Any], lead: dict[str, str] | None) -> None:
        assignee = None
        if lead:
            assignee = {
                "id": self.next_id("USR"),
                "name": lead.get("name", ""),
                "email": lead.get("email", ""),
                "role": "responder",
                "slack_user_id": lead.get("slack_user_id", "U0LEAD"),
            }
        incident["incident_role_assignments"] = [{"role": dict(LEAD_ROLE), "assignee": assignee}]

    def _set_field(self, incident: dict[str, Any], field_name: str, value: str) -> None:
        if field_name.lower() != CLIENTS_AFFECTED["name"].lower():
            raise ValueError(f"no custom field named {field_name!r}")
        option = _by_name(
            [{**o, "name": o["value"]} for o in CLIENTS_AFFECTED["options"]], value, "option"
        )
        option.pop("name")
        field = {k: v for k, v in CLIENTS_AFFECTED.items() if k != "options"}
        entries = [
            e for e in incident["custom_field_entries"] if e["custom_field"]["id"] != field["id"]
        ]
        entries.append({"custom_field": field, "values": [{"value_option": option}]})
        incident["custom_field_entries"] = entries
