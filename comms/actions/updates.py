"""The client updates: publishing and sending one, resolving, and pausing or resuming the
schedule, from the screen, the API or Slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from comms.actions import committing
from comms.actions.operations import start_send, start_solve
from comms.config import Settings
from comms.incidents.models import Incident
from comms.operations.models import Operation
from comms.updates import resolve, retry, service
from comms.updates.control import set_paused
from comms.updates.models import Update
from comms.zendesk import Gateway


@dataclass
class Published:
    """The update written, and the operation a worker sends it through."""

    update: Update
    sending: Operation


@dataclass
class Resolved:
    """What resolving did and what it left to workers: sending the resolved update, and
    solving the parent ticket when asked (None, with the reason, when it cannot be)."""

    resolution: resolve.Resolution
    sending: Operation
    solving: Operation | None
    zendesk_problem: str


def save_status_text(
    db_session: Session, incident: Incident, *, message: str, by: str, now: datetime
) -> Incident:
    """Keep the text the next scheduled update carries, and commit; UpdateProblem if refused."""
    with committing(db_session):
        service.save_status_text(db_session, incident, message=message, by=by, now=now)
    return incident


def publish(
    db_session: Session,
    incident: Incident,
    *,
    message: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> Published:
    """Publish an update to every contact and commit it; record its sending for a worker."""
    with committing(db_session):
        update = service.publish(
            db_session, incident, message=message, by=by, now=now, settings=settings
        )
    return Published(update, start_send(db_session, incident, by=by, now=now))


def resolve_incident(
    db_session: Session,
    gateway: Gateway | None,
    incident: Incident,
    *,
    message: str,
    solve_parent: bool,
    by: str,
    now: datetime,
    settings: Settings,
) -> Resolved:
    """Resolve (the resolved update to all, the schedule stopped) and commit; record its
    sending and, when asked, the parent ticket's solve for workers. UpdateProblem (nothing
    changed) when it cannot be resolved."""
    with committing(db_session):
        resolution = resolve.resolve(
            db_session,
            gateway,
            incident,
            message=message,
            solve_parent=False,  # a worker solves it in Zendesk, below
            by=by,
            now=now,
            settings=settings,
        )
    sending = start_send(db_session, incident, by=by, now=now)
    solving, problem = (None, "")
    if solve_parent:
        solving, problem = solve_parent_ticket(
            db_session, gateway, incident, message=message, by=by, now=now
        )
    return Resolved(resolution, sending, solving, problem)


def solve_parent_ticket(
    db_session: Session,
    gateway: Gateway | None,
    incident: Incident,
    *,
    message: str,
    by: str,
    now: datetime,
) -> tuple[Operation | None, str]:
    """Record solving the parent ticket for a worker; or, without a parent ticket or Zendesk,
    record (and commit) why it cannot be, and return None with that reason."""
    if incident.parent_ticket_id is None or gateway is None:
        with committing(db_session):
            _, problem = resolve.solve_parent_ticket(
                db_session, gateway, incident, message=message, by=by, now=now
            )
        return None, problem
    return start_solve(db_session, incident, message=message, by=by, now=now), ""


def pause_or_resume(
    db_session: Session,
    incident: Incident,
    *,
    paused: bool,
    reason: str,
    by: str,
    now: datetime,
    settings: Settings,
) -> Incident:
    """Pause (a reason is needed) or resume the automatic updates, and commit; UpdateProblem
    (nothing changed) when it cannot be done."""
    with committing(db_session):
        set_paused(
            db_session, incident, paused=paused, reason=reason, by=by, now=now, settings=settings
        )
    return incident


def retry_delivery(
    db_session: Session, incident: Incident, *, number: int, email: str, by: str, now: datetime
) -> Operation:
    """Queue a failed delivery of the latest update again and commit; record its sending for a
    worker. UpdateProblem (nothing changed) when it is not a failed one of the latest update."""
    with committing(db_session):
        retry.retry_failed(db_session, incident, number=number, email=email, by=by, now=now)
    return start_send(db_session, incident, by=by, now=now)
