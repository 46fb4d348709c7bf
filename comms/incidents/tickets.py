"""Candidate tickets and linking them to the parent, kept in step with Zendesk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, func, literal, or_, select, true
from sqlalchemy.orm import Session

from comms.config import Settings
from comms.db import Page, UTCDateTime, keyset_page
from comms.incidents.models import Candidate, Incident, LinkedTicket
from comms.incidents.service import IncidentError, require_open
from comms.timeline import record
from comms.zendesk import Gateway, Ticket, ZendeskError
from comms.zendesk.bulk import Submitted

Progress = Callable[[int, int], None]
BY_AGENT = "Zendesk (linked by an agent)"  # who linked a ticket an agent linked in Zendesk

# Where a candidate whose creation time is unknown sorts: after every dated one.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LinkOutcome:
    ticket_id: int
    ok: bool
    message: str


def agent_link(settings: Settings, ticket_id: int) -> str:
    """Where an agent opens the ticket in Zendesk."""
    return f"{settings.zendesk.agent_url}/agent/tickets/{ticket_id}"


def adopt_linked_by_hand(
    db_session: Session, gateway: Gateway, incident: Incident, *, now: datetime
) -> list[int]:
    """Record the tickets an agent linked to the parent in Zendesk itself (problem_id set).

    Returns their ids; the caller brings their senders into the contacts, as for a link.
    """
    if incident.parent_ticket_id is None:
        return []
    known = set(
        db_session.scalars(
            select(LinkedTicket.ticket_id).where(LinkedTicket.incident_id == incident.id)
        )
    )
    found = [t for t in gateway.incidents_of(incident.parent_ticket_id) if t.id not in known]
    taken = set(
        db_session.scalars(
            select(LinkedTicket.ticket_id).where(LinkedTicket.ticket_id.in_([t.id for t in found]))
        )
    )
    adopted = [t for t in found if t.id not in taken]
    if not adopted:
        return []
    by = BY_AGENT
    for ticket in adopted:
        _record_link(db_session, incident, ticket, None, by=by, now=now)
    ids = [t.id for t in adopted]
    record(
        db_session,
        incident,
        actor=by,
        kind="link",
        now=now,
        summary=f"{len(ids)} ticket(s) linked to parent {incident.parent_ticket_id} in Zendesk "
        f"by an agent are now part of the incident: {', '.join(map(str, ids[:20]))}"
        + ("…" if len(ids) > 20 else "")
        + ".",
        details={"linked": ids, "refused": {}},
    )
    return ids


def add_candidate(
    db_session: Session, incident: Incident, ticket: Ticket, *, source: str, now: datetime
) -> Candidate | None:
    """Keep a ticket as a candidate unless it is the parent, linked, or already a candidate."""
    taken = db_session.scalar(select(LinkedTicket.id).where(LinkedTicket.ticket_id == ticket.id))
    if taken or ticket.id == incident.parent_ticket_id or ticket.type == "problem":
        return None
    existing = db_session.scalar(
        select(Candidate).where(
            Candidate.incident_id == incident.id, Candidate.ticket_id == ticket.id
        )
    )
    if existing is not None:
        existing.status = ticket.status
        return existing
    candidate = Candidate(
        incident_id=incident.id,
        ticket_id=ticket.id,
        subject=ticket.subject,
        status=ticket.status,
        requester_id=ticket.requester_id,
        organization_id=ticket.organization_id,
        ticket_created_at=ticket.created_at,
        source=source,
        found_at=now,
    )
    db_session.add(candidate)
    return candidate


def name_candidates(db_session: Session, gateway: Gateway, incident: Incident) -> None:
    """Store the organisation and requester names of candidates found without them (one
    show_many of each, 100 ids a request), so the page shows names and reads no Zendesk.
    A name Zendesk does not have is kept as ""; Zendesk failing leaves them for the next poll."""
    unnamed = list(
        db_session.scalars(
            select(Candidate).where(
                Candidate.incident_id == incident.id,
                ((Candidate.organization_id.is_not(None)) & Candidate.organization_name.is_(None))
                | ((Candidate.requester_id.is_not(None)) & Candidate.requester_name.is_(None)),
            )
        )
    )
    if not unnamed:
        return
    try:
        orgs = {o.id: o.name for o in gateway.organizations(_ids(unnamed, "organization_id"))}
        people = {
            u.id: u.name or u.email or "" for u in gateway.users(_ids(unnamed, "requester_id"))
        }
    except ZendeskError:
        return
    for c in unnamed:
        c.organization_name = c.organization_name or orgs.get(c.organization_id or 0, "")
        c.requester_name = c.requester_name or people.get(c.requester_id or 0, "")


def _ids(rows: Sequence[Candidate], column: str) -> list[int]:
    return sorted({i for i in (getattr(r, column) for r in rows) if i is not None})


def candidates(db_session: Session, incident: Incident) -> list[Candidate]:
    return list(
        db_session.scalars(
            select(Candidate)
            .where(Candidate.incident_id == incident.id)
            .order_by(Candidate.ticket_created_at.desc(), Candidate.ticket_id.desc())
        )
    )


@dataclass(frozen=True)
class CandidateFilter:
    """Which candidates to show or act on: words in the subject, organisation or requester
    name (or the ticket id), and one organisation; empty, all of them."""

    text: str = ""
    organization_id: int | None = None

    def where(self, incident: Incident) -> list[ColumnElement[bool]]:
        """The conditions on `candidates` for this filter of this incident's candidates."""
        found: list[ColumnElement[bool]] = [Candidate.incident_id == incident.id]
        if self.organization_id is not None:
            found.append(Candidate.organization_id == self.organization_id)
        for word in self.text.split():
            matches = [
                column.icontains(word, autoescape=True)
                for column in (
                    Candidate.subject,
                    Candidate.organization_name,
                    Candidate.requester_name,
                )
            ]
            if word.isascii() and word.isdigit() and len(word) < 19:
                matches.append(Candidate.ticket_id == int(word))
            found.append(or_(*matches))
        return found


