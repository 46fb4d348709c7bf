"""Send a failed delivery of the latest update once more, through the deliveries ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from comms.incidents.models import Incident
from comms.timeline import record
from comms.updates.history import find
from comms.updates.models import Delivery
from comms.updates.service import UpdateProblem, latest


def retry_failed(
    db_session: Session, incident: Incident, *, number: int, email: str, by: str, now: datetime
) -> None:
    """Put one failed delivery back in the queue; flushes. UpdateProblem when it cannot be.

    Only a row still `failed` moves (a compare-and-set), so a second click, or two people at
    once, queue it once: the sender sends a pending row once. Only the latest update's: a
    contact whose older update failed gets the newer one instead.
    """
    found, newest = find(db_session, incident, number), latest(db_session, incident)
    if found is None:
        raise UpdateProblem(f"{incident.reference} has no update {number}.")
    if newest is not None and newest.id != found.id:
        raise UpdateProblem(
            f"Update {number} is not the latest: update {newest.number} went out since, "
            "and carries the news now."
        )
    moved = db_session.execute(
        update(Delivery)
        .where(Delivery.update_id == found.id, Delivery.email == email, Delivery.state == "failed")
        .values(
            state="pending",
            attempts=0,
            next_attempt_at=None,
            claimed_at=None,
            claimed_by="",
            dispatched_at=None,
        )
    )
    if not getattr(moved, "rowcount", 0):
        raise UpdateProblem(
            f"Update {number} to {email[:254]} is not a failed delivery (already sent again?)."
        )
    record(
        db_session,
        incident,
        actor=by,
        kind="delivery_retried",
        summary=f"Sending update {number} to {email} again after it failed",
        now=now,
        details={"update": number, "email": email},
    )
