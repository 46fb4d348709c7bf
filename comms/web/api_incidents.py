"""The JSON API for incidents, their parent ticket, candidates, links and merges."""

from __future__ import annotations

from functools import partial

from flask import g, jsonify, request

from comms import timeline
from comms.actions import incidents as actions
from comms.actions import operations as operation_actions
from comms.auth.models import User
from comms.incidents import merges, service, tickets, webhook
from comms.incidents.models import Incident, MergeRequest
from comms.web.api import ApiError, bp, is_id, json_body, parse_json
from comms.web.api_operations import accepted
from comms.web.context import (
    acting,
    by_now,
    db,
    gateway,
    load_incident,
    now,
    settings,
    wake_worker,
)
from comms.web.paging import api_page, incident_filters, paged
from comms.zendesk import TicketNotFound, ZendeskError


def incident_json(incident: Incident) -> dict:
    return {
        "id": incident.id,
        "reference": incident.reference,
        "title": incident.title,
        "description": incident.description,
        "severity": incident.severity,
        "status": incident.status,
        "business_unit": incident.business_unit,
        "lead_name": incident.lead_name,
        "lead_email": incident.lead_email,
        "comms_manager_id": incident.comms_manager_id,
        "security": incident.security,
        "keywords": incident.keywords,
        "parent_ticket_id": incident.parent_ticket_id,
        "auto_link": incident.auto_link,
        "declared_at": incident.declared_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "next_update_due_at": (
            incident.next_update_due_at.isoformat() if incident.next_update_due_at else None
        ),
    }


def zendesk_error(error: ZendeskError) -> ApiError:
    if isinstance(error, TicketNotFound):
        return ApiError(404, "ticket_not_found", str(error))
    return ApiError(502, "zendesk_unavailable", str(error))


def _ids(body: dict, key: str) -> list[int]:
    value = body.get(key)
    if not isinstance(value, list) or not value or not all(is_id(v) for v in value):
        raise ApiError(400, "bad_request", f"{key} must be a non-empty list of ticket ids.")
    return value


def _text(body: dict, key: str, default: str = "") -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise ApiError(400, "bad_request", f"{key} must be a string.")
    return value


def _declare_fields(body: dict) -> dict:
    """The body's fields as the declare action takes them; 400 for what is not."""
    ticket_id = body.get("from_ticket_id")
    if ticket_id is not None and not is_id(ticket_id):
        raise ApiError(400, "bad_request", "from_ticket_id must be a ticket id.")
    keywords = body.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise ApiError(400, "bad_request", "keywords must be a list of words.")
    manager = g.api_user
    if body.get("comms_manager_email"):
        manager = db().query(User).filter_by(email=body["comms_manager_email"].lower()).first()
        if manager is None:
            raise ApiError(400, "bad_request", "comms_manager_email is not a staff user.")
    return {
        "from_ticket_id": ticket_id,
        "ticket_as_parent": bool(body.get("ticket_as_parent")),
        "auto_link": bool(body.get("auto_link", False)),
        "title": _text(body, "title"),
        "severity": _text(body, "severity"),
        "description": _text(body, "description"),
        "business_unit": _text(body, "business_unit"),
        "lead_name": _text(body, "lead_name"),
        "lead_email": _text(body, "lead_email"),
        "security": bool(body.get("security", False)),
        "keywords": keywords,
        "comms_manager": manager,
    }


@bp.post("/incidents")
def declare_incident():
    """Declare an incident (title and severity required)."""
    fields = _declare_fields(json_body())
    try:
        incident = actions.declare(db(), gateway(), **fields, **acting())
    except actions.PartlyDeclared as error:
        return jsonify(
            error="partly_declared",
            message=str(error),
            incident=incident_json(error.incident),
        ), 502
    except service.IncidentError as error:
        raise ApiError(422, "invalid", str(error)) from None
    except ZendeskError as error:
        raise zendesk_error(error) from None
    return incident_json(incident), 201


@bp.get("/incidents")
def list_incidents():
    """Incidents, newest first, a page at a time; ?status=, ?severity= and ?q= filter them."""
    read = partial(service.incidents_page, db(), **incident_filters())
    page, size = api_page(read)
    return paged("incidents", [incident_json(i) for i in page.rows], page.after, size)


