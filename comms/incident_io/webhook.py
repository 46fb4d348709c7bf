"""incident.io's webhooks arrive through Svix: check the signature and the time, read the hint."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

TOLERANCE = timedelta(minutes=5)  # the Svix libraries' WEBHOOK_TOLERANCE_IN_SECONDS


class WebhookRefused(Exception):
    """Not signed by incident.io with our secret, or too far from now; the message says which."""


def _header(headers: Mapping[str, str], name: str) -> str:
    """Svix sends webhook-* (unbranded) or svix-* headers; accept either."""
    return headers.get(f"webhook-{name}") or headers.get(f"svix-{name}") or ""


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRefused(
            "[incident_io] webhook_secret is not a whsec_… signing secret: copy it again "
            "from incident.io's webhook settings."
        ) from None


def verify(*, secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> str:
    """Check one of the v1 signatures over "id.timestamp.body"; return the webhook-id."""
    if not secret:
        raise WebhookRefused("No webhook secret is configured ([incident_io] webhook_secret).")
    msg_id, timestamp = _header(headers, "id"), _header(headers, "timestamp")
    signatures = _header(headers, "signature").split()
    if not msg_id or not timestamp or not signatures:
        raise WebhookRefused("The request has no webhook-id, webhook-timestamp and signature.")
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError):
        raise WebhookRefused(f"The webhook-timestamp {timestamp[:40]!r} is not a time.") from None
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()
    # Several space-separated signatures arrive while a secret is being rotated.
    if not any(
        version == "v1" and hmac.compare_digest(expected, given)
        for version, _, given in (s.partition(",") for s in signatures)
    ):
        raise WebhookRefused("The webhook signature does not match [incident_io] webhook_secret.")
    if abs(now - sent_at) > TOLERANCE:
        raise WebhookRefused("The webhook-timestamp is more than 5 minutes away from now.")
    return msg_id[:200]


def hinted_incident(event: Any) -> tuple[str, str]:
    """(event_type, incident id) from {"event_type": name, name: payload}; id "" when none."""
    if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
        raise ValueError("The body is not an incident.io event: it has no event_type.")
    event_type = event["event_type"]
    if not event_type.startswith(("public_incident.incident_", "private_incident.incident_")):
        return event_type, ""
    payload = event.get(event_type)
    if not isinstance(payload, dict):
        raise ValueError(f"The event carries no {event_type} object.")
    incident: dict[str, Any] = (
        payload["incident"] if isinstance(payload.get("incident"), dict) else payload
    )
    incident_id = incident.get("id")
    if not isinstance(incident_id, str) or not 0 < len(incident_id) <= 100:
        raise ValueError("The event's incident has no id.")
    return event_type, incident_id
