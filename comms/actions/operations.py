"""Long operations: record one for a worker (start_*), and what a worker does for each kind.

The page and the API start an operation the same way and return at once with its id; a worker
(`comms worker`, or the one `comms serve` and `comms demo` run in-process) claims it and runs
its handler here. A handler resumed after its worker died (attempts > 1) never repeats a step
Zendesk already did: linked chunks are recorded in the operation's outcomes as they are
confirmed, and merges go through the merge ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from comms.actions import committing
from comms.actions import tickets as ticket_actions
from comms.clock import Clock
from comms.config import Settings
from comms.contacts.refresh import refresh
from comms.incident_io.jobs import reconcile, reconcile_due
from comms.incidents import merges
from comms.incidents.models import Incident, MergeRequest
from comms.incidents.service import IncidentError, open_incidents, require_open
from comms.operations import queue
from comms.operations.models import ACTIVE, Operation
from comms.operations.queue import Finished
from comms.updates import resolve
from comms.updates.sender import send_pending
from comms.zendesk import Gateway, ZendeskError
from comms.zendesk.base import chunks


@dataclass
class Job:
    """What a handler works with: its own session and gateway, and the operation's row."""

    db_session: Session
    sessions: Callable[[], Session]  # for work that runs threads of its own (sending)
    zendesk: Gateway | None  # None when Zendesk is not configured (sending needs none)
    operation: Operation
    settings: Settings
    clock: Clock
    progress: Callable[[int, int], None]
    # Commit what is done so far; raises queue.LeaseLost if another worker took over.
    checkpoint: Callable[[], None]

    @property
    def gateway(self) -> Gateway:
        if self.zendesk is None:
            raise IncidentError("Zendesk is not configured: set [zendesk] in the config.")
        return self.zendesk


def _start(
    db_session: Session,
    incident: Incident,
    kind: str,
    *,
    params: dict[str, Any],
    total: int,
    by: str,
    now: datetime,
) -> Operation:
    """Record an operation of this kind on the incident, one at a time per incident (a second
    start joins or queues behind it, as the queue decides), with what was done before it in
    the transaction; commits."""
    with committing(db_session):
        return queue.enqueue(
            db_session,
            kind=kind,
            key=f"{kind}:{incident.id}",
            incident_id=incident.id,
            params=params,
            total=total,
            by=by,
            now=now,
        )


def start_refresh(db_session: Session, incident: Incident, *, by: str, now: datetime) -> Operation:
    """Record a contact refresh, or join the one already queued or running; commits."""
    return _start(db_session, incident, "refresh", params={}, total=0, by=by, now=now)


def start_link(
    db_session: Session,
    incident: Incident,
    ticket_ids: Sequence[int],
    *,
    by: str,
    now: datetime,
    move: bool = False,
) -> Operation:
    """Record a bulk link to the parent (one batch per parent runs at a time); commits."""
    require_open(incident)
    if not incident.parent_ticket_id:
        raise IncidentError("Create or adopt a parent ticket first; tickets are linked to it.")
    wanted = list(dict.fromkeys(int(t) for t in ticket_ids))
    if not wanted:
        raise IncidentError("Choose at least one ticket to link.")
    with committing(db_session):
        return queue.enqueue(
            db_session,
            kind="link",
            key=f"link:{incident.parent_ticket_id}",
            incident_id=incident.id,
            params={"ticket_ids": wanted, "move": move},
            total=len(wanted),
            by=by,
            now=now,
        )


def start_merge(
    db_session: Session,
    incident: Incident,
    *,
    target_id: int,
    source_ids: Sequence[int],
    by: str,
    now: datetime,
) -> Operation:
    """Write the merge ledger rows and record the merge for a worker, in one commit."""
    with committing(db_session):  # a plan refused rolls back; _start commits the rows with it
        rows = merges.plan(
            db_session, incident, target_id=target_id, source_ids=source_ids, by=by, now=now
        )
        params = {"row_ids": [row.id for row in rows]}
        return _start(db_session, incident, "merge", params=params, total=len(rows), by=by, now=now)


