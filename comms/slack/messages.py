"""What comms says in the incident's Slack channel: one short line per thing done for clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from comms.config import Settings
from comms.incidents.models import Incident, TimelineEvent
from comms.mail.render import as_local, zone_label
from comms.updates.history import UpdateSummary


@dataclass(frozen=True)
class Post:
    text: str
    details: str = ""


def escape(text: str) -> str:
    """Slack's mrkdwn gives &, < and > a meaning: ours are just characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def at(moment: datetime | None, settings: Settings) -> str:
    """ "14:00 GMT", in the configured zone."""
    if moment is None:
        return "not scheduled"
    local = as_local(moment, settings.web.tz)
    return f"{local:%H:%M} {zone_label(local, settings.web.tz)}"


def incident_url(incident: Incident, settings: Settings) -> str:
    return f"{settings.web.base_url.rstrip('/')}/incidents/{incident.reference}"


def opening(incident: Incident, settings: Settings) -> Post:
    """The first message; everything after it goes into its thread."""
    return Post(
        f":mega: comms is handling client communications for *{incident.reference}* "
        f"{escape(incident.title)} ({incident.severity}). "
        "What it tells clients follows in this thread.",
        f"<{incident_url(incident, settings)}|Open {incident.reference} in comms>",
    )


def _ids(values: Any, most: int = 30) -> str:
    ids = [f"#{v}" for v in (values or [])]
    return ", ".join(ids[:most]) + (f" and {len(ids) - most} more" if len(ids) > most else "")


def _parent(event: TimelineEvent, settings: Settings) -> Post | None:
    ticket = event.details.get("ticket_id")
    link = f"{settings.zendesk.agent_url}/agent/tickets/{ticket}"
    return Post(
        f"Parent ticket #{ticket} set in Zendesk.", f"<{link}|#{ticket}> {escape(event.summary)}"
    )


def _link(event: TimelineEvent, settings: Settings) -> Post | None:
    linked, refused = event.details.get("linked") or [], event.details.get("refused") or {}
    if not linked and not refused:
        return None
    text = f"Linked {len(linked)} ticket(s) to the parent ticket."
    if refused:
        text += f" {len(refused)} could not be linked."
    return Post(text, _ids(linked) + _refused(refused))


def _refused(refused: dict[str, Any]) -> str:
    return "".join(f"; #{t}: {escape(str(why))}" for t, why in list(refused.items())[:10])


def _merge(event: TimelineEvent, settings: Settings) -> Post | None:
    merged, refused = event.details.get("merged") or [], event.details.get("refused") or {}
    text = f"Merged {len(merged)} ticket(s) into #{event.details.get('target_id')}."
    if refused:
        text += f" {len(refused)} refused."
    return Post(text, _ids(merged) + _refused(refused))


def _contacts(event: TimelineEvent, settings: Settings) -> Post | None:
    contacts, orgs = event.details.get("contacts", 0), event.details.get("organizations", 0)
    return Post(f"Contact list built: {contacts} contacts in {orgs} organisations.")


def _published(event: TimelineEvent, settings: Settings) -> Post | None:
    details = event.details
    due = details.get("next_update_at")
    after = f" Next update due at {at(datetime.fromisoformat(due), settings)}." if due else ""
    kind = "The resolution" if details.get("kind") == "resolved" else f"Update {details['update']}"
    return Post(f"{kind} is going out to {details.get('recipients', 0)} contacts.{after}")


def _paused(event: TimelineEvent, settings: Settings) -> Post | None:
    return Post(f":double_vertical_bar: {escape(event.summary)}.", f"by {escape(event.actor)}")


def _resumed(event: TimelineEvent, settings: Settings) -> Post | None:
    return Post(f":arrow_forward: {escape(event.summary)}.", f"by {escape(event.actor)}")


def _resolved(event: TimelineEvent, settings: Settings) -> Post | None:
    return Post(f":white_check_mark: {escape(event.summary)}.", f"by {escape(event.actor)}")


def _resolved_elsewhere(event: TimelineEvent, settings: Settings) -> Post | None:
    return Post(f":hourglass: {escape(event.summary)}")


FOR_KIND: dict[str, Callable[[TimelineEvent, Settings], Post | None]] = {
    "parent": _parent,
    "link": _link,
    "merge": _merge,
    "contacts_refreshed": _contacts,
    "update_published": _published,
    "schedule_paused": _paused,
    "schedule_resumed": _resumed,
    "resolved": _resolved,
    "incident_io_resolved": _resolved_elsewhere,
}


def for_event(event: TimelineEvent, settings: Settings) -> Post | None:
    """The line a timeline entry earns in Slack, or None when clients saw nothing of it."""
    build = FOR_KIND.get(event.kind)
    return build(event, settings) if build else None


def update_sent(summary: UpdateSummary, incident: Incident, settings: Settings) -> Post:
    """Update N sent: counts, and the failures named with a link to the update's page."""
    counts, number = summary.counts, summary.update.number
    name = "The resolution" if summary.update.kind == "resolved" else f"Update {number}"
    failed = summary.total - counts.get("sent", 0)
    text = f"{name} sent: {counts.get('sent', 0)} of {summary.total} delivered."
    if not failed:
        return Post(":email: " + text)
    named = ", ".join(
        f"{escape(d.email)} ({d.state}: {escape(d.smtp_reply[:80])})" for d in summary.problems[:10]
    )
    more = f" and {failed - 10} more" if failed > 10 else ""
    link = f"<{incident_url(incident, settings)}|see {incident.reference}>"
    return Post(f":warning: {text} {failed} not delivered: {link}.", named + more)


def reminder(incident: Incident, manager_name: str, due_at: datetime, settings: Settings) -> Post:
    """A few minutes before an automatic update, naming the comms manager."""
    who = escape(manager_name) or "the comms manager"
    return Post(
        f":alarm_clock: {who}: the next update to clients is due at {at(due_at, settings)}. "
        "Check the status text on the incident page.",
        f"<{incident_url(incident, settings)}|Open {incident.reference} in comms>",
    )
