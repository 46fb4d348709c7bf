"""Signed Zendesk event webhooks (zen:event-type:ticket.created)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.request
import uuid
from typing import Any

from .shapes import ts


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's signature: base64(HMAC-SHA256(secret, timestamp + body))."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def ticket_created_event(ticket: dict[str, Any]) -> dict[str, Any]:
    """The event envelope Zendesk posts for a new ticket (ids rendered as strings)."""
    return {
        "type": "zen:event-type:ticket.created",
        "account_id": 1,
        "id": str(uuid.uuid4()),
        "time": ts(),
        "zendesk_event_version": "2022-11-06",
        "subject": f"zen:ticket:{ticket['id']}",
        "detail": {
            "id": str(ticket["id"]),
            "subject": ticket["subject"],
            "organization_id": _str(ticket["organization_id"]),
            "requester_id": _str(ticket["requester_id"]),
            "created_at": ticket["created_at"],
            "updated_at": ticket["updated_at"],
            "status": ticket["status"].upper(),
            "type": ticket["type"].upper() if ticket["type"] else None,
            "priority": ticket["priority"].upper() if ticket["priority"] else None,
            "tags": list(ticket["tags"]),
            "description": ticket["description"],
            "via": {"channel": ticket["via"]["channel"]},
        },
        "event": {},
    }


class Webhook:
    """Delivers events to one target URL from background threads."""

    def __init__(self, url: str, secret: str) -> None:
        """Target and signing secret."""
        self.url = url
        self.secret = secret
        self.delivered = 0
        self.failed = 0

    def deliver(self, event: dict[str, Any]) -> threading.Thread:
        """POST the signed event in a daemon thread (one attempt, 10 s timeout)."""
        body = json.dumps(event).encode()
        stamp = ts()
        headers = {
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Signature": sign(self.secret, stamp, body),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "User-Agent": "Zendesk Webhook",
        }

        def post() -> None:
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    response.read()
                self.delivered += 1
            except OSError:
                self.failed += 1

        thread = threading.Thread(target=post, daemon=True, name="sandbox-webhook")
        thread.start()
        return thread

    def ticket_created(self, ticket: dict[str, Any]) -> None:
        """Store callback: send ticket.created."""
        self.deliver(ticket_created_event(ticket))