def start_send(db_session: Session, incident: Incident, *, by: str, now: datetime) -> Operation:
    """Record the sending of what was just published; the deliveries table is its ledger."""
    return _start(db_session, incident, "send", params={}, total=0, by=by, now=now)


def start_solve(
    db_session: Session, incident: Incident, *, message: str, by: str, now: datetime
) -> Operation:
    """Record solving the parent ticket in Zendesk (a second start joins it); commits."""
    params = {"message": message}
    return _start(db_session, incident, "solve", params=params, total=1, by=by, now=now)


def start_candidates(
    db_session: Session, incident: Incident, *, by: str, now: datetime
) -> Operation:
    """Record the Zendesk backstop poll for candidate tickets, or join the one already queued
    or running (one per incident); commits."""
    return _start(db_session, incident, "candidates", params={}, total=0, by=by, now=now)


def start_due_candidate_polls(
    db_session: Session, *, settings: Settings, now: datetime
) -> list[Operation]:
    """Record the backstop poll of every open incident whose last poll ended more than
    candidate_poll_minutes ago (none when Zendesk is not configured or the interval is 0);
    commits."""
    every = settings.zendesk.candidate_poll_minutes
    if not settings.zendesk.configured or every <= 0:
        return []
    since = now - timedelta(minutes=every)
    recent = or_(Operation.state.in_(ACTIVE), Operation.finished_at > since)
    polled = set(
        db_session.scalars(
            select(Operation.incident_id).where(Operation.kind == "candidates", recent)
        )
    )
    due = [incident for incident in open_incidents(db_session) if incident.id not in polled]
    return [start_candidates(db_session, incident, by="scheduler", now=now) for incident in due]


def start_reconcile(db_session: Session, *, settings: Settings, now: datetime) -> Operation | None:
    """When it is due, record the incident.io reconcile for a worker (one at a time); commits."""
    if not reconcile_due(db_session, settings, now=now):
        db_session.rollback()
        return None
    with committing(db_session):
        return queue.enqueue(
            db_session,
            kind="reconcile",
            key="reconcile",
            incident_id=None,
            params={},
            total=0,
            by="scheduler",
            now=now,
        )


def _incident(job: Job) -> Incident:
    incident = job.db_session.get(Incident, job.operation.incident_id or 0)
    if incident is None:
        raise IncidentError("The incident no longer exists.")
    return incident


def run_refresh(job: Job) -> Finished:
    """Re-read the contacts; the new snapshot and the operation's end commit together."""
    result = refresh(
        job.db_session,
        job.gateway,
        _incident(job),
        job.settings,
        now=job.clock.now(),
        progress=job.progress,
        by=job.operation.requested_by,
    )
    summary = {
        "ok": result.ok,
        "contacts": result.contacts if result.ok else None,
        "organizations": result.organizations,
        "people": result.people,
        "missing": list(result.missing),
        "requests": result.requests,
    }
    return Finished("done" if result.ok else "failed", result=summary, error=result.error)


def run_candidates(job: Job) -> Finished:
    """The backstop poll; the candidates found and the operation's end commit together, so a
    worker taking over after a crash polls again and keeps each ticket once."""
    try:
        found = ticket_actions.find_candidates(
            job.db_session, job.gateway, _incident(job), settings=job.settings, now=job.clock.now()
        )
    except ZendeskError as error:
        return Finished("failed", error=f"Candidates were not refreshed: {error}")
    return Finished(result={"candidates": len(found)})


