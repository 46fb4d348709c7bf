"""Zendesk-shaped JSON objects and error bodies, keyed like the recorded real responses."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

BRAND_ID = 360000000001
TICKET_FORM_ID = 360000000002
CUSTOM_STATUS_IDS = {
    "new": 360000000010,
    "open": 360000000011,
    "pending": 360000000012,
    "hold": 360000000013,
    "solved": 360000000014,
    "closed": 360000000015,
}
STATUS_ORDER = ["new", "open", "pending", "hold", "solved", "closed"]
VIA_API = {"channel": "api", "source": {"from": {}, "rel": None, "to": {}}}


def norm_tags(tags: Any) -> list[str]:
    """Normalise tags like Zendesk: lower case, split on spaces, no duplicates."""
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    for tag in tags or []:
        for part in str(tag).lower().split():
            if part not in out:
                out.append(part)
    return out


FORBIDDEN = {
    "error": "Forbidden",
    "description": "You do not have access to this page. Please contact the account owner of "
    "this help desk for further help.",
}
# Agent roles (Enterprise custom roles): the default one, a light agent, an agent who may not merge.
STAFF_ROLE_ID, LIGHT_AGENT_ROLE_ID, NO_MERGE_ROLE_ID = 360000000020, 360000000021, 360000000022


def custom_role(rid: int, name: str, role_type: int, editing: bool, merge: bool) -> dict[str, Any]:
    """A custom role, with the configuration keys comms reads (the rest as Zendesk's example)."""
    return {
        "configuration": {
            "chat_access": True,
            "end_user_profile_access": "readonly",
            "light_agent": role_type == 1,
            "organization_editing": False,
            "ticket_access": "all",
            "ticket_comment_access": "public" if editing else "private",
            "ticket_deletion": False,
            "ticket_editing": editing,
            "ticket_merge": merge,
            "ticket_tag_editing": editing,
            "view_access": "full",
        },
        "created_at": "2024-01-01T00:00:00Z",
        "description": name,
        "id": rid,
        "name": name,
        "role_type": role_type,
        "team_member_count": 0,
        "updated_at": "2024-01-01T00:00:00Z",
    }


CUSTOM_ROLES = {
    STAFF_ROLE_ID: custom_role(STAFF_ROLE_ID, "Staff", 0, editing=True, merge=True),
    LIGHT_AGENT_ROLE_ID: custom_role(LIGHT_AGENT_ROLE_ID, "Light agent", 1, False, False),
    NO_MERGE_ROLE_ID: custom_role(NO_MERGE_ROLE_ID, "Advisor", 0, editing=True, merge=False),
}


class ApiError(Exception):
    """An error answered to the client as a JSON body with an HTTP status."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def not_found() -> ApiError:
    """404 RecordNotFound, as Zendesk answers it."""
    return ApiError(404, {"error": "RecordNotFound", "description": "Not found"})


def too_many(max_count: int = 100, param: str = "") -> ApiError:
    """400 TooManyValues, the recorded body (the parameter name is empty in real answers)."""
    return ApiError(
        400,
        {
            "error": "TooManyValues",
            "description": f"Parameter {param} cannot specify more than {max_count} values",
            "max_count": max_count,
        },
    )


def invalid(field: str, description: str, error: str = "InvalidValue") -> ApiError:
    """422 RecordInvalid with one field error."""
    return ApiError(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field: [{"description": description, "error": error}]},
        },
    )


def ts(when: datetime | None = None) -> str:
    """Format a datetime like Zendesk: 2024-01-02T10:00:00Z."""
    when = when or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generated_timestamp(stamp: str) -> int:
    """A ticket's generated_timestamp: the Unix time of its last change, system ones included."""
    return int(parse_ts(stamp).timestamp())


def parse_ts(value: str) -> datetime:
    """Parse a Zendesk timestamp or date into an aware datetime."""
    value = value.strip()
    if len(value) == 10:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def organization(base: str, oid: int, name: str, now: str, **kw: Any) -> dict[str, Any]:
    """A Zendesk organization object."""
    return {
        "created_at": now,
        "details": kw.get("details"),
        "domain_names": list(kw.get("domain_names") or []),
        "external_id": kw.get("external_id"),
        "group_id": kw.get("group_id"),
        "id": oid,
        "name": name,
        "notes": kw.get("notes"),
        "organization_fields": dict(kw.get("organization_fields") or {}),
        "shared_comments": False,
        "shared_tickets": False,
        "tags": list(kw.get("tags") or []),
        "updated_at": now,
        "url": f"{base}/api/v2/organizations/{oid}.json",
    }


def user(base: str, uid: int, name: str, now: str, **kw: Any) -> dict[str, Any]:
    """A Zendesk user object."""
    role = kw.get("role") or "end-user"
    agent = role in ("agent", "admin")
    return {
        "active": True,
        "alias": None,
        "created_at": now,
        "custom_role_id": kw.get("custom_role_id") or (STAFF_ROLE_ID if agent else None),
        "default_group_id": None,
        "details": kw.get("details"),
        "email": kw.get("email"),
        "external_id": kw.get("external_id"),
        "iana_time_zone": "Europe/London",
        "id": uid,
        "last_login_at": None,
        "locale": "en-GB",
        "locale_id": 5,
        "moderator": agent,
        "name": name,
        "notes": kw.get("notes"),
        "only_private_comments": False,
        "organization_id": kw.get("organization_id"),
        "permanently_deleted": False,  # deleting keeps the record (active false) for 30 days
        "phone": kw.get("phone"),
        "photo": None,
        "report_csv": agent,
        "restricted_agent": not agent,
        "role": role,
        "role_type": 4 if role == "admin" else kw.get("role_type"),
        "shared": False,
        "shared_agent": False,
        "shared_phone_number": None,
        "signature": None,
        "suspended": bool(kw.get("suspended", False)),
        "tags": list(kw.get("tags") or []),
        "ticket_restriction": None if agent else "requested",
        "time_zone": "London",
        "two_factor_auth_enabled": False,
        "updated_at": now,
        "url": f"{base}/api/v2/users/{uid}.json",
        "user_fields": dict(kw.get("user_fields") or {}),
        "verified": bool(kw.get("email")),
    }


def ticket(base: str, tid: int, now: str, **kw: Any) -> dict[str, Any]:
    """A Zendesk ticket object (without the comment)."""
    status = kw.get("status") or "new"
    return {
        "allow_attachments": True,
        "allow_channelback": False,
        "assignee_id": kw.get("assignee_id"),
        "brand_id": BRAND_ID,
        "collaborator_ids": [],
        "created_at": now,
        "custom_fields": list(kw.get("custom_fields") or []),
        "custom_status_id": CUSTOM_STATUS_IDS[status],
        "description": kw.get("description") or "",
        "due_at": kw.get("due_at"),
        "email_cc_ids": [],
        "external_id": kw.get("external_id"),
        "fields": list(kw.get("custom_fields") or []),
        "follower_ids": [],
        "followup_ids": [],
        "forum_topic_id": None,
        "from_messaging_channel": False,
        "generated_timestamp": generated_timestamp(now),
        "group_id": kw.get("group_id"),
        "has_incidents": False,
        "id": tid,
        "is_public": True,
        "organization_id": kw.get("organization_id"),
        "priority": kw.get("priority"),
        "problem_id": kw.get("problem_id"),
        "raw_subject": kw.get("subject") or "",
        "recipient": None,
        "requester_id": kw.get("requester_id"),
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "status": status,
        "subject": kw.get("subject") or "",
        "submitter_id": kw.get("submitter_id"),
        "tags": list(kw.get("tags") or []),
        "ticket_form_id": TICKET_FORM_ID,
        "type": kw.get("type"),
        "updated_at": now,
        "url": f"{base}/api/v2/tickets/{tid}.json",
        "via": VIA_API,
    }


def comment_bodies(body: str | None, html_body: str | None) -> tuple[str, str, str]:
    """Return (body, html_body, plain_body) for a comment given either form."""
    if html_body is not None:
        import re

        plain = html.unescape(re.sub(r"<[^>]+>", " ", html_body))
        plain = " ".join(plain.split())
        return plain, html_body, plain
    text = body or ""
    paras = "".join(f'<p dir="auto">{html.escape(p)}</p>' for p in text.split("\n\n") if p)
    return text, f'<div class="zd-comment" dir="auto">{paras}</div>', text


def comment(
    cid: int, audit_id: int, author_id: int, body: str, html_body: str, public: bool, now: str
) -> dict[str, Any]:
    """A Zendesk ticket comment as listed by /tickets/{id}/comments."""
    return {
        "attachments": [],
        "audit_id": audit_id,
        "author_id": author_id,
        "body": body,
        "created_at": now,
        "html_body": html_body,
        "id": cid,
        "metadata": {"custom": {}, "system": {"client": "comms-sandbox"}},
        "plain_body": body,
        "public": public,
        "type": "Comment",
        "via": VIA_API,
    }


def audit(
    aid: int, ticket_id: int, author_id: int, events: list[dict[str, Any]], now: str
) -> dict[str, Any]:
    """A Zendesk ticket audit."""
    return {
        "author_id": author_id,
        "created_at": now,
        "events": events,
        "id": aid,
        "metadata": {"custom": {}, "system": {"client": "comms-sandbox"}},
        "ticket_id": ticket_id,
        "via": VIA_API,
    }


def membership(
    base: str, mid: int, uid: int, org: dict[str, Any], default: bool, now: str
) -> dict[str, Any]:
    """A Zendesk organization membership."""
    return {
        "created_at": now,
        "default": default,
        "id": mid,
        "organization_id": org["id"],
        "organization_name": org["name"],
        "updated_at": now,
        "url": f"{base}/api/v2/organization_memberships/{mid}.json",
        "user_id": uid,
        "view_tickets": False,
    }


def identity(base: str, uid: int, email: str, now: str, position: int = 0) -> dict[str, Any]:
    """An e-mail identity of a user; position 0 is the primary one (user.email)."""
    iid = uid * 10 + 1 + position
    return {
        "created_at": now,
        "deliverable_state": "deliverable",
        "id": iid,
        "primary": position == 0,
        "type": "email",
        "undeliverable_count": 0,
        "updated_at": now,
        "url": f"{base}/api/v2/users/{uid}/identities/{iid}.json",
        "user_id": uid,
        "value": email,
        "verification_method": "none",
        "verified": True,
    }
