"""Finding and linking a client's tickets, which also brings their senders into the contacts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from comms.actions import committing
from comms.config import Settings
from comms.contacts import service as contacts
from comms.incidents import tickets
from comms.incidents.models import Candidate, Incident, LinkedTicket
from comms.zendesk import Gateway
from comms.zendesk.bulk import Submitted


def refresh_candidates(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    *,
    settings: Settings,
    now: datetime,
) -> list[Candidate]:
    """Ask Zendesk for open tickets that look related and are not linked yet; commits."""
    with committing(db_session):
        return find_candidates(db_session, gateway, incident, settings=settings, now=now)


def find_candidates(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    *,
    settings: Settings,
    now: datetime,
) -> list[Candidate]:
    """The Zendesk backstop poll: search and the incremental export for open tickets that look
    related, kept as candidates (once each), and tickets agents linked by hand adopted; the
    caller commits (a worker, with the operation's end)."""
    since = incident.declared_at - timedelta(minutes=settings.zendesk.candidate_lookback_minutes)
    affected = contacts.affected_organizations(db_session, incident, settings)
    found = gateway.find_candidates(
        since=since,
        organization_ids=[org.organization_id for org in affected],
        keywords=incident.keywords,
    )
    for ticket in found:
        tickets.add_candidate(db_session, incident, ticket, source="search", now=now)
    db_session.flush()
    tickets.name_candidates(db_session, gateway, incident)
    if incident.parent_ticket_id and incident.is_open:
        adopted = tickets.adopt_linked_by_hand(db_session, gateway, incident, now=now)
        _add_senders(
            db_session, gateway, incident, adopted, by=tickets.BY_AGENT, now=now, settings=settings
        )
    db_session.flush()
    return tickets.candidates(db_session, incident)


def _add_senders(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    linked: list[int],
    *,
    by: str,
    now: datetime,
    settings: Settings,
) -> None:
    """The organisations and requesters of newly linked tickets join the contacts."""
    if linked:
        rows = db_session.scalars(
            select(LinkedTicket)
            .where(LinkedTicket.incident_id == incident.id, LinkedTicket.ticket_id.in_(linked))
            .order_by(LinkedTicket.id)
        )
        contacts.add_from_tickets(
            db_session, gateway, incident, list(rows), by=by, now=now, settings=settings
        )


def link(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    ticket_ids: Sequence[int],
    *,
    by: str,
    now: datetime,
    settings: Settings,
    move: bool = False,
    progress: Callable[[int, int], None] | None = None,
    on_submitted: Submitted | None = None,
) -> list[tickets.LinkOutcome]:
    """Link tickets to the parent; their organisations and requesters join the contacts.

    Long work: the caller (an operation, or a step of declaring) owns the transaction.
    """
    outcomes = tickets.link(
        db_session,
        gateway,
        incident,
        ticket_ids,
        by=by,
        now=now,
        settings=settings,
        move=move,
        progress=progress,
        on_submitted=on_submitted,
    )
    linked = [o.ticket_id for o in outcomes if o.ok and not o.message.startswith("already")]
    _add_senders(db_session, gateway, incident, linked, by=by, now=now, settings=settings)
    return outcomes


def confirm_links(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    ticket_ids: Sequence[int],
    *,
    by: str,
    now: datetime,
    settings: Settings,
) -> list[tickets.LinkOutcome]:
    """Record what Zendesk linked before an interruption; their senders join the contacts."""
    outcomes = tickets.confirm_linked(db_session, gateway, incident, ticket_ids, by=by, now=now)
    linked = [o.ticket_id for o in outcomes]
    _add_senders(db_session, gateway, incident, linked, by=by, now=now, settings=settings)
    return outcomes
