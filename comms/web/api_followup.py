"""The JSON API's follow-up documents: the draft report and the review meeting invite."""

from __future__ import annotations

from flask import Response

from comms.web.api import ApiError, bp
from comms.web.context import load_incident
from comms.web.followup import MARKDOWN, report_markdown, review_invite


@bp.get("/incidents/<ref>/report")
def incident_report(ref: str):
    """Return the draft incident report as Markdown."""
    return Response(report_markdown(load_incident(ref)), mimetype=MARKDOWN)


@bp.get("/incidents/<ref>/review.ics")
def incident_review_ics(ref: str):
    """Return the review meeting invite as iCalendar; 404 until a review is set."""
    incident = load_incident(ref)
    body = review_invite(incident)
    if body is None:
        raise ApiError(
            404, "not_found", f"{incident.reference} has no review meeting: it is set on resolve."
        )
    return Response(body, mimetype="text/calendar")
