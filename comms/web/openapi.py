"""The OpenAPI document of /api/v1, kept in step with the routes by a test."""

from __future__ import annotations

from typing import Any

from comms.incidents.models import SEVERITIES
from comms.incidents.service import STATUS_FILTERS
from comms.web.api import bp
from comms.web.paging import DEFAULT_SIZE, MAX_SIZE

ERROR = {"$ref": "#/components/schemas/Error"}
ACCEPTED = {
    "description": "Recorded; follow it at the Location, GET /operations/{operation_id}",
    "headers": {"Location": {"schema": {"type": "string"}}},
}
INCIDENT_REF = {
    "name": "ref",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "INC-<n> or the numeric id",
}

# (method, path, summary, request body properties or None)
OPERATIONS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("get", "/me", "Who this token belongs to", None),
    ("get", "/openapi.json", "This document", None),
    ("post", "/zendesk/webhook", "Zendesk webhook intake (signed, no bearer token)", {}),
    ("post", "/incident-io/webhook", "incident.io webhook intake (Svix-signed, no token)", {}),
    ("post", "/slack/commands", "Slack's /comms slash command (signed by Slack, no token)", {}),
    ("get", "/incidents", "List incidents, newest first (?status=, ?severity=, ?q=)", None),
    (
        "post",
        "/incidents",
        "Declare an incident",
        {
            "title": {"type": "string"},
            "severity": {"enum": ["critical", "major", "minor", "trivial"]},
            "description": {"type": "string"},
            "business_unit": {"type": "string"},
            "lead_name": {"type": "string"},
            "lead_email": {"type": "string"},
            "keywords": {"type": "array", "items": {"type": "string"}},
            "from_ticket_id": {"type": "integer"},
            "ticket_as_parent": {"type": "boolean"},
            "security": {"type": "boolean"},
            "auto_link": {"type": "boolean"},
        },
    ),
    ("get", "/incidents/{ref}", "One incident", None),
    (
        "patch",
        "/incidents/{ref}",
        "Change severity or status",
        {
            "severity": {"type": "string"},
            "status": {"type": "string"},
            "note": {"type": "string"},
            "auto_link": {"type": "boolean"},
        },
    ),
    (
        "post",
        "/incidents/{ref}/parent-ticket",
        "Adopt ticket_id as parent, or create one",
        {
            "ticket_id": {"type": "integer"},
        },
    ),
    ("get", "/incidents/{ref}/candidates", "Candidate tickets found so far", None),
    ("post", "/incidents/{ref}/candidates", "Ask Zendesk again (202: an operation)", {}),
    (
        "post",
        "/incidents/{ref}/links",
        "Link tickets to the parent (202: an operation to follow)",
        {
            "ticket_ids": {"type": "array", "items": {"type": "integer"}},
            "move": {"type": "boolean"},
        },
    ),
    (
        "post",
        "/incidents/{ref}/merges",
        "Merge duplicates into a target (irreversible; 202: an operation)",
        {
            "target_id": {"type": "integer"},
            "source_ids": {"type": "array", "items": {"type": "integer"}},
        },
    ),
    ("get", "/incidents/{ref}/merges", "The merge ledger: each merge and its outcome", None),
    ("get", "/incidents/{ref}/tickets", "Linked and merged tickets", None),
    ("get", "/incidents/{ref}/timeline", "The timeline", None),
    ("get", "/incidents/{ref}/organizations", "Affected organisations", None),
    (
        "post",
        "/incidents/{ref}/organizations",
        "Add organisations by id or by tag",
        {
            "organization_ids": {"type": "array", "items": {"type": "integer"}},
            "tag": {"type": "string"},
        },
    ),
    ("delete", "/incidents/{ref}/organizations/{organization_id}", "Remove an organisation", None),
    ("get", "/incidents/{ref}/contacts", "The contact list (?format=csv)", None),
    (
        "post",
        "/incidents/{ref}/contacts",
        "Add a contact by hand",
        {
            "email": {"type": "string"},
            "name": {"type": "string"},
        },
    ),
    ("post", "/incidents/{ref}/contacts/refresh", "Refresh the contacts (202: an operation)", {}),
    ("get", "/operations/{operation_id}", "A long operation: state, progress, outcomes", None),
    ("delete", "/incidents/{ref}/contacts/{email}", "Exclude a contact", None),
    ("post", "/incidents/{ref}/contacts/{email}/include", "Include an excluded contact again", {}),
    ("get", "/incidents/{ref}/updates", "Updates with delivery counts by state", None),
    (
        "post",
        "/incidents/{ref}/updates",
        "Publish (send_now) or save the status text",
        {
            "message": {"type": "string"},
            "send_now": {"type": "boolean"},
        },
    ),
    (
        "post",
        "/incidents/{ref}/updates/preview",
        "The exact e-mail a contact would receive",
        {
            "message": {"type": "string"},
            "email": {"type": "string"},
        },
    ),
    ("get", "/incidents/{ref}/updates/{number}/deliveries", "Deliveries of one update", None),
    (
        "post",
        "/incidents/{ref}/resolve",
        "Resolve: the last update, optionally solve parent (or 202: solving, an operation)",
        {
            "message": {"type": "string"},
            "solve_parent": {"type": "boolean"},
        },
    ),
    (
        "post",
        "/incidents/{ref}/schedule",
        "Pause or resume the schedule",
        {
            "paused": {"type": "boolean"},
            "reason": {"type": "string"},
        },
    ),
    ("get", "/incidents/{ref}/report", "The draft incident report (Markdown)", None),
    ("get", "/incidents/{ref}/review.ics", "The review meeting invite (iCalendar)", None),
]