@bp.get("/incidents/<ref>")
def show_incident(ref: str):
    """One incident."""
    return incident_json(load_incident(ref))


PATCHABLE = {"severity", "status", "note", "auto_link"}


@bp.patch("/incidents/<ref>")
def change_incident(ref: str):
    """Change severity and/or status, with an optional note."""
    incident = load_incident(ref)
    body = json_body()
    unknown = sorted(set(body) - PATCHABLE)
    if unknown or not body:
        raise ApiError(
            400,
            "bad_request",
            f"Send one or more of {', '.join(sorted(PATCHABLE - {'note'}))} (and a note)"
            + (f"; {', '.join(unknown)} cannot be changed here." if unknown else "."),
        )
    try:
        actions.change(
            db(),
            incident,
            note=_text(body, "note"),
            severity=_text(body, "severity") if "severity" in body else None,
            status=_text(body, "status") if "status" in body else None,
            auto_link=bool(body["auto_link"]) if "auto_link" in body else None,
            **by_now(),
            settings=settings(),
        )
    except service.IncidentError as error:
        raise ApiError(422, "invalid", str(error)) from None
    return incident_json(incident)


@bp.post("/incidents/<ref>/parent-ticket")
def parent_ticket(ref: str):
    """Adopt {"ticket_id": n} as the parent ticket, or create one with an empty body."""
    incident = load_incident(ref)
    ticket_id = json_body().get("ticket_id")
    if ticket_id is not None and not is_id(ticket_id):
        raise ApiError(400, "bad_request", "ticket_id must be a ticket id.")
    try:
        ticket = actions.set_parent(db(), gateway(), incident, ticket_id, **by_now())
    except service.IncidentError as error:
        raise ApiError(422, "invalid", str(error)) from None
    except ZendeskError as error:
        raise zendesk_error(error) from None
    return {"parent_ticket_id": ticket.id, "subject": ticket.subject, "type": ticket.type}, 201


def candidate_json(c) -> dict:
    return {
        "ticket_id": c.ticket_id,
        "subject": c.subject,
        "status": c.status,
        "organization_id": c.organization_id,
        "requester_id": c.requester_id,
        "created_at": c.ticket_created_at.isoformat() if c.ticket_created_at else None,
        "source": c.source,
    }


@bp.get("/incidents/<ref>/candidates")
def list_candidates(ref: str):
    """Candidate tickets found so far (a GET changes nothing: POST asks Zendesk again)."""
    incident = load_incident(ref)
    if "refresh" in request.args:
        raise ApiError(
            400,
            "bad_request",
            f"A GET changes nothing: POST /api/v1/incidents/{incident.reference}/candidates "
            "to ask Zendesk again.",
        )
    return _candidates_page(incident)


@bp.post("/incidents/<ref>/candidates")
def refresh_candidates(ref: str):
    """Record asking Zendesk again for related tickets (or join the poll under way); 202."""
    incident = load_incident(ref)
    return accepted(operation_actions.start_candidates(db(), incident, **by_now()))


def _candidates_page(incident: Incident) -> dict:
    page, size = api_page(partial(tickets.candidates_page, db(), incident))
    return paged("candidates", [candidate_json(c) for c in page.rows], page.after, size)


@bp.post("/incidents/<ref>/links")
def link_tickets(ref: str):
    """Record a link of {"ticket_ids": [...]} to the parent; 202 with the operation to follow."""
    incident = load_incident(ref)
    body = json_body()
    try:
        operation = operation_actions.start_link(
            db(),
            incident,
            _ids(body, "ticket_ids"),
            **by_now(),
            move=bool(body.get("move", False)),
        )
    except service.IncidentError as error:
        raise ApiError(422, "invalid", str(error)) from None
    return accepted(operation)


