"""Merging duplicate tickets, with a ledger so that a crash or a double click never merges twice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comms.db import Page, keyset_page
from comms.incidents.models import Candidate, Incident, LinkedTicket, MergeRequest
from comms.incidents.service import IncidentError, require_open
from comms.incidents.tickets import KnownTicket, known_tickets, refuse_taken
from comms.timeline import record
from comms.zendesk import Gateway, TicketOutcome, ZendeskError
from comms.zendesk.base import chunks

MAX_SOURCES = 5  # Zendesk takes at most 5 source tickets per merge request
# A claimed merge not completed by then was interrupted (the gateway gives up on jobs sooner).
STALE = timedelta(minutes=5)


def plan(
    db_session: Session,
    incident: Incident,
    *,
    target_id: int,
    source_ids: Sequence[int],
    by: str,
    now: datetime,
) -> list[MergeRequest]:
    """Write a ledger row per request of at most 5 sources; the same request twice is one row."""
    require_open(incident)
    sources = sorted({int(s) for s in source_ids} - {int(target_id)})
    if not sources:
        raise IncidentError("Choose at least one ticket to merge, other than the target.")
    if int(target_id) in {int(s) for s in source_ids}:
        raise IncidentError(f"Ticket {target_id} cannot be merged into itself.")
    _check_tickets(db_session, incident, int(target_id), sources)
    return [
        _ledger_row(db_session, incident, target_id, chunk, by=by, now=now)
        for chunk in chunks(sources, MAX_SOURCES)
    ]


def _check_tickets(
    db_session: Session, incident: Incident, target_id: int, sources: list[int]
) -> None:
    """Merge only this incident's own tickets, never a parent ticket: Zendesk cannot undo it."""
    refuse_taken(db_session, incident.id, [target_id, *sources], move=False)
    if incident.parent_ticket_id in sources:
        raise IncidentError(
            f"Ticket {incident.parent_ticket_id} is the parent ticket of {incident.reference}; "
            "a parent ticket is never merged away."
        )
    known = known_tickets(db_session, incident, [target_id, *sources])
    strangers = [s for s in sources if s not in known]
    if strangers:
        raise IncidentError(
            f"Ticket(s) {', '.join(map(str, strangers))} are not candidates or linked tickets of "
            f"{incident.reference}: find them as candidates first."
        )
    _refuse_other_clients(known, target_id, sources)


def _refuse_other_clients(
    known: dict[int, KnownTicket], target_id: int, sources: list[int]
) -> None:
    """Merge one client's duplicates only: Zendesk makes a merged ticket's requester a CC of the
    target, so merging two clients' tickets would show each the other's address and replies."""
    organization_of = {
        ticket: row.organization_id
        for ticket, row in known.items()
        if row.organization_id is not None
    }
    if len(set(organization_of.values())) < 2:
        return
    first = next(t for t in [target_id, *sources] if t in organization_of)
    others = [
        s
        for s in sources
        if organization_of.get(s, organization_of[first]) != organization_of[first]
    ]
    if others:
        raise IncidentError(
            f"Ticket(s) {', '.join(map(str, others))} belong to another client than ticket "
            f"{first}: Zendesk would make each requester a CC of the other's ticket. "
            "Merge only one client's duplicates."
        )


def _ledger_row(
    db_session: Session,
    incident: Incident,
    target_id: int,
    chunk: list[int],
    *,
    by: str,
    now: datetime,
) -> MergeRequest:
    """The ledger row for these sources; a second click finds the first click's row."""
    key = ",".join(map(str, chunk))
    query = select(MergeRequest).where(
        MergeRequest.target_id == target_id, MergeRequest.source_key == key
    )
    row = db_session.scalar(query)
    if row is not None:
        return row
    row = MergeRequest(
        incident_id=incident.id,
        target_id=target_id,
        source_key=key,
        source_ids=chunk,
        state="requested",
        outcomes=[],
        requested_at=now,
        requested_by=by,
    )
    try:
        with db_session.begin_nested():
            db_session.add(row)
    except IntegrityError:  # the same request arrived at the same moment from elsewhere
        return db_session.scalars(query).one()
    return row


def perform(
    db_session: Session,
    gateway: Gateway,
    request: MergeRequest,
    *,
    commit: Callable[[], None],
    now: datetime,
) -> MergeRequest:
    """Carry out one ledger row; the attempt is claimed and committed before Zendesk is asked."""
    if request.state not in ("requested", "interrupted"):
        return request  # done or failed already: never merge twice
    interrupted = request.attempted_at is not None
    if not _claim(db_session, request, now=now):
        return request  # another worker is merging these right now
    commit()
    try:
        _merge(db_session, gateway, request, interrupted=interrupted, now=now)
    except ZendeskError:
        # Zendesk may or may not have merged: the next attempt asks it first, at once.
        request.state = "interrupted"
        commit()
        raise
    return request