ALL = CandidateFilter()


def candidates_page(
    db_session: Session,
    incident: Incident,
    *,
    size: int,
    after: int | None = None,
    matching: CandidateFilter = ALL,
) -> Page[Candidate]:
    """One page of the candidates matching, newest ticket first (LookupError for a foreign
    cursor)."""
    created = func.coalesce(Candidate.ticket_created_at, literal(NEVER, UTCDateTime()))
    return keyset_page(
        db_session,
        select(Candidate).where(*matching.where(incident)),
        (created, Candidate.ticket_id),
        id_column=Candidate.id,
        size=size,
        after=after,
        descending=True,
    )


def count_matching(db_session: Session, incident: Incident, matching: CandidateFilter) -> int:
    """How many candidates the filter finds among all the incident's."""
    return int(db_session.scalar(select(func.count()).where(*matching.where(incident))) or 0)


def matching_ids(db_session: Session, incident: Incident, matching: CandidateFilter) -> list[int]:
    """The tickets of every candidate the filter finds, oldest first (for "all N matching")."""
    query = (
        select(Candidate.ticket_id)
        .where(*matching.where(incident))
        .order_by(Candidate.ticket_created_at, Candidate.ticket_id)
    )
    return list(db_session.scalars(query))


def candidate_organizations(db_session: Session, incident: Incident) -> list[tuple[int, str]]:
    """The organisations of the incident's candidates, by name (its id when unnamed)."""
    query = (
        select(Candidate.organization_id, func.max(Candidate.organization_name))
        .where(Candidate.incident_id == incident.id, Candidate.organization_id.is_not(None))
        .group_by(Candidate.organization_id)
    )
    found = [(org_id, name or "") for org_id, name in db_session.execute(query) if org_id]
    return sorted(found, key=lambda org: (org[1] == "", org[1].lower(), org[0]))


def linked_page(
    db_session: Session, incident: Incident, *, size: int, after: int | None = None
) -> Page[LinkedTicket]:
    """One page of the linked tickets, in the order they were linked."""
    return keyset_page(
        db_session,
        select(LinkedTicket).where(LinkedTicket.incident_id == incident.id),
        (LinkedTicket.linked_at, LinkedTicket.ticket_id),
        id_column=LinkedTicket.id,
        size=size,
        after=after,
    )


