"""The incident page's sections, its sticky header and the Overview's list of what is left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for

from comms.contacts import service as contacts
from comms.ids import parse_id
from comms.incident_io.service import followed
from comms.incidents import tickets
from comms.incidents.models import SEVERITIES, STATUSES, Incident
from comms.operations import queue
from comms.operations.models import Operation
from comms.updates import history
from comms.updates import service as updates
from comms.updates.control import schedule_states
from comms.updates.schedule import cadence
from comms.web.context import db, now, settings
from comms.web.filters import local

# The sections in the order of the work: (name, view, label); the Overview is /incidents/<ref>.
SECTIONS = (
    ("overview", "show", "Overview"),
    ("tickets", "tickets_section", "Tickets"),
    ("contacts", "contacts_section", "Contacts"),
    ("updates", "updates_section", "Updates"),
    ("timeline", "timeline_section", "Timeline"),
    ("after", "after_section", "After the incident"),
)
VIEWS = {name: view for name, view, _ in SECTIONS}


def endpoint(name: str) -> str:
    """The view of a section by its name ("tickets"), the Overview's for any other."""
    return VIEWS.get(name, "show")


@dataclass(frozen=True)
class Step:
    """One step of running the incident's comms, in the order of the seed's guide."""

    label: str
    done: bool
    detail: str
    link: str


def operation(incident: Incident, operation_id: str | None) -> Operation | None:
    """The bulk operation the address follows (`?operation=`), if it is this incident's."""
    found_id = parse_id(operation_id)
    if found_id is None:
        return None
    found = queue.get(db(), found_id)
    return found if found and found.incident_id == incident.id else None


def header(incident: Incident, section: str) -> dict[str, Any]:
    """What every section shows at its top: who, how bad, the updates' state, the counts."""
    words = schedule_states(db(), [incident], now=now(), settings=settings())[incident.id]
    return {
        "section": section,
        "sections": SECTIONS,
        "severities": SEVERITIES,
        "statuses": STATUSES[:3],
        "update_state": words,
        "counts": {
            "contacts": incident.contact_count,
            "organisations": contacts.count_organizations(db(), incident),
            "linked": tickets.count_linked(db(), incident),
            "candidates": tickets.count_candidates(db(), incident),
            "failed": history.failed_count(db(), incident),
        },
        "followed": followed(db(), incident),
        "operation": operation(incident, request.args.get("operation")),
    }


def steps(incident: Incident, counts: dict[str, int], update_state: str) -> list[Step]:
    """What is left to do, in the seed's order: parent, organisations, contacts, updates."""
    ref = incident.reference
    last = updates.latest(db(), incident)
    planned = (
        incident.schedule_paused
        or incident.next_update_due_at is not None
        or not incident.is_open
        or cadence(settings().schedule, incident.severity) is None
    )
    return [
        Step(
            "Parent ticket in Zendesk",
            incident.parent_ticket_id is not None,
            f"ticket {incident.parent_ticket_id}" if incident.parent_ticket_id else "none yet",
            url_for("incidents.tickets_section", ref=ref),
        ),
        Step(
            "Affected organisations",
            counts["organisations"] > 0,
            f"{counts['organisations']} added",
            url_for("incidents.contacts_section", ref=ref),
        ),
        Step(
            "Contacts who receive the updates",
            counts["contacts"] > 0,
            f"{counts['contacts']} contacts",
            url_for("incidents.contacts_section", ref=ref),
        ),
        Step(
            "First update to clients",
            last is not None,
            f"{last.number} sent, the last {local(last.created_at)}" if last else "not sent yet",
            url_for("incidents.updates_section", ref=ref, _anchor="compose"),
        ),
        Step(
            "The schedule of updates",
            last is not None and planned,
            update_state,
            url_for("incidents.updates_section", ref=ref),
        ),
    ]
