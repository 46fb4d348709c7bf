"""Zendesk's webhook: a new ticket that looks related becomes a candidate at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comms.contacts.models import AffectedOrganization
from comms.ids import parse_id
from comms.incidents.models import Incident, WebhookEvent
from comms.incidents.service import open_incidents
from comms.incidents.tickets import add_candidate
from comms.zendesk import Ticket
from comms.zendesk.models import parse_time

MAX_AGE = timedelta(minutes=5)


class WebhookRefused(Exception):
    """The request did not come from Zendesk, or came too late; the message says which."""


def verify(*, secret: str, body: bytes, signature: str, timestamp: str, now: datetime) -> None:
    """Check Zendesk's signature (HMAC-SHA256 of timestamp + body) and the timestamp's age."""
    if not secret:
        raise WebhookRefused("No webhook secret is configured ([zendesk] webhook_secret).")
    if not signature or not timestamp:
        raise WebhookRefused("The request has no Zendesk signature headers.")
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), signature):
        raise WebhookRefused("The Zendesk signature does not match.")
    try:
        sent_at = parse_time(timestamp)
    except ValueError:
        raise WebhookRefused(f"The timestamp {timestamp!r} is not a time.") from None
    if abs(now - sent_at) > MAX_AGE:
        raise WebhookRefused("The timestamp is more than 5 minutes away from now: refused.")


def _int(data: dict[str, Any], key: str) -> int | None:
    """An id as Zendesk sends it (a number, or digits in a string); None when empty."""
    value = data.get(key)
    if value in (None, "", "null"):
        return None
    found = parse_id(value)
    if found is None:
        raise WebhookRefused(f"The ticket's {key} {repr(value)[:40]} is not an id.")
    return found


def _text(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str | int):
        raise WebhookRefused(f"The ticket's {key} is not text.")
    return str(value)


def ticket_from_event(event: dict[str, Any]) -> Ticket:
    """Read the ticket from a ticket.created event or from a trigger's {"ticket": ...} body."""
    data = event.get("detail") or event.get("ticket")
    if not isinstance(data, dict) or _int(data, "id") is None:
        raise WebhookRefused("The event carries no ticket id.")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise WebhookRefused("The ticket's tags are not a list of words.")
    try:
        created_at = parse_time(_text(data, "created_at") or None)
    except ValueError:
        raise WebhookRefused("The ticket's created_at is not a time.") from None
    return Ticket(
        id=_int(data, "id") or 0,
        subject=_text(data, "subject"),
        description=_text(data, "description"),
        status=_text(data, "status", "new").lower(),
        type=_text(data, "type").lower() or None,
        priority=_text(data, "priority").lower() or None,
        requester_id=_int(data, "requester_id"),
        organization_id=_int(data, "organization_id"),
        problem_id=_int(data, "problem_id"),
        tags=tuple(tags),
        created_at=created_at,
        has_incidents=False,
    )


def event_key(event: dict[str, Any], signature: str) -> str:
    return str(event.get("id") or signature)[:200]


def first_time(db_session: Session, key: str, *, now: datetime) -> bool:
    """Note the event; False when it was seen before (a replay or a retry)."""
    try:
        with db_session.begin_nested():
            db_session.add(WebhookEvent(event_key=key, received_at=now))
    except IntegrityError:
        return False
    return True


def matches(incident: Incident, ticket: Ticket, affected: set[int]) -> bool:
    if ticket.organization_id in affected:
        return True
    text = f"{ticket.subject}\n{ticket.description}".lower()
    return any(re.search(rf"\b{re.escape(word.lower())}\b", text) for word in incident.keywords)


def intake(db_session: Session, ticket: Ticket, *, now: datetime) -> list[Incident]:
    """Make the ticket a candidate of each open incident it matches; return those that auto-link."""
    if ticket.status in ("solved", "closed"):
        return []
    auto_link = []
    for incident in open_incidents(db_session):
        affected = set(
            db_session.scalars(
                select(AffectedOrganization.organization_id).where(
                    AffectedOrganization.incident_id == incident.id
                )
            )
        )
        if not matches(incident, ticket, affected):
            continue
        added = add_candidate(db_session, incident, ticket, source="webhook", now=now)
        if added and incident.auto_link and incident.parent_ticket_id:
            auto_link.append(incident)
    db_session.flush()
    return auto_link