@dataclass(frozen=True)
class KnownTicket:
    """A ticket as the incident knows it, from its candidates or its linked tickets."""

    ticket_id: int
    subject: str
    requester_id: int | None
    organization_id: int | None
    ticket_created_at: datetime | None
    state: str  # "candidate", "linked" or "merged"


def known_tickets(
    db_session: Session, incident: Incident, ticket_ids: Sequence[int]
) -> dict[int, KnownTicket]:
    """These tickets as the incident knows them (a ticket it does not know is left out)."""
    found: dict[int, KnownTicket] = {}
    linked = select(LinkedTicket).where(
        LinkedTicket.incident_id == incident.id, LinkedTicket.ticket_id.in_(ticket_ids)
    )
    for row in db_session.scalars(linked):
        found[row.ticket_id] = KnownTicket(
            row.ticket_id, row.subject, row.requester_id, row.organization_id, None, row.state
        )
    candidates = select(Candidate).where(
        Candidate.incident_id == incident.id, Candidate.ticket_id.in_(ticket_ids)
    )
    for c in db_session.scalars(candidates):
        found[c.ticket_id] = KnownTicket(
            c.ticket_id,
            c.subject,
            c.requester_id,
            c.organization_id,
            c.ticket_created_at,
            "candidate",
        )
    return found


def count_candidates(db_session: Session, incident: Incident) -> int:
    """How many candidates wait to be linked or dismissed."""
    query = select(func.count()).where(Candidate.incident_id == incident.id)
    return int(db_session.scalar(query) or 0)


def count_linked(db_session: Session, incident: Incident) -> int:
    """How many tickets are linked to the parent now (not merged or failed)."""
    query = select(func.count()).where(
        LinkedTicket.incident_id == incident.id, LinkedTicket.state == "linked"
    )
    return int(db_session.scalar(query) or 0)


def linked_tickets(db_session: Session, incident: Incident) -> list[LinkedTicket]:
    return list(
        db_session.scalars(
            select(LinkedTicket)
            .where(LinkedTicket.incident_id == incident.id)
            .order_by(LinkedTicket.linked_at, LinkedTicket.ticket_id)
        )
    )


def refuse_taken(
    db_session: Session, incident_id: int | None, ticket_ids: Sequence[int], *, move: bool
) -> dict[int, LinkedTicket]:
    """Tickets of other incidents are refused unless moved explicitly; returns those moving."""
    other = LinkedTicket.incident_id != incident_id if incident_id else true()
    rows = db_session.scalars(
        select(LinkedTicket).where(LinkedTicket.ticket_id.in_(ticket_ids), other)
    )
    taken = {row.ticket_id: row for row in rows}
    not_this = Incident.id != incident_id if incident_id else true()
    parents = db_session.execute(
        select(Incident.parent_ticket_id, Incident.id).where(
            Incident.parent_ticket_id.in_(ticket_ids), not_this
        )
    ).all()
    for ticket_id, other_id in parents:
        raise IncidentError(f"Ticket {ticket_id} is the parent ticket of INC-{other_id}.")
    if taken and not move:
        listing = ", ".join(f"{t} (INC-{row.incident_id})" for t, row in sorted(taken.items()))
        raise IncidentError(
            f"Already linked to another incident: {listing}. Choose to move them explicitly."
        )
    return taken


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
    progress: Progress | None = None,
    on_submitted: Submitted | None = None,
) -> list[LinkOutcome]:
    """Attach tickets to the parent in Zendesk and record only what Zendesk confirmed."""
    require_open(incident)
    if not incident.parent_ticket_id:
        raise IncidentError("Create or adopt a parent ticket first; tickets are linked to it.")
    wanted = list(dict.fromkeys(int(t) for t in ticket_ids))
    if not wanted:
        raise IncidentError("Choose at least one ticket to link.")
    mine = set(
        db_session.scalars(
            select(LinkedTicket.ticket_id).where(
                LinkedTicket.incident_id == incident.id, LinkedTicket.ticket_id.in_(wanted)
            )
        )
    )
    moving = refuse_taken(db_session, incident.id, wanted, move=move)
    outcomes = [LinkOutcome(t, True, "already linked: skipped") for t in wanted if t in mine]
    to_link = [t for t in wanted if t not in mine]
    if not to_link:
        return outcomes
    tickets = {ticket.id: ticket for ticket in gateway.tickets(to_link)}
    missing = [t for t in to_link if t not in tickets]
    outcomes += [LinkOutcome(t, False, f"ticket {t} does not exist in Zendesk") for t in missing]
    present = [t for t in to_link if t in tickets]
    results = gateway.link_to_problem(
        incident.parent_ticket_id, present, progress=progress, on_submitted=on_submitted
    )
    for result in results:
        outcomes.append(LinkOutcome(result.ticket_id, result.ok, result.message))
        if result.ok:
            _record_link(
                db_session,
                incident,
                tickets[result.ticket_id],
                moving.get(result.ticket_id),
                by=by,
                now=now,
            )
    _record_link_summary(db_session, incident, outcomes, by=by, now=now)
    return outcomes


