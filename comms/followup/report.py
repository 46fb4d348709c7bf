"""The draft incident report: from it one can reconstruct what was done, and for whom."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from comms import timeline
from comms.auth.models import User
from comms.config import Settings
from comms.contacts.lists import affected_organizations, people_counts
from comms.followup.service import describe, review_is_optional
from comms.incidents.models import Incident, LinkedTicket, MergeRequest, TimelineEvent
from comms.incidents.tickets import agent_link, linked_tickets
from comms.updates.models import Delivery, Update

# Routine bookkeeping: in the timeline exports, not among the report's key events.
MINOR_KINDS = {"followup_reminder", "contacts_refreshed", "status_text_saved", "settings"}
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
BLOCK_START = re.compile(r"^(\s*)([#>+=-])")
LIST_NUMBER = re.compile(r"^(\s*\d+)([.)])")
PLACEHOLDERS = ("Root cause", "What went well", "What to improve")


@dataclass(frozen=True)
class OrganizationRow:
    name: str
    people: int
    priority: bool


@dataclass(frozen=True)
class UpdateRow:
    number: int
    kind: str
    trigger: str
    created_at: datetime
    created_by: str
    deliveries: dict[str, int]


@dataclass(frozen=True)
class Report:
    """Everything the draft report says, read once from the database."""

    incident: Incident
    events: list[TimelineEvent]
    organizations: list[OrganizationRow]
    contact_count: int
    updates: list[UpdateRow]
    tickets: list[LinkedTicket]
    merges: list[MergeRequest]
    comms_manager: User | None
    owner: User | None
    now: datetime

    @property
    def key_events(self) -> list[TimelineEvent]:
        return [event for event in self.events if event.kind not in MINOR_KINDS]

    @property
    def severity_changes(self) -> list[TimelineEvent]:
        return [event for event in self.events if event.kind == "severity"]

    @property
    def duration(self) -> str:
        end = self.incident.resolved_at or self.now
        text = span(end - self.incident.declared_at)
        return text if self.incident.resolved_at else f"{text} so far (still open)"


def span(delta: timedelta) -> str:
    """Say a duration as "2 days 3 h 05 min", "3 h 05 min" or "12 min"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours} h {minutes:02d} min" if hours or days else f"{minutes} min"
    return f"{days} day{'s' if days != 1 else ''} {text}" if days else text


def _updates(db_session: Session, incident: Incident) -> list[UpdateRow]:
    counts: dict[int, Counter[str]] = {}
    query = (
        select(Delivery.update_id, Delivery.state, func.count())
        .join(Update, Update.id == Delivery.update_id)
        .where(Update.incident_id == incident.id)
        .group_by(Delivery.update_id, Delivery.state)
    )
    for update_id, state, count in db_session.execute(query):
        counts.setdefault(update_id, Counter())[state] = count
    updates = db_session.scalars(
        select(Update).where(Update.incident_id == incident.id).order_by(Update.number)
    )
    return [
        UpdateRow(
            u.number, u.kind, u.trigger, u.created_at, u.created_by, dict(counts.get(u.id, {}))
        )
        for u in updates
    ]


def build(db_session: Session, incident: Incident, settings: Settings, *, now: datetime) -> Report:
    """Gather the report from the timeline, updates, tickets, merges and affected clients."""
    people = people_counts(db_session, incident)
    organizations = [
        OrganizationRow(org.name, people.get(org.organization_id, 0), org.priority)
        for org in affected_organizations(db_session, incident, settings)
    ]
    merges = db_session.scalars(
        select(MergeRequest)
        .where(MergeRequest.incident_id == incident.id)
        .order_by(MergeRequest.id)
    )
    return Report(
        incident=incident,
        events=timeline.events(db_session, incident),
        organizations=organizations,
        contact_count=incident.contact_count,
        updates=_updates(db_session, incident),
        tickets=linked_tickets(db_session, incident),
        merges=list(merges),
        comms_manager=db_session.get(User, incident.comms_manager_id or 0),
        owner=db_session.get(User, incident.report_owner_id or 0),
        now=now,
    )


