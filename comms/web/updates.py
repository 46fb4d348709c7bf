"""The incident page's updates section: compose, preview, send, schedule, resolve, history."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template_string,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import escape

from comms import timeline
from comms.actions import updates as update_actions
from comms.actions.updates import pause_or_resume
from comms.contacts import service as contacts
from comms.incidents.models import Incident, TimelineEvent
from comms.mail.render import TemplateProblem
from comms.operations.models import Operation
from comms.updates import history, messages, service
from comms.web import sections
from comms.web.context import (
    acting,
    actor,
    by_now,
    db,
    load_incident,
    now,
    optional_gateway,
    settings,
    wake_worker,
)
from comms.web.headers import email_document
from comms.web.paging import section_page

bp = Blueprint("updates", __name__, url_prefix="/incidents/<ref>/updates")
log = logging.getLogger(__name__)
PROBLEMS = (service.UpdateProblem, TemplateProblem)
SHOWN_CONTACTS = 100
# Updates listed at once in the history (the newest); a link shows older ones.
HISTORY_ROWS = 20
CONFIRM_PAGE = """{% extends "base.html" %}
{% block title %}{{ incident.reference }}: confirm{% endblock %}
{% block content %}<h1>{{ incident.reference }} {{ incident.title }}</h1>
{% include "_updates.html" %}{% endblock %}"""


def _held(incident: Incident, last_at: Any) -> TimelineEvent | None:
    """The latest automatic update that could not go out, if nothing was sent since."""
    event = timeline.latest(db(), incident, "automatic_update_held")
    return event if event and (last_at is None or event.at > last_at) else None


def panel(incident: Incident) -> dict:
    """What the incident page needs to show the updates section."""
    shown = contacts.contact_page(db(), incident, size=SHOWN_CONTACTS, excluded=False)
    latest = service.latest(db(), incident)
    page = section_page(partial(history.history_page, db(), incident), "updates", HISTORY_ROWS)
    summaries = page.rows
    return {
        "updates_can_change": current_user.can_change and incident.is_open,
        "updates_message": incident.current_message,
        "updates_recipients": incident.contact_count,
        "updates_contacts": shown.contacts,
        "updates_history": summaries,
        "updates_next": page.after,
        "updates_in_progress": any(s.in_progress for s in summaries),
        "updates_held": _held(incident, latest.created_at if latest else None),
        "updates_latest_number": latest.number if latest else None,
        "updates_parent_solved": not incident.is_open
        and timeline.latest(db(), incident, "parent_solved") is not None,
        "updates_confirm": None,
    }


def _incident(ref: str, *, open_only: bool = True) -> Incident:
    incident = load_incident(ref)
    if open_only and not incident.is_open:
        flash(f"{incident.reference} is resolved: its updates no longer change.", "error")
        abort(_back(incident))
    return incident


def _back(incident: Incident):
    return redirect(url_for("incidents.updates_section", ref=incident.reference))


def _confirm(incident: Incident, **step: Any) -> str:
    """A confirmation step: the updates section alone, asking before anything goes out."""
    return render_template_string(
        CONFIRM_PAGE, incident=incident, **{**panel(incident), "updates_confirm": step}
    )


@bp.post("/preview")
def preview(ref: str):
    """Render the e-mail a chosen contact would receive, as JSON for the live preview."""
    incident = _incident(ref, open_only=False)
    form = request.get_json(silent=True) or request.form
    text, email = (str(form.get(key, "")) for key in ("message", "email"))
    try:
        rendered, headers = service.preview(
            db(), incident, message=text, email=email, settings=settings(), now=now()
        )
    except PROBLEMS as problem:
        return jsonify(error="preview_failed", message=str(problem)), 400
    return jsonify(messages.as_dict(rendered, headers))


@bp.post("/preview.html")
def preview_document(ref: str):
    """Show the HTML part of that e-mail as its own document, for the preview's frame."""
    incident = _incident(ref, open_only=False)
    try:
        rendered, _ = service.preview(
            db(),
            incident,
            message=request.form.get("message", ""),
            email=request.form.get("email", ""),
            settings=settings(),
            now=now(),
        )
    except PROBLEMS as problem:
        return email_document(f"<p>{escape(str(problem))}</p>"), 400
    return email_document(rendered.html)