def confirm_linked(
    db_session: Session,
    gateway: Gateway,
    incident: Incident,
    ticket_ids: Sequence[int],
    *,
    by: str,
    now: datetime,
) -> list[LinkOutcome]:
    """After an interrupted link, record the tickets Zendesk already linked, without asking
    it to link them again."""
    if not ticket_ids or not incident.parent_ticket_id:
        return []
    mine = set(
        db_session.scalars(
            select(LinkedTicket.ticket_id).where(
                LinkedTicket.incident_id == incident.id, LinkedTicket.ticket_id.in_(ticket_ids)
            )
        )
    )
    found = [
        t
        for t in gateway.tickets(ticket_ids)
        if t.problem_id == incident.parent_ticket_id and t.id not in mine
    ]
    moving = refuse_taken(db_session, incident.id, [t.id for t in found], move=True)
    for ticket in found:
        _record_link(db_session, incident, ticket, moving.get(ticket.id), by=by, now=now)
    outcomes = [LinkOutcome(t.id, True, "linked (confirmed after an interruption)") for t in found]
    _record_link_summary(db_session, incident, outcomes, by=by, now=now)
    return outcomes


def _record_link(
    db_session: Session,
    incident: Incident,
    ticket: Ticket,
    moving: LinkedTicket | None,
    *,
    by: str,
    now: datetime,
) -> None:
    if moving is not None:
        record(
            db_session,
            moving.incident,
            actor=by,
            kind="ticket-moved",
            now=now,
            summary=f"Ticket {ticket.id} moved to {incident.reference}.",
            details={"ticket_id": ticket.id, "to": incident.reference},
        )
        db_session.delete(moving)
        db_session.flush()
    db_session.add(
        LinkedTicket(
            incident_id=incident.id,
            ticket_id=ticket.id,
            subject=ticket.subject,
            requester_id=ticket.requester_id,
            organization_id=ticket.organization_id,
            state="linked",
            linked_at=now,
            linked_by=by,
        )
    )
    db_session.execute(delete(Candidate).where(Candidate.ticket_id == ticket.id))


def _record_link_summary(
    db_session: Session,
    incident: Incident,
    outcomes: list[LinkOutcome],
    *,
    by: str,
    now: datetime,
) -> None:
    linked = [o.ticket_id for o in outcomes if o.ok and not o.message.startswith("already")]
    refused = {o.ticket_id: o.message for o in outcomes if not o.ok}
    if not linked and not refused:
        return
    summary = f"Linked {len(linked)} ticket(s) to parent {incident.parent_ticket_id}"
    if linked:
        summary += ": " + ", ".join(map(str, linked[:20])) + ("…" if len(linked) > 20 else "")
    if refused:
        summary += f"; {len(refused)} not linked"
    record(
        db_session,
        incident,
        actor=by,
        kind="link",
        now=now,
        summary=summary + ".",
        details={"linked": linked, "refused": {str(k): v for k, v in refused.items()}},
    )
