"""The JSON API for long operations: any web worker answers the same progress from the database."""

from __future__ import annotations

from flask import url_for

from comms.operations import queue
from comms.operations.models import Operation
from comms.web.api import ApiError, bp
from comms.web.context import db, wake_worker


def accepted(operation: Operation):
    """Answer a started operation: 202, where to follow it, and how it stands now."""
    wake_worker()
    location = url_for("api.operation", operation_id=operation.id)
    return {"operation": queue.as_json(operation)}, 202, {"Location": location}


@bp.get("/operations/<int:operation_id>")
def operation(operation_id: int):
    """A long operation (refresh, link, merge): its state, progress and outcomes."""
    found = queue.get(db(), operation_id)
    if found is None:
        raise ApiError(404, "not_found", f"There is no operation {operation_id}.")
    return {"operation": queue.as_json(found)}