def md(text: object) -> str:
    """Escape text for one line of Markdown (a heading, a list item or a table cell)."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def md_block(text: str) -> str:
    """Escape several lines of text, keeping its line breaks but none of its Markdown."""
    lines = []
    for line in str(text).strip().splitlines():
        escaped = MARKDOWN_SPECIAL.sub(r"\\\1", line.strip())
        escaped = BLOCK_START.sub(r"\1\\\2", escaped)
        lines.append(LIST_NUMBER.sub(r"\1\\\2", escaped))
    return "\n".join(lines)


def _when(moment: datetime | None, settings: Settings) -> str:
    return describe(moment, settings) if moment else "not set"


def to_markdown(report: Report, settings: Settings) -> str:
    """Render the draft report as Markdown, every piece of user text escaped."""
    incident = report.incident
    out = [f"# Incident report (draft): {incident.reference} {md(incident.title)}", ""]
    out += ["## Summary", "", f"- Reference: {incident.reference}"]
    out += [f"- Severity: {incident.severity}", f"- Status: {incident.status}"]
    out += [f"- Business unit: {md(incident.business_unit or '—')}"]
    out += [f"- Incident lead: {md(incident.lead_name or '—')} {md(incident.lead_email)}".rstrip()]
    manager = report.comms_manager
    out += [f"- Comms manager: {md(manager.name) if manager else '—'}"]
    out += [f"- Declared: {_when(incident.declared_at, settings)} by {md(incident.declared_by)}"]
    out += [f"- Resolved: {_when(incident.resolved_at, settings)}"]
    out += [f"- Duration: {report.duration}", ""]
    out += [md_block(incident.description) or "_No description._", ""]
    out += ["## Severity", ""]
    changes = [
        f"- {_when(e.at, settings)}: {md(e.details.get('from', '?'))} → "
        f"{md(e.details.get('to', '?'))} by {md(e.actor)}" + _note(e)
        for e in report.severity_changes
    ]
    out += changes or [f"- {incident.severity} throughout"]
    out += ["", "## Key events", "", "| When | Who | What |", "| --- | --- | --- |"]
    out += [
        f"| {md(_when(e.at, settings))} | {md(e.actor)} | {md(e.summary)} |"
        for e in report.key_events
    ]
    out += ["", "The full timeline: `timeline.md` or `timeline.csv` on the incident page.", ""]
    out += _clients(report)
    out += _updates_sent(report, settings)
    out += _tickets(report, settings)
    out += _followups(report, settings)
    return "\n".join(out) + "\n"


def _note(event: TimelineEvent) -> str:
    note = event.details.get("note") or ""
    return f" (note: {md(note)})" if note else ""


def _clients(report: Report) -> list[str]:
    out = ["## Clients affected", ""]
    out += [f"{len(report.organizations)} organisations; {report.contact_count} contacts.", ""]
    if report.organizations:
        out += ["| Organisation | People | Priority client |", "| --- | --- | --- |"]
        out += [
            f"| {md(o.name)} | {o.people} | {'yes' if o.priority else 'no'} |"
            for o in report.organizations
        ]
        out += [""]
    return out


def _updates_sent(report: Report, settings: Settings) -> list[str]:
    out = ["## Updates sent", ""]
    if not report.updates:
        return out + ["No client updates were sent.", ""]
    out += [
        "| # | When | Kind | Trigger | By | Deliveries |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for u in report.updates:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(u.deliveries.items())) or "none"
        out += [
            f"| {u.number} | {md(_when(u.created_at, settings))} | {u.kind} | {u.trigger} "
            f"| {md(u.created_by)} | {counts} |"
        ]
    return out + [""]


def _tickets(report: Report, settings: Settings) -> list[str]:
    out = ["## Zendesk tickets", ""]
    parent = report.incident.parent_ticket_id
    if parent:
        out += [f"Parent ticket: [#{parent}]({agent_link(settings, parent)})", ""]
    if report.tickets:
        out += ["| Ticket | Subject | State | Linked | By |", "| --- | --- | --- | --- | --- |"]
        out += [
            f"| [#{t.ticket_id}]({agent_link(settings, t.ticket_id)}) | {md(t.subject)} "
            f"| {t.state} | {md(_when(t.linked_at, settings))} | {md(t.linked_by)} |"
            for t in report.tickets
        ]
    else:
        out += ["No client tickets were linked."]
    for m in report.merges:
        sources = ", ".join(f"#{s}" for s in m.source_ids)
        out += ["", f"- Merge into [#{m.target_id}]({agent_link(settings, m.target_id)}): "]
        out[-1] += f"{sources} ({m.state}, {_when(m.requested_at, settings)})"
    return out + [""]


def _followups(report: Report, settings: Settings) -> list[str]:
    incident = report.incident
    out = ["## Follow-up", ""]
    out += [f"- Review meeting: {_when(incident.review_at, settings)}"]
    out += [f"- Draft report due: {_when(incident.draft_due_at, settings)}"]
    out += [f"- Report owner: {md(report.owner.name) if report.owner else 'nobody yet'}"]
    if review_is_optional(incident):
        out += ["- A trivial incident: the review is optional."]
    for heading in PLACEHOLDERS:
        out += ["", f"## {heading}", "", f"_To be written by the report owner: {heading.lower()}._"]
    return out
