"""The dashboard of open incidents, and the health check."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text

from comms.actions.dashboard import dashboard, declared_in_incident_io
from comms.actions.incident_io import TakeUpProblem, take_up
from comms.auth.models import User
from comms.web.context import db, now, settings

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index():
    """Show the open incidents, the most severe and oldest first."""
    return render_template(
        "dashboard.html",
        rows=dashboard(db(), settings()),
        declared=declared_in_incident_io(db()),
    )


@bp.post("/incident-io/take-up")
def take_up_incident():
    """Take up an incident declared in incident.io; the one who clicks manages its comms."""
    user = db().get(User, current_user.id)
    if user is None:
        abort(401)
    try:
        incident = take_up(
            db(),
            external_id=request.form.get("external_id", ""),
            by=user,
            now=now(),
            settings=settings(),
        )
    except TakeUpProblem as problem:
        flash(str(problem), "error")
        return redirect(url_for("dashboard.index"))
    flash(f"{incident.reference} follows incident.io from now on.", "success")
    return redirect(url_for("incidents.show", ref=incident.reference))


@bp.route("/healthz")
def healthz():
    """Answer 200 when the database answers."""
    try:
        db().execute(text("SELECT 1"))
    except Exception as error:  # any database failure means unhealthy
        return {"status": "unhealthy", "database": type(error).__name__}, 503
    return {"status": "ok"}