@bp.post("/compose")
def compose(ref: str):
    """Save the status text, or ask to confirm sending it now to every contact."""
    incident = _incident(ref)
    text = request.form.get("message", "")
    if request.form.get("action") == "send":
        count = len(service.recipients(db(), incident, settings()))
        if not text.strip() or not count:
            flash("Write the status text and add contacts before sending.", "error")
            return _back(incident)
        return _confirm(incident, action="send", message=text, recipients=count)
    try:
        update_actions.save_status_text(db(), incident, message=text, by=actor(), now=now())
        flash("Saved: the next scheduled update will carry this text.", "success")
    except PROBLEMS as problem:
        flash(str(problem), "error")
    return _back(incident)


@bp.post("/send")
def send(ref: str):
    """Publish the confirmed update to every contact and start sending it."""
    incident = _incident(ref)
    text = request.form.get("message", "")
    expected = request.form.get("recipients", "")
    count = len(service.recipients(db(), incident, settings()))
    if expected != str(count):
        flash(f"The contact list changed: the update would now go to {count}.", "error")
        return _confirm(incident, action="send", message=text, recipients=count)
    try:
        published = update_actions.publish(db(), incident, message=text, **acting())
    except PROBLEMS as problem:
        flash(f"Nothing was sent: {problem}", "error")
        return _back(incident)
    wake_worker()
    flash(f"Update {published.update.number} is going out to {count} contacts.", "success")
    return _back(incident)


@bp.post("/schedule")
def schedule(ref: str):
    """Pause or resume the automatic updates, with a reason."""
    incident = _incident(ref)
    paused = request.form.get("paused") == "1"
    try:
        reason = request.form.get("reason", "")
        pause_or_resume(db(), incident, paused=paused, reason=reason, **acting())
        flash("Automatic updates paused." if paused else "Automatic updates resumed.", "success")
    except service.UpdateProblem as problem:
        flash(str(problem), "error")
    view = sections.endpoint(request.form.get("section", "updates"))
    return redirect(url_for(f"incidents.{view}", ref=incident.reference))


@bp.post("/resolve")
def resolve_incident(ref: str):
    """Resolve after confirmation: the last update to all, the schedule stopped, Zendesk solved."""
    incident = _incident(ref)
    text = request.form.get("message", "")
    solve = request.form.get("solve_parent") == "on"
    if request.form.get("confirmed") != "yes":
        count = len(service.recipients(db(), incident, settings()))
        return _confirm(incident, action="resolve", message=text, recipients=count, solve=solve)
    try:
        resolved = update_actions.resolve_incident(
            db(), optional_gateway(), incident, message=text, solve_parent=solve, **acting()
        )
    except PROBLEMS as problem:
        flash(f"{incident.reference} is still open and nothing was sent: {problem}", "error")
        return _back(incident)
    wake_worker()
    flash(f"{incident.reference} is resolved; the resolved update is going out.", "success")
    if solve:
        return _followed(incident, resolved.solving, resolved.zendesk_problem)
    return _back(incident)


def _followed(incident: Incident, operation: Operation | None, problem: str):
    """Follow the parent ticket's solve on the page, or say why there is none."""
    if operation is None:
        flash(problem, "error")  # "… has no parent ticket …" or "Zendesk is not configured …"
        return _back(incident)
    flash(f"Solving parent ticket #{incident.parent_ticket_id} in Zendesk…")
    return redirect(
        url_for("incidents.updates_section", ref=incident.reference, operation=operation.id)
    )


@bp.post("/solve-parent")
def solve_parent(ref: str):
    """Try again to solve the parent ticket of a resolved incident."""
    incident = _incident(ref, open_only=False)
    last = service.latest(db(), incident)
    text = request.form.get("message") or (last.message if last else "") or "Resolved."
    operation, problem = update_actions.solve_parent_ticket(
        db(), optional_gateway(), incident, message=text, by=actor(), now=now()
    )
    wake_worker()
    return _followed(incident, operation, problem)


@bp.post("/<int:number>/retry")
def retry(ref: str, number: int):
    """Send one failed delivery of the latest update again (at most once, however often asked)."""
    incident = _incident(ref, open_only=False)
    email = request.form.get("email", "").strip()
    try:
        update_actions.retry_delivery(db(), incident, number=number, email=email, **by_now())
    except service.UpdateProblem as problem:
        flash(str(problem), "error")
        return _back(incident)
    wake_worker()
    flash(f"Update {number} is going out to {email} again.", "success")
    return _back(incident)


@bp.get("/progress")
def progress(ref: str):
    """Delivery counts per update, for the page to show sending progress."""
    incident = _incident(ref, open_only=False)
    summaries = history.history_page(db(), incident, size=HISTORY_ROWS).rows
    return jsonify(
        in_progress=any(s.in_progress for s in summaries),
        next_update_due_at=messages.when(incident.next_update_due_at),
        updates=[history.update_json(s) for s in summaries],
    )
