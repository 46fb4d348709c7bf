"""Control endpoints: declare and change incidents (incident.io then sends its webhooks)."""

from __future__ import annotations

from typing import Any

from .store import NotFound
from .webhooks import envelope

DECLARE_KEYS = {"name", "summary", "severity", "status", "lead", "custom_fields", "visibility"}
CHANGE_KEYS = {"severity", "status", "lead", "message", "custom_fields"}


def declare(server: Any, **fields: Any) -> dict[str, Any]:
    """Declare an incident and send incident_created_v2."""
    incident = server.store.declare(**fields)
    server.webhooks.send(envelope("incident_created_v2", incident))
    return incident


def change(server: Any, incident_id: str, **fields: Any) -> dict[str, Any]:
    """Change an incident; send incident_status_updated_v2 or incident_updated_v2."""
    incident, previous = server.store.change(incident_id, **fields)
    if previous is not None:
        extra = {
            "new_status": incident["incident_status"],
            "previous_status": previous,
            "message": fields.get("message") or "",
        }
        server.webhooks.send(envelope("incident_status_updated_v2", incident, **extra))
    else:
        server.webhooks.send(envelope("incident_updated_v2", incident))
    return incident


def control(server: Any, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any, dict]:
    parts = path.strip("/").split("/")[1:]
    try:
        if method == "POST" and parts == ["incidents"]:
            fields = {k: v for k, v in body.items() if k in DECLARE_KEYS}
            return 201, {"incident": declare(server, **fields)}, {}
        if method == "POST" and len(parts) == 2 and parts[0] == "incidents":
            fields = {k: v for k, v in body.items() if k in CHANGE_KEYS}
            return 200, {"incident": change(server, parts[1], **fields)}, {}
        if method == "POST" and parts == ["webhook"]:
            server.webhooks.configure(str(body.get("url", "")), list(body.get("secrets", [])))
            return 200, {"url": server.webhooks.url}, {}
        if method == "GET" and parts == ["webhooks"]:
            return 200, {"sent": list(server.webhooks.sent)}, {}
    except NotFound as missing:
        return 404, {"error": f"no incident {missing}"}, {}
    except (TypeError, ValueError) as error:
        return 422, {"error": str(error)}, {}
    return 404, {"error": f"no control {method} {path}"}, {}
