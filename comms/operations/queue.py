"""Record, claim, beat and finish operations; any number of workers on any number of machines.

A worker claims a queued operation (or one whose lease ran out: its worker died) with a
compare-and-set UPDATE, after `FOR UPDATE SKIP LOCKED` on PostgreSQL so that workers pass each
other by; on SQLite the database's single writer makes it one claim at a time. The lease is kept
alive by a heartbeat; a worker that stops beating loses the operation to the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comms.operations.models import ACTIVE, Operation

# Kinds that join the one already queued or running for the same key (a second "refresh"
# click); the others wait in the queue for it (a second link batch to the same parent).
JOINING = {"refresh", "candidates", "solve", "reconcile"}


@dataclass(frozen=True)
class Finished:
    """What a handler reports: the final state, one outcome per item, and a summary."""

    state: str = "done"
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""


class LeaseLost(Exception):
    """Another worker took the operation over (this one stopped beating): stop at once."""


def enqueue(
    db_session: Session,
    *,
    kind: str,
    key: str,
    incident_id: int | None,
    params: dict[str, Any],
    total: int,
    by: str,
    now: datetime,
) -> Operation:
    """Record an operation for a worker; a joining kind returns the active one of its key."""
    operation = Operation(
        incident_id=incident_id,
        kind=kind,
        key=key,
        busy_key=key if kind in JOINING else None,
        params=params,
        total=total,
        done=0,
        outcomes=[],
        result={},
        requested_by=by,
        started_at=now,
    )
    try:
        with db_session.begin_nested():
            db_session.add(operation)
    except IntegrityError:  # one is already under way: join it
        found = db_session.scalar(select(Operation).where(Operation.busy_key == key))
        if found is None:  # it finished in between: record ours after all
            return enqueue(
                db_session,
                kind=kind,
                key=key,
                incident_id=incident_id,
                params=params,
                total=total,
                by=by,
                now=now,
            )
        return found
    return operation


def _claimable(now: datetime) -> Any:
    return or_(
        Operation.state == "queued",
        and_(Operation.state == "running", Operation.lease_expires_at < now),
    )


def claim(db_session: Session, *, owner: str, now: datetime, lease: timedelta) -> Operation | None:
    """Take the oldest operation no live worker holds; commits. None when there is none."""
    query = select(Operation.id).where(_claimable(now)).order_by(Operation.id).limit(10)
    if db_session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for operation_id in list(db_session.scalars(query)):
        try:
            with db_session.begin_nested():
                claimed = db_session.execute(
                    update(Operation)
                    .where(Operation.id == operation_id, _claimable(now))
                    .values(
                        state="running",
                        busy_key=Operation.key,
                        lease_owner=owner,
                        lease_expires_at=now + lease,
                        heartbeat_at=now,
                        attempts=Operation.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:  # one of its kind runs for the same incident or parent: wait
            continue
        if getattr(claimed, "rowcount", 0) == 1:
            db_session.commit()
            return db_session.get_one(Operation, operation_id, populate_existing=True)
    db_session.commit()
    return None


def beat(
    db_session: Session,
    operation_id: int,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    done: int | None = None,
    total: int | None = None,
    note: str | None = None,
) -> bool:
    """Extend the lease and note progress (never backwards); False if the lease was lost."""
    values: dict[str, Any] = {"lease_expires_at": now + lease, "heartbeat_at": now}
    if done is not None:
        values["done"] = case((Operation.done < done, done), else_=Operation.done)
    if total is not None:
        values["total"] = total
    if note is not None:
        values["note"] = note[:500]
    updated = db_session.execute(
        update(Operation)
        .where(
            Operation.id == operation_id,
            Operation.lease_owner == owner,
            Operation.state == "running",
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return getattr(updated, "rowcount", 0) == 1


def finish(
    db_session: Session, operation: Operation, finished: Finished, *, owner: str, now: datetime
) -> bool:
    """Record the end, only if this worker still holds the lease; the caller commits."""
    values: dict[str, Any] = {
        "state": finished.state,
        "busy_key": None,
        "outcomes": finished.outcomes,
        "result": finished.result,
        "error": finished.error,
        "note": "",
        "finished_at": now,
        "lease_expires_at": None,
    }
    if finished.state == "done":
        values["done"] = Operation.total
    updated = db_session.execute(
        update(Operation)
        .where(
            Operation.id == operation.id,
            Operation.lease_owner == owner,
            Operation.state == "running",
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return getattr(updated, "rowcount", 0) == 1


def get(db_session: Session, operation_id: int) -> Operation | None:
    return db_session.get(Operation, operation_id, populate_existing=True)


def latest(db_session: Session, *, kind: str, incident_id: int) -> Operation | None:
    """The incident's most recent operation of a kind (the one a page follows)."""
    return db_session.scalar(
        select(Operation)
        .where(Operation.kind == kind, Operation.incident_id == incident_id)
        .order_by(Operation.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


def active(db_session: Session, *, kind: str, incident_id: int) -> Operation | None:
    found = latest(db_session, kind=kind, incident_id=incident_id)
    return found if found is not None and found.state in ACTIVE else None


def as_json(operation: Operation) -> dict[str, Any]:
    """The operation as the API and the pages show it."""
    return {
        "id": operation.id,
        "kind": operation.kind,
        "incident_id": operation.incident_id,
        "state": operation.state,
        "done": operation.done,
        "total": operation.total,
        "note": operation.note,
        "outcomes": operation.outcomes,
        "result": operation.result,
        "error": operation.error,
        "requested_by": operation.requested_by,
        "started_at": operation.started_at.isoformat(),
        "finished_at": operation.finished_at.isoformat() if operation.finished_at else None,
        "attempts": operation.attempts,
    }
