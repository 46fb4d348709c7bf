"""The /comms slash command: Slack's v0 request signature, and what each command answers."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from comms.config import Settings
from comms.incident_io.models import FollowedIncident
from comms.incidents.models import Incident
from comms.slack.messages import at, escape, incident_url
from comms.updates.service import latest, recipients

TOLERANCE = timedelta(minutes=5)  # Slack's advice: refuse requests older than five minutes
HELP = (
    "`/comms status` says where this incident's client updates stand; "
    "`/comms pause <why>` and `/comms resume` stop and restart the automatic updates. "
    "Sending stays on the incident page in comms, where the preview is."
)


class CommandRefused(Exception):
    """Not signed by Slack with our signing secret, or too old; the message says which."""


@dataclass(frozen=True)
class SlashCommand:
    channel_id: str
    user_name: str
    text: str
    response_url: str

    @property
    def verb(self) -> str:
        return (self.text.split() or ["help"])[0].lower()

    @property
    def rest(self) -> str:
        return self.text.strip().partition(" ")[2].strip()


def verify(*, secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
    """X-Slack-Signature: v0= hex HMAC-SHA256 of "v0:timestamp:body" with the signing secret."""
    if not secret:
        raise CommandRefused("No Slack signing secret is configured ([slack] signing_secret).")
    timestamp = headers.get("X-Slack-Request-Timestamp") or ""
    given = headers.get("X-Slack-Signature") or ""
    if not timestamp or not given:
        raise CommandRefused("The request has no X-Slack-Request-Timestamp and X-Slack-Signature.")
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError):
        raise CommandRefused(
            f"X-Slack-Request-Timestamp {timestamp[:40]!r} is not a time."
        ) from None
    base = f"v0:{timestamp}:".encode() + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise CommandRefused("The signature does not match [slack] signing_secret.")
    if abs(now - sent_at) > TOLERANCE:
        raise CommandRefused("The request is more than 5 minutes away from now.")


def parse(form: Mapping[str, str]) -> SlashCommand:
    channel_id = form.get("channel_id") or ""
    if not channel_id:
        raise ValueError("The command names no channel_id.")
    return SlashCommand(
        channel_id=channel_id[:40],
        user_name=(form.get("user_name") or form.get("user_id") or "someone")[:80],
        text=(form.get("text") or "")[:2000],
        response_url=form.get("response_url") or "",
    )


def incident_for_channel(db_session: Session, channel_id: str) -> Incident | None:
    """The comms incident following the incident.io incident that owns this channel."""
    return db_session.scalar(
        select(Incident)
        .join(FollowedIncident, FollowedIncident.incident_id == Incident.id)
        .where(FollowedIncident.slack_channel_id == channel_id)
        .order_by(Incident.id.desc())
        .limit(1)
    )


def status_text(db_session: Session, incident: Incident, settings: Settings) -> str:
    """The header of the incident page, in words."""
    last = latest(db_session, incident)
    said = (
        f"Update {last.number} went out at {at(last.created_at, settings)}."
        if last
        else "No update has gone to clients yet."
    )
    if not incident.is_open:
        nextly = "Resolved: no more updates."
    elif incident.schedule_paused:
        nextly = f"Automatic updates are paused: {escape(incident.pause_reason)}."
    elif incident.next_update_due_at:
        nextly = f"Next update due at {at(incident.next_update_due_at, settings)}."
    else:
        nextly = "No automatic update is scheduled."
    count = len(recipients(db_session, incident, settings))
    return (
        f"*{incident.reference}* {escape(incident.title)}: {incident.severity}, "
        f"{incident.status}. Lead: {escape(incident.lead_name) or 'none'}. {count} contacts. "
        f"{said} {nextly} "
        f"<{incident_url(incident, settings)}|Open in comms>"
    )
