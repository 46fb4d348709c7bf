"""Why an update's sending is held up, kept on the update and said once on the timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Update as Update_
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from comms.incidents.models import Incident
from comms.timeline import record
from comms.updates.models import Update


def note(
    db_session: Session, updates: Sequence[tuple[Update, Incident]], problem: str, *, now: datetime
) -> None:
    """Show the problem on each update; put it on the timeline when it is new for that update."""
    for update_row, incident in updates:
        if update_row.send_problem != problem:
            record(
                db_session,
                incident,
                actor="sender",
                kind="update_held_up",
                summary=f"Update {update_row.number} is held up: {problem}",
                now=now,
                details={"update": update_row.number, "problem": problem},
            )
        db_session.execute(
            update(Update).where(Update.id == update_row.id).values(send_problem=problem)
        )
        set_committed_value(update_row, "send_problem", problem)


def clear_statement() -> Update_:
    """The statement `clear` runs, its update's id bound as `update_id` (the sender runs it
    through its driver connection)."""
    return (
        update(Update)
        .where(Update.id == bindparam("update_id"), Update.send_problem != "")
        .values(send_problem="")
    )


def clear(db_session: Session, update_id: int) -> None:
    """The update is going out again: forget the problem."""
    db_session.execute(clear_statement(), {"update_id": update_id})