def resume(request: MergeRequest) -> None:
    """A merge its worker attempted and never completed (the worker died): ask Zendesk first.

    Only the worker holding the operation's lease calls this, so nobody else is merging them.
    """
    if request.state == "requested" and request.attempted_at is not None:
        request.state = "interrupted"


def _merge(
    db_session: Session,
    gateway: Gateway,
    request: MergeRequest,
    *,
    interrupted: bool,
    now: datetime,
) -> None:
    sources = list(request.source_ids)
    outcomes: list[TicketOutcome] = []
    if interrupted:
        outcomes, sources = _already_merged(gateway, sources)
    if sources:
        incident = db_session.get_one(Incident, request.incident_id)
        result = gateway.merge(
            request.target_id,
            sources,
            target_comment=target_comment(incident, sources),
            source_comment=source_comment(incident, request.target_id),
        )
        outcomes += list(result.outcomes)
        request.job_id = result.job_id
    _complete(db_session, request, outcomes, now=now)


def target_comment(incident: Incident, sources: list[int]) -> str:
    """The private comment Zendesk adds to the ticket the others are merged into."""
    merged = ", ".join(map(str, sources))
    return f"Tickets {merged} were merged into this ticket as duplicates ({incident.reference})."


def source_comment(incident: Incident, target_id: int) -> str:
    """The private comment Zendesk adds to each ticket merged away, before closing it."""
    ref = incident.reference
    return f"This ticket was merged into ticket {target_id} ({ref}); updates continue there."


def _claim(db_session: Session, request: MergeRequest, *, now: datetime) -> bool:
    """Take the row for this worker; a row left by a crashed worker is taken after a while."""
    claimed = db_session.execute(
        update(MergeRequest)
        .where(
            MergeRequest.id == request.id,
            or_(
                MergeRequest.state == "interrupted",
                and_(
                    MergeRequest.state == "requested",
                    or_(
                        MergeRequest.attempted_at.is_(None),
                        MergeRequest.attempted_at < now - STALE,
                    ),
                ),
            ),
        )
        .values(attempted_at=now, state="requested")
        .execution_options(synchronize_session=False)
    )
    db_session.refresh(request)
    return getattr(claimed, "rowcount", 0) == 1


def _already_merged(gateway: Gateway, sources: list[int]) -> tuple[list[TicketOutcome], list[int]]:
    """After an interrupted attempt, ask Zendesk which sources it already merged."""
    merged = {t.id for t in gateway.tickets(sources) if t.closed and "closed_by_merge" in t.tags}
    outcomes = [TicketOutcome(t, True, "merged (confirmed after an interruption)") for t in merged]
    return outcomes, [s for s in sources if s not in merged]


def _complete(
    db_session: Session, request: MergeRequest, outcomes: list[TicketOutcome], *, now: datetime
) -> None:
    request.outcomes = [
        {"ticket_id": o.ticket_id, "ok": o.ok, "message": o.message} for o in outcomes
    ]
    request.state = "done" if any(o.ok for o in outcomes) else "failed"
    request.completed_at = now
    incident = db_session.get_one(Incident, request.incident_id)
    merged = [o.ticket_id for o in outcomes if o.ok]
    for ticket_id in merged:
        _mark_merged(db_session, request, ticket_id, now=now)
    refused = {str(o.ticket_id): o.message for o in outcomes if not o.ok}
    summary = f"Merged {len(merged)} ticket(s) into {request.target_id}"
    summary += (": " + ", ".join(map(str, merged))) if merged else ""
    if refused:
        summary += "; refused: " + "; ".join(f"{t} ({m})" for t, m in refused.items())
    record(
        db_session,
        incident,
        actor=request.requested_by,
        kind="merge",
        now=now,
        summary=summary + ".",
        details={
            "target_id": request.target_id,
            "merged": merged,
            "refused": refused,
            "job_id": request.job_id,
        },
    )


def _mark_merged(
    db_session: Session, request: MergeRequest, ticket_id: int, *, now: datetime
) -> None:
    row = db_session.scalar(select(LinkedTicket).where(LinkedTicket.ticket_id == ticket_id))
    if row is None:
        candidate = db_session.scalar(select(Candidate).where(Candidate.ticket_id == ticket_id))
        row = LinkedTicket(
            incident_id=request.incident_id,
            ticket_id=ticket_id,
            subject=candidate.subject if candidate else "",
            requester_id=candidate.requester_id if candidate else None,
            organization_id=candidate.organization_id if candidate else None,
            linked_at=now,
            linked_by=request.requested_by,
        )
        db_session.add(row)
    row.state = "merged"
    db_session.execute(delete(Candidate).where(Candidate.ticket_id == ticket_id))
    db_session.flush()


def ledger_page(
    db_session: Session, incident: Incident, *, size: int, after: int | None = None
) -> Page[MergeRequest]:
    """One page of the merge ledger, in the order the requests were made (the cursor: an id)."""
    return keyset_page(
        db_session,
        select(MergeRequest).where(MergeRequest.incident_id == incident.id),
        (MergeRequest.id,),
        id_column=MergeRequest.id,
        size=size,
        after=after,
    )