@bp.post("/incidents/<ref>/merges")
def merge_tickets(ref: str):
    """Record a merge of {"source_ids": [...]} into {"target_id": n}; cannot be undone; 202."""
    incident = load_incident(ref)
    body = json_body()
    target = body.get("target_id")
    if not is_id(target):
        raise ApiError(400, "bad_request", "target_id must be a ticket id.")
    try:
        operation = operation_actions.start_merge(
            db(),
            incident,
            target_id=int(target or 0),
            source_ids=_ids(body, "source_ids"),
            **by_now(),
        )
    except service.IncidentError as error:
        raise ApiError(422, "invalid", str(error)) from None
    return accepted(operation)


def merge_json(request_row: MergeRequest) -> dict:
    """One merge request of the ledger: its target, sources, state and each ticket's outcome."""
    completed = request_row.completed_at
    return {
        "target_id": request_row.target_id,
        "source_ids": list(request_row.source_ids or []),
        "state": request_row.state,
        "requested_at": request_row.requested_at.isoformat(),
        "requested_by": request_row.requested_by,
        "completed_at": completed.isoformat() if completed else None,
        "outcomes": list(request_row.outcomes or []),
    }


@bp.get("/incidents/<ref>/merges")
def list_merges(ref: str):
    """The merge ledger: every merge asked for, in order, and how it went."""
    incident = load_incident(ref)
    page, size = api_page(partial(merges.ledger_page, db(), incident))
    return paged("merges", [merge_json(m) for m in page.rows], page.after, size)


@bp.get("/incidents/<ref>/tickets")
def incident_tickets(ref: str):
    """The parent ticket and the linked and merged tickets."""
    incident = load_incident(ref)
    page, size = api_page(partial(tickets.linked_page, db(), incident))
    rows = [
        {
            "ticket_id": t.ticket_id,
            "subject": t.subject,
            "state": t.state,
            "organization_id": t.organization_id,
            "requester_id": t.requester_id,
            "linked_at": t.linked_at.isoformat(),
            "linked_by": t.linked_by,
        }
        for t in page.rows
    ]
    return {
        "parent_ticket_id": incident.parent_ticket_id,
        **paged("tickets", rows, page.after, size),
    }


@bp.get("/incidents/<ref>/timeline")
def incident_timeline(ref: str):
    """Everything done on the incident, oldest first."""
    incident = load_incident(ref)
    page, size = api_page(partial(timeline.events_page, db(), incident, newest_first=False))
    rows = [
        {
            "at": e.at.isoformat(),
            "actor": e.actor,
            "kind": e.kind,
            "summary": e.summary,
            "details": e.details,
        }
        for e in page.rows
    ]
    return paged("timeline", rows, page.after, size)


@bp.post("/zendesk/webhook")
def zendesk_webhook():
    """Zendesk tells us about a new ticket; signed with the webhook secret."""
    body = request.get_data()
    signature = request.headers.get("X-Zendesk-Webhook-Signature", "")
    try:
        webhook.verify(
            secret=settings().zendesk.webhook_secret,
            body=body,
            signature=signature,
            timestamp=request.headers.get("X-Zendesk-Webhook-Signature-Timestamp", ""),
            now=now(),
        )
    except webhook.WebhookRefused as error:
        raise ApiError(401, "refused", str(error)) from None
    event = parse_json(body)
    try:
        if not isinstance(event, dict):
            raise webhook.WebhookRefused("The body is not a JSON object.")
        ticket = webhook.ticket_from_event(event)
    except webhook.WebhookRefused as error:
        raise ApiError(400, "bad_request", str(error)) from None
    if not webhook.first_time(db(), webhook.event_key(event, signature), now=now()):
        db().rollback()
        return {"status": "already processed"}
    auto_link = webhook.intake(db(), ticket, now=now())
    db().commit()
    for incident in auto_link:
        _link_in_background(incident, ticket.id)
    return {"status": "accepted", "candidate_of": [i.reference for i in auto_link]}


def _link_in_background(incident: Incident, ticket_id: int) -> None:
    """Auto-linking talks to Zendesk; the webhook answers without waiting for it."""
    try:
        operation_actions.start_link(db(), incident, [ticket_id], by="zendesk webhook", now=now())
    except service.IncidentError:  # no parent yet, or resolved: it stays a candidate
        db().rollback()
        return
    wake_worker()
