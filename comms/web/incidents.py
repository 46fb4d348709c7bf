"""The incident screens: declare, the incident page, and its Zendesk actions."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request
from flask import url_for as _url_for
from flask_login import current_user

from comms import timeline
from comms.actions import incidents as actions
from comms.actions import operations as operation_actions
from comms.auth.models import User
from comms.auth.service import staff
from comms.contacts import service as contact_service
from comms.ids import parse_id
from comms.incidents import merges, service, tickets
from comms.incidents.duplicates import likely_duplicates
from comms.incidents.models import SEVERITIES, Incident
from comms.operations.models import Operation
from comms.slack.service import thread_for
from comms.web import contacts, sections, updates
from comms.web.context import (
    acting,
    actor,
    by_now,
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


def back(incident: Incident, section: str = "show"):
    """Back to a section of the incident page (the Overview unless named)."""
    return redirect(_url_for(f"incidents.{section}", ref=incident.reference))


def _flash_push_failure(incident: Incident, since: datetime) -> None:
    """Say so when incident.io did not hear of the change just made (it is on the timeline)."""
    failed = timeline.latest(db(), incident, "incident_io_push_failed")
    if failed is not None and failed.at >= since:
        flash(failed.summary, "error")


def _return(incident: Incident):
    """Back to the section the form was posted from (its `section` field), else the Overview."""
    return back(incident, sections.endpoint(request.form.get("section", "")))


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


def _section(name: str, incident: Incident, **content):
    """One section of the incident page under its sticky header."""
    return render_template(
        f"incident_{name}.html", incident=incident, **sections.header(incident, name), **content
    )


@bp.route("/<ref>")
def show(ref: str):
    """Show the Overview: where things stand and what is left to do."""
    incident = load_incident(ref)
    top = sections.header(incident, "overview")
    return render_template(
        "incident_overview.html",
        incident=incident,
        **top,
        steps=sections.steps(incident, top["counts"], top["update_state"]),
        comms_manager=db().get(User, incident.comms_manager_id or 0),
        slack_thread=thread_for(db(), incident),
    )


def _candidate_filter(values) -> tickets.CandidateFilter:
    """The candidates filter from the address or a form (`candidates_q`, `candidates_org`)."""
    raw_org = values.get("candidates_org", "").strip()
    org_id = parse_id(raw_org) if raw_org else None
    if raw_org and org_id is None:
        abort(400, f"candidates_org must be an organisation id, not “{raw_org[:40]}”.")
    return tickets.CandidateFilter(values.get("candidates_q", "").strip()[:200], org_id)


@bp.route("/<ref>/tickets")
def tickets_section(ref: str):
    """Show the parent ticket, the candidates to link or merge, and the linked tickets."""
    incident = load_incident(ref)
    matching = _candidate_filter(request.args)
    read = partial(tickets.candidates_page, db(), incident, matching=matching)
    candidates = section_page(read, "candidates", ROWS)
    linked = section_page(partial(tickets.linked_page, db(), incident), "linked", ROWS)
    ledger = section_page(partial(merges.ledger_page, db(), incident), "merges", ROWS)
    organizations = tickets.candidate_organizations(db(), incident)
    names = _names(incident, [*candidates.rows, *linked.rows])
    known_orgs, _ = contact_service.known_names(
        db(), incident, organization_ids=[org_id for org_id, _ in organizations], user_ids=[]
    )
    return _section(
        "tickets",
        incident,
        candidates=candidates.rows,
        duplicates=likely_duplicates(candidates.rows),
        names=names,
        candidates_next=candidates.after,
        matching=matching,
        matching_count=tickets.count_matching(db(), incident, matching),
        candidate_organizations=[(i, known_orgs.get(i) or name) for i, name in organizations],
        linked=linked.rows,
        linked_next=linked.after,
        merges=ledger.rows,
        merges_next=ledger.after,
        agent_link=lambda t: tickets.agent_link(settings(), t),
    )


@bp.route("/<ref>/contacts")
def contacts_section(ref: str):
    """Show the affected organisations and who receives the updates."""
    incident = load_incident(ref)
    return _section("contacts", incident, **contacts.panel(incident))


@bp.route("/<ref>/updates")
def updates_section(ref: str):
    """Show the schedule, the composer with its preview, and what became of each update."""
    incident = load_incident(ref)
    return _section("updates", incident, **updates.panel(incident))


@bp.route("/<ref>/timeline")
def timeline_section(ref: str):
    """Show what was done, newest first, a page at a time."""
    incident = load_incident(ref)
    events = section_page(partial(timeline.events_page, db(), incident), "timeline", ROWS)
    return _section("timeline", incident, timeline=events.rows, timeline_next=events.after)


@bp.route("/<ref>/after")
def after_section(ref: str):
    """Show the follow-up: the review meeting, the report and the exports."""
    incident = load_incident(ref)
    return _section("after", incident)


@bp.post("/<ref>/severity")
def change_severity(ref: str):
    """Raise or lower the severity, with an optional note."""
    incident, started = load_incident(ref), now()
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
    else:
        flash(f"{incident.reference} is {incident.severity} now.", "success")
        _flash_push_failure(incident, started)
    return _return(incident)


@bp.post("/<ref>/status")
def change_status(ref: str):
    """Move the status on, with an optional note."""
    incident, started = load_incident(ref), now()
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
    else:
        flash(f"{incident.reference} is {incident.status} now.", "success")
        _flash_push_failure(incident, started)
    return _return(incident)


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
    return back(incident, "tickets_section")


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
        return back(incident, "tickets_section")
    flash(f"Ticket {ticket.id} is the parent ticket.", "success")
    return back(incident, "tickets_section")


@bp.post("/<ref>/candidates")
def refresh_candidates(ref: str):
    """Record asking Zendesk again for related tickets (or join the poll under way); follow it."""
    incident = load_incident(ref)
    return _follow(incident, operation_actions.start_candidates(db(), incident, **by_now()))


def _selected_ids(incident: Incident) -> list[int]:
    """The tickets the form chose: every candidate its filter matches when it asks for all
    of them (`all_matching`, over every page), else the boxes ticked."""
    if request.form.get("all_matching") == "on":
        return tickets.matching_ids(db(), incident, _candidate_filter(request.form))
    found = (parse_id(v) for v in request.form.getlist("ticket_ids"))
    return [ticket_id for ticket_id in found if ticket_id is not None]


@bp.post("/<ref>/link")
def link(ref: str):
    """Record a bulk link of the selected tickets for a worker, and show its progress."""
    incident = load_incident(ref)
    ticket_ids = _selected_ids(incident)
    if not ticket_ids:
        flash("Select at least one ticket to link.", "error")
        return back(incident, "tickets_section")
    try:
        operation = operation_actions.start_link(
            db(), incident, ticket_ids, by=actor(), now=now(), move=request.form.get("move") == "on"
        )
    except service.IncidentError as error:
        flash(str(error), "error")
        return back(incident, "tickets_section")
    return _follow(incident, operation)


def _follow(incident: Incident, operation: Operation):
    wake_worker()
    return redirect(
        _url_for("incidents.tickets_section", ref=incident.reference, operation=operation.id)
    )


@bp.get("/<ref>/operations/<int:operation_id>")
def operation_progress(ref: str, operation_id: int):
    """The progress of a bulk link or merge, for the page to poll."""
    incident = load_incident(ref)
    operation = sections.operation(incident, str(operation_id))
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
    ticket_ids = _selected_ids(incident)
    target = parse_id(request.form.get("target_id", ""))
    if target is None or not ticket_ids:
        flash("Select the duplicate tickets and the ticket to merge them into.", "error")
        return back(incident, "tickets_section")
    sources = list(dict.fromkeys(t for t in ticket_ids if t != target))
    if not sources:
        flash(f"Select the tickets to merge into ticket {target}, not only that one.", "error")
        return back(incident, "tickets_section")
    known = tickets.known_tickets(db(), incident, [target, *sources])
    return render_template(
        "merge_confirm.html",
        incident=incident,
        target_id=target,
        sources=sources,
        known=known,
        names=_names(incident, list(known.values())),
        target_comment=merges.target_comment(incident, sources),
        source_comment=merges.source_comment(incident, target),
    )


def _names(incident: Incident, rows: list) -> dict[str, dict[int, str]]:
    """The organisation and requester names the incident knows for these tickets."""
    orgs, people = contact_service.known_names(
        db(),
        incident,
        organization_ids=[r.organization_id for r in rows],
        user_ids=[r.requester_id for r in rows],
    )
    return {"orgs": orgs, "people": people}


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
            source_ids=_selected_ids(incident),
            by=actor(),
            now=now(),
        )
    except service.IncidentError as error:
        flash(str(error), "error")
        return back(incident, "tickets_section")
    return _follow(incident, operation)
