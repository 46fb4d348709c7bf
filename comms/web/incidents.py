"""The incident screens: declare, the incident page, and its Zendesk actions."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request
from flask import url_for as _url_for
from flask_login import current_user

from comms import timeline
from comms.actions import incidents as actions
from comms.actions import operations as operation_actions
from comms.actions import tickets as ticket_actions
from comms.auth.models import User
from comms.auth.service import staff
from comms.ids import parse_id
from comms.incident_io.service import followed
from comms.incidents import merges, service, tickets
from comms.incidents.models import SEVERITIES, STATUSES, Incident
from comms.operations import queue
from comms.operations.models import Operation
from comms.slack.service import thread_for
from comms.web import contacts, updates
from comms.web.context import (
    acting,
    actor,
    db,
    gateway,
    load_incident,
    now,
    settings,
    wake_worker,
)
from comms.web.paging import section_page
from comms.zendesk import ZendeskError

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
PROBLEMS = (service.IncidentError, ZendeskError)
# Rows of each list shown at once on the incident page; a link shows the next ones.
ROWS = 50


def back(incident: Incident, anchor: str = ""):
    return redirect(_url_for("incidents.show", ref=incident.reference) + anchor)


def declare_fields(form) -> dict:
    """The declare form's fields as the action takes them; IncidentError for a bad ticket id."""
    manager_id = form.get("comms_manager_id", "")
    manager = next((u for u in staff(db()) if str(u.id) == manager_id), None)
    ticket_id = form.get("from_ticket_id", "").strip()
    if ticket_id and parse_id(ticket_id) is None:
        raise service.IncidentError(f"Ticket id {ticket_id[:40]!r} is not a ticket id.")
    return {
        "from_ticket_id": parse_id(ticket_id),
        "ticket_as_parent": form.get("ticket_as_parent") == "on",
        "auto_link": form.get("auto_link") == "on",
        "title": form.get("title", ""),
        "severity": form.get("severity", ""),
        "description": form.get("description", ""),
        "business_unit": form.get("business_unit", ""),
        "lead_name": form.get("lead_name", ""),
        "lead_email": form.get("lead_email", ""),
        "comms_manager": manager,
        "security": form.get("security") == "on",
        "keywords": form.get("keywords", "").replace(",", " ").split(),
    }


def _declare_page(form, status: int = 200):
    return (
        render_template(
            "declare.html",
            form=form,
            severities=SEVERITIES,
            severity_help=service.SEVERITY_HELP,
            staff=[u for u in staff(db()) if u.can_change],
        ),
        status,
    )


@bp.route("/new", methods=["GET", "POST"])
def declare():
    """Declare an incident, optionally from a client's Zendesk ticket."""
    if request.method == "GET":
        return _declare_page({"comms_manager_id": str(current_user.id)})
    form = request.form
    try:
        incident = actions.declare(db(), gateway(), **declare_fields(form), **acting())
    except actions.PartlyDeclared as error:
        flash(str(error), "error")
        return back(error.incident)
    except PROBLEMS as error:
        flash(str(error), "error")
        return _declare_page(form, 422)
    flash(f"{incident.reference} declared.", "success")
    return back(incident)


@bp.route("/<ref>")
def show(ref: str):
    """Show one incident: summary, tickets, contacts, updates and timeline."""
    incident = load_incident(ref)
    candidates = section_page(partial(tickets.candidates_page, db(), incident), "candidates", ROWS)
    linked = section_page(partial(tickets.linked_page, db(), incident), "linked", ROWS)
    events = section_page(partial(timeline.events_page, db(), incident), "timeline", ROWS)
    return render_template(
        "incident.html",
        incident=incident,
        severities=SEVERITIES,
        statuses=STATUSES[:3],
        candidates=candidates.rows,
        candidates_next=candidates.after,
        candidates_count=tickets.count_candidates(db(), incident),
        linked=linked.rows,
        linked_next=linked.after,
        linked_count=tickets.count_linked(db(), incident),
        merges=merges.ledger(db(), incident),
        timeline=events.rows,
        timeline_next=events.after,
        operation=_operation(incident, request.args.get("operation")),
        agent_link=lambda t: tickets.agent_link(settings(), t),
        comms_manager=db().get(User, incident.comms_manager_id or 0),
        followed=followed(db(), incident),
        slack_thread=thread_for(db(), incident),
        **contacts.panel(incident),
        **updates.panel(incident),
    )


def _operation(incident: Incident, operation_id: str | None) -> Operation | None:
    found_id = parse_id(operation_id)
    if found_id is None:
        return None
    operation = queue.get(db(), found_id)
    return operation if operation and operation.incident_id == incident.id else None


@bp.post("/<ref>/severity")
def change_severity(ref: str):
    """Raise or lower the severity, with an optional note."""
    incident = load_incident(ref)
    try:
        actions.change(
            db(),
            incident,
            severity=request.form.get("severity", ""),
            note=request.form.get("note", "").strip(),
            by=actor(),
            now=now(),
            settings=settings(),
        )
    except service.IncidentError as error:
        flash(str(error), "error")
    return back(incident)


