"""What /comms does when typed in an incident's Slack channel: status, pause, resume."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from comms.actions.updates import pause_or_resume
from comms.config import Settings
from comms.slack.commands import HELP, SlashCommand, incident_for_channel, status_text
from comms.updates.service import UpdateProblem


def answer(
    db_session: Session, command: SlashCommand, *, now: datetime, settings: Settings
) -> dict[str, Any]:
    """Run the command against the channel's incident; commit what it changed; the reply."""
    incident = incident_for_channel(db_session, command.channel_id)
    if incident is None:
        return _reply(
            "This channel follows no incident in comms (it takes them up from incident.io)."
        )
    if command.verb == "status":
        return _reply(status_text(db_session, incident, settings))
    if command.verb not in ("pause", "resume"):
        return _reply(HELP)
    paused = command.verb == "pause"
    try:
        pause_or_resume(
            db_session,
            incident,
            paused=paused,
            reason=command.rest,
            by=f"{command.user_name} (Slack)",
            now=now,
            settings=settings,
        )
    except UpdateProblem as problem:
        return _reply(f"{problem} For example: `/comms pause waiting for the fix to deploy`.")
    done = "paused" if paused else "resumed"
    return _reply(
        f"{command.user_name} {done} the automatic updates of {incident.reference}.", shared=True
    )


def _reply(text: str, *, shared: bool = False) -> dict[str, Any]:
    """Slack's answer shape: ephemeral (only the user sees it) unless the channel should."""
    return {"response_type": "in_channel" if shared else "ephemeral", "text": text}