# Answers besides 200 that an operation gives when it works.
CREATED = {"201": {"description": "Created"}}
OTHER_SUCCESS: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/incidents"): CREATED,
    ("post", "/incidents/{ref}/parent-ticket"): CREATED,
    ("post", "/incidents/{ref}/organizations"): CREATED,
    ("post", "/incidents/{ref}/contacts"): CREATED,
    ("post", "/incidents/{ref}/updates"): CREATED,
    ("post", "/incident-io/webhook"): {"202": {"description": "Accepted, worked on next"}},
}

# Lists that page, Zendesk-style: ?page[size]=&page[after]=, and `meta` and `links` in the answer.
PAGED = {
    "/incidents": "incidents",
    "/incidents/{ref}/candidates": "candidates",
    "/incidents/{ref}/tickets": "tickets",
    "/incidents/{ref}/timeline": "timeline",
    "/incidents/{ref}/contacts": "contacts",
    "/incidents/{ref}/organizations": "organizations",
    "/incidents/{ref}/merges": "merges",
    "/incidents/{ref}/updates": "updates",
    "/incidents/{ref}/updates/{number}/deliveries": "deliveries",
}
PAGE_PARAMETERS = [
    {
        "name": "page[size]",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SIZE, "default": DEFAULT_SIZE},
        "description": "How many rows a page holds",
    },
    {
        "name": "page[after]",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "The cursor of the page to read: meta.after_cursor of the one before",
    },
]


# The filters of the incidents list (GET /incidents).
INCIDENT_FILTERS = [
    {
        "name": "status",
        "in": "query",
        "required": False,
        "schema": {"enum": list(STATUS_FILTERS)},
        "description": "open (any status but resolved), or one status",
    },
    {
        "name": "severity",
        "in": "query",
        "required": False,
        "schema": {"enum": list(SEVERITIES)},
    },
    {
        "name": "q",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "A reference (INC-7) or words of the title",
    },
]


def _paged_answer(key: str) -> dict[str, Any]:
    """The answer of a paged list: its rows under `key`, then `meta` and `links`."""
    return {
        "type": "object",
        "required": [key, "meta", "links"],
        "properties": {
            key: {"type": "array", "items": {"type": "object"}},
            "meta": {
                "type": "object",
                "properties": {
                    "has_more": {"type": "boolean"},
                    "after_cursor": {"type": ["string", "null"]},
                },
            },
            "links": {
                "type": "object",
                "properties": {"next": {"type": ["string", "null"], "format": "uri"}},
            },
        },
    }


def _parameters(path: str) -> list[dict[str, Any]]:
    found = []
    for name in ("ref", "organization_id", "email", "number", "operation_id"):
        if "{" + name + "}" in path:
            found.append(
                INCIDENT_REF
                if name == "ref"
                else {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
            )
    return found


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path, summary, body in OPERATIONS:
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": _parameters(path),
            "responses": {
                "200": {"description": "OK"},
                "4XX": {"description": "Error", "content": {"application/json": {"schema": ERROR}}},
            },
        }
        operation["responses"].update(OTHER_SUCCESS.get((method, path), {}))
        if "or 202" in summary:
            operation["responses"]["202"] = ACCEPTED
        elif "202" in summary:
            operation["responses"] = {"202": ACCEPTED, "4XX": operation["responses"]["4XX"]}
        if method == "get" and path in PAGED:
            operation["parameters"] += PAGE_PARAMETERS
            if path == "/incidents":
                operation["parameters"] += INCIDENT_FILTERS
            answer = {"application/json": {"schema": _paged_answer(PAGED[path])}}
            operation["responses"]["200"] = {"description": "One page", "content": answer}
        if body is not None:
            operation["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": {"type": "object", "properties": body}}},
            }
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "comms API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        },
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI description of this API."""
    return document()