def run_link(job: Job) -> Finished:
    """Link chunk by chunk; each chunk's job id is committed before waiting for it, and its
    outcomes with its rows (the link ledger), so a worker taking over repeats nothing."""
    operation, incident = job.operation, _incident(job)
    wanted = [int(t) for t in operation.params["ticket_ids"]]
    outcomes: list[dict[str, Any]] = list(operation.outcomes)
    recorded = {o["ticket_id"] for o in outcomes}
    remaining = [t for t in wanted if t not in recorded]
    by = operation.requested_by
    if operation.attempts > 1 and remaining:
        outcomes += _resume_link(job, incident, remaining)
        _save(job, outcomes)
        recorded = {o["ticket_id"] for o in outcomes}
        remaining = [t for t in remaining if t not in recorded]

    def submitted(job_id: str, chunk: list[int]) -> None:
        operation.result = {"in_flight": {"job_id": job_id, "ticket_ids": chunk}}
        job.checkpoint()

    for chunk in chunks(remaining, 100):
        linked = ticket_actions.link(
            job.db_session,
            job.gateway,
            incident,
            chunk,
            by=by,
            now=job.clock.now(),
            settings=job.settings,
            move=bool(operation.params.get("move")),
            on_submitted=submitted,
        )
        outcomes += [o.__dict__ for o in linked]
        _save(job, outcomes)
        job.progress(len(outcomes), len(wanted))
    ok = sum(1 for o in outcomes if o["ok"])
    return Finished(outcomes=outcomes, result={"linked": ok, "not_linked": len(outcomes) - ok})


def _resume_link(job: Job, incident: Incident, remaining: list[int]) -> list[dict[str, Any]]:
    """The last worker died mid-way: let its Zendesk job finish, then record what it linked."""
    in_flight = job.operation.result.get("in_flight")
    if in_flight:
        with suppress(ZendeskError):  # gone or failed: asking for the tickets tells the rest
            job.gateway.wait_for_job(str(in_flight["job_id"]))
    confirmed = ticket_actions.confirm_links(
        job.db_session,
        job.gateway,
        incident,
        remaining,
        by=job.operation.requested_by,
        now=job.clock.now(),
        settings=job.settings,
    )
    return [o.__dict__ for o in confirmed]


def _save(job: Job, outcomes: list[dict[str, Any]]) -> None:
    job.operation.outcomes = list(outcomes)
    job.operation.result = {}
    job.checkpoint()


def run_merge(job: Job) -> Finished:
    """Carry out each merge ledger row; a resumed one asks Zendesk before merging again."""
    row_ids = [int(r) for r in job.operation.params["row_ids"]]
    outcomes: list[dict[str, Any]] = []
    states = []
    for done, row_id in enumerate(row_ids, start=1):
        row = job.db_session.get_one(MergeRequest, row_id)
        if job.operation.attempts > 1:
            merges.resume(row)
        row = merges.perform(
            job.db_session, job.gateway, row, commit=job.checkpoint, now=job.clock.now()
        )
        job.checkpoint()
        outcomes += row.outcomes
        states.append(
            {"target_id": row.target_id, "source_ids": row.source_ids, "state": row.state}
        )
        job.progress(done, len(row_ids))
    return Finished(outcomes=outcomes, result={"merges": states})


def run_send(job: Job) -> Finished:
    """Send every pending delivery; each is claimed and settled in the deliveries ledger."""
    report = send_pending(job.sessions, job.settings, clock=job.clock)
    counts = {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}
    return Finished(result=counts | {"uncertain": report.uncertain}, error=report.problem)


def run_solve(job: Job) -> Finished:
    """Solve the parent ticket with a public comment; the timeline says if Zendesk did not."""
    solved, problem = resolve.solve_parent_ticket(
        job.db_session,
        job.zendesk,
        _incident(job),
        message=str(job.operation.params.get("message") or "Resolved."),
        by=job.operation.requested_by,
        now=job.clock.now(),
    )
    return Finished("done" if solved else "failed", result={"parent_solved": solved}, error=problem)


def run_reconcile(job: Job) -> Finished:
    """List the incidents changed in incident.io since the last look and follow each."""
    report = reconcile(job.sessions, job.settings, clock=job.clock)
    state = "failed" if report.error else "done"
    return Finished(state, result={"reconciled": report.reconciled}, error=report.error)


HANDLERS: dict[str, Callable[[Job], Finished]] = {
    "reconcile": run_reconcile,
    "candidates": run_candidates,
    "send": run_send,
    "solve": run_solve,
    "refresh": run_refresh,
    "link": run_link,
    "merge": run_merge,
}
