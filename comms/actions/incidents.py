"""Declaring an incident and changing it: the actions behind the declare form and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from comms.actions import committing
from comms.actions.tickets import link
from comms.config import Settings
from comms.contacts import service as contacts
from comms.incident_io.push import mark_pushing, push_change
from comms.incidents import parent, service
from comms.incidents.models import Incident
from comms.incidents.service import IncidentError
from comms.incidents.tickets import add_candidate, refuse_taken
from comms.timeline import record
from comms.updates.control import reschedule
from comms.zendesk import Gateway, Ticket, ZendeskError


class PartlyDeclared(IncidentError):
    """The incident was declared, but a later Zendesk step failed."""

    def __init__(self, incident: Incident, error: Exception) -> None:
        super().__init__(f"{incident.reference} was declared, but: {error}")
        self.incident = incident


def declare(
    db_session: Session,
    gateway: Gateway,
    *,
    by: str,
    now: datetime,
    settings: Settings,
    from_ticket_id: int | None = None,
    ticket_as_parent: bool = False,
    auto_link: bool = False,
    **fields: Any,
) -> Incident:
    """Declare an incident, from a client's ticket when one is given; commits.

    PartlyDeclared if Zendesk failed after the incident was declared: what was done is kept.
    """
    with committing(db_session):
        if from_ticket_id is None:
            incident = service.declare(db_session, by=by, now=now, settings=settings, **fields)
        else:
            incident = declare_from_ticket(
                db_session,
                gateway,
                from_ticket_id,
                as_parent=ticket_as_parent,
                by=by,
                now=now,
                settings=settings,
                **fields,
            )
        incident.auto_link = auto_link
    return incident


def declare_from_ticket(
    db_session: Session,
    gateway: Gateway,
    ticket_id: int,
    *,
    as_parent: bool,
    by: str,
    now: datetime,
    settings: Settings,
    **fields: Any,
) -> Incident:
    """Declare from a client's ticket: its organisation is affected; it is linked or the parent.

    Each step is committed when Zendesk has done it, so a failure later keeps what was done.
    """
    ticket = gateway.ticket(ticket_id)  # an unknown or closed ticket stops here, nothing recorded
    if ticket.closed:
        raise IncidentError(f"Ticket {ticket_id} is closed; Zendesk cannot link or adopt it.")
    refuse_taken(db_session, None, [ticket_id], move=False)
    organization = gateway.organizations([ticket.organization_id]) if ticket.organization_id else []
    incident = service.declare(db_session, by=by, now=now, settings=settings, **fields)
    record(
        db_session,
        incident,
        actor=by,
        kind="declared-from-ticket",
        now=now,
        summary=f"Declared from ticket {ticket.id}: {ticket.subject}",
        details={"ticket_id": ticket.id, "as_parent": as_parent},
    )
    if organization:
        contacts.add_organizations(
            db_session,
            incident,
            organization,
            how=f"ticket {ticket.id}",
            by=by,
            now=now,
            settings=settings,
        )
    db_session.commit()
    try:
        _attach_ticket(db_session, gateway, incident, ticket, as_parent, by, now, settings)
    except (IncidentError, ZendeskError) as error:
        raise PartlyDeclared(incident, error) from error
    return incident


def _attach_ticket(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    ticket: Ticket,
    as_parent: bool,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """Adopt the ticket as the parent, or create a parent and link the ticket to it."""
    if as_parent:
        parent.adopt_parent(db_session, gateway, incident, ticket.id, by=by, now=now)
    else:
        add_candidate(db_session, incident, ticket, source="declared", now=now)
        db_session.commit()
        parent.create_parent(db_session, gateway, incident, by=by, now=now)
        db_session.commit()
        link(db_session, gateway, incident, [ticket.id], by=by, now=now, settings=settings)
    db_session.commit()


def change(
    db_session: Session,
    incident: Incident,
    *,
    by: str,
    now: datetime,
    settings: Settings,
    note: str = "",
    severity: str | None = None,
    status: str | None = None,
    auto_link: bool | None = None,
) -> None:
    """Change the severity and/or status, with a note; all or nothing; commits.

    A new severity may mean a new cadence: the next automatic update is planned again. With
    [incident_io] push_changes, incident.io hears of it after the commit.
    """
    before = (incident.severity, incident.status)
    with committing(db_session):
        if severity is not None and severity != incident.severity:
            service.change_severity(
                db_session,
                incident,
                severity=severity,
                note=note,
                by=by,
                now=now,
                settings=settings,
            )
            contacts.rebuild(db_session, incident, settings)  # seniors join or leave
            reschedule(db_session, incident, now=now, settings=settings)
        if status is not None:
            service.change_status(db_session, incident, status=status, note=note, by=by, now=now)
        if auto_link is not None:
            incident.auto_link = auto_link
        changed = {
            "severity": incident.severity != before[0],
            "status": incident.status != before[1],
        }
        mark_pushing(db_session, incident, **changed, settings=settings, now=now)
    with committing(db_session):
        push_change(db_session, incident, **changed, settings=settings, now=now)


def set_parent(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    ticket_id: int | None,
    *,
    by: str,
    now: datetime,
) -> Ticket:
    """Adopt the ticket as the parent, or create a parent ticket when none is given; commits."""
    with committing(db_session):
        if ticket_id is None:
            return parent.create_parent(db_session, gateway, incident, by=by, now=now)
        return parent.adopt_parent(db_session, gateway, incident, ticket_id, by=by, now=now)


def set_link_settings(
    db_session: Session,
    incident: Incident,
    *,
    add_orgs: bool,
    add_requesters: bool,
    auto_link: bool,
    by: str,
    now: datetime,
) -> None:
    """Choose what linking does: add organisations, add requesters, link new tickets; commits."""
    with committing(db_session):
        incident.add_orgs_on_link = add_orgs
        incident.add_requesters_on_link = add_requesters
        incident.auto_link = auto_link
        record(
            db_session,
            incident,
            actor=by,
            kind="settings",
            now=now,
            summary="Linking settings: "
            f"add organisations {_on(add_orgs)}, add requesters {_on(add_requesters)}, "
            f"link new matching tickets automatically {_on(auto_link)}.",
        )


def _on(value: bool) -> str:
    return "on" if value else "off"