@bp.post("/<ref>/status")
def change_status(ref: str):
    """Move the status on, with an optional note."""
    incident = load_incident(ref)
    try:
        actions.change(
            db(),
            incident,
            status=request.form.get("status", ""),
            note=request.form.get("note", "").strip(),
            by=actor(),
            now=now(),
            settings=settings(),
        )
    except service.IncidentError as error:
        flash(str(error), "error")
    return back(incident)


@bp.post("/<ref>/link-settings")
def link_settings(ref: str):
    """Choose what linking does: add organisations, add requesters, link new tickets at once."""
    incident = load_incident(ref)
    actions.set_link_settings(
        db(),
        incident,
        add_orgs=request.form.get("add_orgs_on_link") == "on",
        add_requesters=request.form.get("add_requesters_on_link") == "on",
        auto_link=request.form.get("auto_link") == "on",
        by=actor(),
        now=now(),
    )
    flash("Linking settings saved.", "success")
    return back(incident, "#tickets")


@bp.post("/<ref>/parent")
def parent(ref: str):
    """Create the parent ticket in Zendesk, or adopt an existing ticket as the parent."""
    incident = load_incident(ref)
    ticket_id = request.form.get("ticket_id", "").strip()
    try:
        if ticket_id and parse_id(ticket_id) is None:
            raise service.IncidentError(f"Ticket id {ticket_id[:40]!r} is not a ticket id.")
        ticket = actions.set_parent(
            db(), gateway(), incident, parse_id(ticket_id), by=actor(), now=now()
        )
    except PROBLEMS as error:
        flash(f"The parent ticket was not set: {error}", "error")
        return back(incident, "#tickets")
    flash(f"Ticket {ticket.id} is the parent ticket.", "success")
    return back(incident, "#tickets")


@bp.post("/<ref>/candidates")
def refresh_candidates(ref: str):
    """Ask Zendesk again for tickets that look related."""
    incident = load_incident(ref)
    try:
        found = ticket_actions.refresh_candidates(
            db(), gateway(), incident, settings=settings(), now=now()
        )
    except ZendeskError as error:
        flash(f"Candidates were not refreshed: {error}", "error")
    else:
        flash(f"{len(found)} candidate ticket(s).", "success")
    return back(incident, "#tickets")


def _selected_ids() -> list[int]:
    found = (parse_id(v) for v in request.form.getlist("ticket_ids"))
    return [ticket_id for ticket_id in found if ticket_id is not None]


@bp.post("/<ref>/link")
def link(ref: str):
    """Record a bulk link of the selected tickets for a worker, and show its progress."""
    incident = load_incident(ref)
    ticket_ids = _selected_ids()
    if not ticket_ids:
        flash("Select at least one ticket to link.", "error")
        return back(incident, "#tickets")
    try:
        operation = operation_actions.start_link(
            db(), incident, ticket_ids, by=actor(), now=now(), move=request.form.get("move") == "on"
        )
    except service.IncidentError as error:
        flash(str(error), "error")
        return back(incident, "#tickets")
    return _follow(incident, operation)


def _follow(incident: Incident, operation: Operation):
    wake_worker()
    return redirect(
        _url_for("incidents.show", ref=incident.reference, operation=operation.id) + "#tickets"
    )


@bp.get("/<ref>/operations/<int:operation_id>")
def operation_progress(ref: str, operation_id: int):
    """The progress of a bulk link or merge, for the page to poll."""
    incident = load_incident(ref)
    operation = _operation(incident, str(operation_id))
    if operation is None:
        abort(404)
    return jsonify(
        state=operation.state,
        done=operation.done,
        total=operation.total,
        outcomes=operation.outcomes,
        error=operation.error,
    )


@bp.post("/<ref>/merge/confirm")
def confirm_merge(ref: str):
    """Ask for confirmation before merging: Zendesk cannot undo a merge."""
    incident = load_incident(ref)
    ticket_ids = _selected_ids()
    target = parse_id(request.form.get("target_id", ""))
    if target is None or not ticket_ids:
        flash("Select the duplicate tickets and the ticket to merge them into.", "error")
        return back(incident, "#tickets")
    sources = [t for t in ticket_ids if t != target]
    return render_template(
        "merge_confirm.html", incident=incident, target_id=target, sources=sources
    )


@bp.post("/<ref>/merge")
def merge(ref: str):
    """Record the confirmed merge for a worker (at most 5 sources per Zendesk request)."""
    incident = load_incident(ref)
    target = parse_id(request.form.get("target_id", ""))
    try:
        operation = operation_actions.start_merge(
            db(),
            incident,
            target_id=target or 0,
            source_ids=_selected_ids(),
            by=actor(),
            now=now(),
        )
    except service.IncidentError as error:
        flash(str(error), "error")
        return back(incident, "#tickets")
    return _follow(incident, operation)
