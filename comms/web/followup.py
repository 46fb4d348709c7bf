"""After the incident: the review form, the draft report, the timeline exports, the invite."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from comms import timeline
from comms.auth.models import User
from comms.auth.service import staff
from comms.followup import exports, report
from comms.followup import service as followup
from comms.incidents.models import Incident
from comms.incidents.tickets import agent_link
from comms.web.context import actor, db, load_incident, now, settings

bp = Blueprint("followup", __name__, url_prefix="/incidents")
MARKDOWN = "text/markdown"  # Werkzeug adds "; charset=utf-8" to a text/ type


def download(body: str | bytes | Iterable[str], mimetype: str, filename: str) -> Response:
    disposition = f'attachment; filename="{filename}"'
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})


def report_markdown(incident: Incident) -> str:
    """The draft report of an incident as Markdown (for the page's download and the API)."""
    return report.to_markdown(report.build(db(), incident, settings(), now=now()), settings())


def review_invite(incident: Incident) -> bytes | None:
    """The review meeting invite, or None when no meeting is set."""
    if incident.review_at is None:
        return None
    return exports.review_invite(report.build(db(), incident, settings(), now=now()), settings())


def panel(incident: Incident) -> dict[str, Any]:
    """What the incident page needs to show the follow-up section."""
    local = incident.review_at.astimezone(settings().web.tz) if incident.review_at else None
    return {
        "owner": db().get(User, incident.report_owner_id or 0),
        "staff": staff(db()),
        "optional": followup.review_is_optional(incident),
        "review_date": f"{local:%Y-%m-%d}" if local else "",
        "review_time": f"{local:%H:%M}" if local else "10:00",
        "describe": lambda moment: followup.describe(moment, settings()) if moment else "not set",
    }


@bp.app_context_processor
def _followup_panel() -> dict[str, Any]:
    return {"followup_panel": panel}


def _review_at(form: Any) -> datetime:
    """Read the meeting's date and time, given in the configured zone."""
    try:
        day = date.fromisoformat(form.get("review_date", "").strip())
        clock_time = time.fromisoformat(form.get("review_time", "").strip())
    except ValueError:
        raise followup.FollowupError(
            "Give the meeting's date and time, like 2026-03-10 10:00."
        ) from None
    return followup.local_moment(day, clock_time.replace(second=0, microsecond=0), settings())


@bp.post("/<ref>/review")
def change_review(ref: str):
    """Move the review meeting or change the report owner; the draft's due date follows."""
    incident = load_incident(ref)
    owner_id = request.form.get("owner_id", "")
    owner = next((u for u in staff(db()) if str(u.id) == owner_id), None)
    try:
        followup.change_review(
            db(),
            incident,
            review_at=_review_at(request.form),
            owner=owner,
            by=actor(),
            now=now(),
            settings=settings(),
        )
        db().commit()
    except followup.FollowupError as error:
        db().rollback()
        flash(str(error), "error")
    else:
        flash("Follow-up saved.", "success")
    return redirect(url_for("incidents.after_section", ref=incident.reference))


@bp.post("/<ref>/review/skip")
def skip_review(ref: str):
    """Decide no review meeting is needed: no reminders and no invite."""
    incident = load_incident(ref)
    followup.skip_review(db(), incident, by=actor(), now=now(), note=request.form.get("note", ""))
    db().commit()
    flash("No review meeting for this incident.", "success")
    return redirect(url_for("incidents.after_section", ref=incident.reference))


@bp.get("/<ref>/report")
def show_report(ref: str):
    """Show the draft incident report."""
    incident = load_incident(ref)
    built = report.build(db(), incident, settings(), now=now())
    return render_template(
        "report.html",
        report=built,
        incident=incident,
        placeholders=report.PLACEHOLDERS,
        agent_link=lambda ticket_id: agent_link(settings(), ticket_id),
    )


@bp.get("/<ref>/report.md")
def report_md(ref: str):
    """Download the draft incident report as Markdown."""
    incident = load_incident(ref)
    return download(report_markdown(incident), MARKDOWN, f"{incident.reference}-report.md")


@bp.get("/<ref>/timeline.csv")
def timeline_csv(ref: str):
    """Download the timeline as CSV, times in the configured zone."""
    incident = load_incident(ref)
    lines = exports.timeline_csv_lines(timeline.iter_events(db(), incident), settings())
    body = stream_with_context(lines)
    return download(body, "text/csv", f"{incident.reference}-timeline.csv")


@bp.get("/<ref>/timeline.md")
def timeline_md(ref: str):
    """Download the timeline as Markdown, times in the configured zone."""
    incident = load_incident(ref)
    body = exports.timeline_markdown(incident, timeline.events(db(), incident), settings())
    return download(body, MARKDOWN, f"{incident.reference}-timeline.md")


@bp.get("/<ref>/review.ics")
def review_ics(ref: str):
    """Download the review meeting as a calendar invite."""
    incident = load_incident(ref)
    body = review_invite(incident)
    if body is None:
        abort(404)
    return download(body, "text/calendar", f"{incident.reference}-review.ics")
