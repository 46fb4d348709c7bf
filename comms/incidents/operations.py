"""Long Zendesk work (bulk link, merge) run in a thread, its progress kept in the database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from comms.clock import Clock
from comms.incidents.models import Incident, Operation

log = logging.getLogger(__name__)
# The work gets its own session, the operation, and a progress callback; it returns outcomes.
Work = Callable[[Session, Incident, Callable[[int, int], None]], list[dict[str, Any]]]


def start(
    db_session: Session, incident: Incident, *, kind: str, total: int, clock: Clock
) -> Operation:
    operation = Operation(
        incident_id=incident.id,
        kind=kind,
        total=total,
        done=0,
        outcomes=[],
        started_at=clock.now(),
    )
    db_session.add(operation)
    db_session.flush()
    return operation


def run(
    session_factory: sessionmaker[Session], operation_id: int, work: Work, *, clock: Clock
) -> None:
    """Do the work; whatever happens, the operation ends done or failed with a message."""
    with session_factory() as db_session:
        operation = db_session.get_one(Operation, operation_id)
        incident = db_session.get_one(Incident, operation.incident_id)

        def progress(done: int, total: int) -> None:
            with session_factory() as progress_session:
                row = progress_session.get_one(Operation, operation_id)
                row.done, row.total = done, total
                progress_session.commit()

        try:
            outcomes = work(db_session, incident, progress)
        except Exception as error:  # the page must learn what went wrong, whatever it was
            db_session.rollback()
            log.warning("operation %s failed: %s", operation_id, error)
            operation = db_session.get_one(Operation, operation_id)
            operation.state, operation.error = "failed", str(error)
        else:
            operation.state, operation.outcomes = "done", outcomes
            operation.done = operation.total
        operation.finished_at = clock.now()
        db_session.commit()


def run_in_thread(
    session_factory: sessionmaker[Session], operation_id: int, work: Work, *, clock: Clock
) -> threading.Thread:
    thread = threading.Thread(
        target=run,
        args=(session_factory, operation_id, work),
        kwargs={"clock": clock},
        name=f"operation-{operation_id}",
        daemon=True,
    )
    thread.start()
    return thread
