"""Resolve an incident: the last update to every contact, the schedule stopped, Zendesk solved.

The resolved update is written first (its messages render before anything is recorded), then
the parent ticket is solved in Zendesk if asked. A Zendesk failure does not hold back the
clients' e-mail: the incident is still resolved and the update still goes out, and the failure
is returned and put on the timeline as "not solved", so nobody is told it was solved when it
was not. `solve_parent_ticket` can be called again later to retry only that step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from comms.config import Settings
from comms.followup import service as followup
from comms.incidents.models import Incident
from comms.timeline import record
from comms.updates.models import Update
from comms.updates.service import UpdateProblem, lock, publish, recipients
from comms.zendesk import Gateway, ZendeskError


@dataclass(frozen=True)
class Resolution:
    """What resolving did: the update written (None without contacts) and Zendesk's part."""

    update: Update | None
    parent_solved: bool
    zendesk_problem: str


def resolve(
    db_session: Session,
    gateway: Gateway | None,
    incident: Incident,
    *,
    message: str,
    solve_parent: bool,
    by: str,
    now: datetime,
    settings: Settings,
) -> Resolution:
    """Send the resolved update, stop the schedule, mark resolved, solve the parent if asked."""
    if not incident.is_open:
        raise UpdateProblem(f"{incident.reference} is already resolved.")
    if not (message or "").strip():
        raise UpdateProblem("Write the resolution message: it is the clients' last update.")
    lock(db_session, incident)
    update = None
    count = len(recipients(db_session, incident, settings))
    if count:
        update = publish(
            db_session,
            incident,
            message=message,
            kind="resolved",
            trigger="resolve",
            by=by,
            now=now,
            settings=settings,
        )
    incident.status = "resolved"
    incident.resolved_at = now
    incident.next_update_due_at = None
    db_session.flush()
    sent = f"; the resolved update goes to {count} contacts" if update else ""
    record(
        db_session,
        incident,
        actor=by,
        kind="resolved",
        summary=f"Resolved {incident.reference}{sent or '; there were no contacts to tell'}",
        now=now,
        details={"message": message.strip(), "update": update.number if update else None},
    )
    solved, problem = False, ""
    if solve_parent:
        solved, problem = solve_parent_ticket(
            db_session, gateway, incident, message=message, by=by, now=now
        )
    followup.on_resolved(db_session, incident, now=now, settings=settings)
    return Resolution(update, solved, problem)


def solve_parent_ticket(
    db_session: Session,
    gateway: Gateway | None,
    incident: Incident,
    *,
    message: str,
    by: str,
    now: datetime,
) -> tuple[bool, str]:
    """Solve the parent ticket with a public comment; say plainly on the timeline if not."""
    ticket = incident.parent_ticket_id
    problem = ""
    if ticket is None:
        problem = f"{incident.reference} has no parent ticket in Zendesk to solve."
    elif gateway is None:
        problem = "Zendesk is not configured, so the parent ticket was not solved."
    else:
        try:
            gateway.solve_problem(ticket, message.strip())
        except ZendeskError as error:
            problem = f"Zendesk did not solve parent ticket #{ticket}: {error}"
    record(
        db_session,
        incident,
        actor=by,
        kind="parent_not_solved" if problem else "parent_solved",
        summary=problem
        or f"Solved parent ticket #{ticket} in Zendesk with a public comment "
        "(Zendesk solves its linked tickets)",
        now=now,
        details={"ticket_id": ticket, "problem": problem},
    )
    return not problem, problem
