"""The JSON API for an incident's updates, its schedule and its resolution."""

from __future__ import annotations

from functools import partial

from flask import jsonify

from comms.actions import updates as update_actions
from comms.actions.updates import pause_or_resume
from comms.mail.render import TemplateProblem
from comms.operations import queue
from comms.updates import history, messages, service
from comms.web.api import ApiError, bp, json_body
from comms.web.api_operations import accepted
from comms.web.context import (
    acting,
    by_now,
    db,
    load_incident,
    now,
    optional_gateway,
    settings,
    wake_worker,
)
from comms.web.paging import api_page, paged

PROBLEMS = (service.UpdateProblem, TemplateProblem)


def _text(body: dict, key: str = "message") -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "bad_request", f'Give "{key}" as a non-empty string.')
    return value


def _flag(body: dict, key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise ApiError(400, "bad_request", f'"{key}" must be true or false.')
    return value


def _problem(problem: Exception) -> ApiError:
    db().rollback()
    return ApiError(
        409 if isinstance(problem, service.UpdateProblem) else 422, "refused", str(problem)
    )


@bp.post("/incidents/<ref>/updates")
def api_publish_update(ref: str):
    """Send an update to every contact now, or save the status text for the next one."""
    incident = load_incident(ref)
    body = json_body()
    text = _text(body)
    try:
        if not _flag(body, "send_now", True):
            update_actions.save_status_text(db(), incident, message=text, **by_now())
            return {"saved": True, "current_message": incident.current_message}
        published = update_actions.publish(db(), incident, message=text, **acting())
    except PROBLEMS as problem:
        raise _problem(problem) from problem
    wake_worker()
    (summary,) = history.summaries(db(), [published.update])
    return history.update_json(summary) | {"operation": queue.as_json(published.sending)}, 201


@bp.get("/incidents/<ref>/updates")
def api_list_updates(ref: str):
    """List the incident's updates, newest first, with delivery counts by state."""
    incident = load_incident(ref)
    page, size = api_page(partial(history.history_page, db(), incident))
    return {
        "next_update_due_at": messages.when(incident.next_update_due_at),
        "paused": incident.schedule_paused,
        "pause_reason": incident.pause_reason,
        **paged("updates", [history.update_json(s) for s in page.rows], page.after, size),
    }


@bp.get("/incidents/<ref>/updates/<int:number>/deliveries")
def api_list_deliveries(ref: str, number: int):
    """List one update's deliveries with their state and SMTP reply."""
    incident = load_incident(ref)
    update = history.find(db(), incident, number)
    if update is None:
        raise ApiError(404, "not_found", f"{incident.reference} has no update {number}.")
    page, size = api_page(partial(history.deliveries_page, db(), update))
    rows = [history.delivery_json(d) for d in page.rows]
    return jsonify(paged("deliveries", rows, page.after, size))


@bp.post("/incidents/<ref>/updates/preview")
def api_preview_update(ref: str):
    """Render the e-mail a contact would receive (the first contact unless "email" is given)."""
    incident = load_incident(ref)
    body = json_body()
    text, email = (str(body.get(key, "")) for key in ("message", "email"))
    try:
        rendered, headers = service.preview(
            db(), incident, message=text, email=email, settings=settings(), now=now()
        )
    except PROBLEMS as problem:
        raise _problem(problem) from problem
    return messages.as_dict(rendered, headers)


@bp.post("/incidents/<ref>/resolve")
def api_resolve(ref: str):
    """Resolve: the resolved update to every contact, schedule stopped, parent solved if asked."""
    incident = load_incident(ref)
    body = json_body()
    text, solve = _text(body), _flag(body, "solve_parent", False)
    try:
        resolved = update_actions.resolve_incident(
            db(), optional_gateway(), incident, message=text, solve_parent=solve, **acting()
        )
    except PROBLEMS as problem:
        raise _problem(problem) from problem
    wake_worker()
    update = resolved.resolution.update
    answer = {
        "reference": incident.reference,
        "status": incident.status,
        "resolved_at": messages.when(incident.resolved_at),
        "update": update.number if update else None,
        "parent_solved": None if resolved.solving else False,  # None: follow the operation
        "zendesk_problem": resolved.zendesk_problem,
    }
    if resolved.solving is None:
        return answer
    body, status, headers = accepted(resolved.solving)
    return answer | body, status, headers


@bp.post("/incidents/<ref>/schedule")
def api_schedule(ref: str):
    """Pause or resume the automatic updates; a pause needs a reason."""
    incident = load_incident(ref)
    body = json_body()
    paused = _flag(body, "paused", False)
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise ApiError(400, "bad_request", '"reason" must be a string.')
    try:
        pause_or_resume(db(), incident, paused=paused, reason=reason, **acting())
    except PROBLEMS as problem:
        raise _problem(problem) from problem
    return {
        "paused": incident.schedule_paused,
        "reason": incident.pause_reason,
        "next_update_due_at": messages.when(incident.next_update_due_at),
    }
