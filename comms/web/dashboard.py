"""The dashboard of open incidents, and the health check."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user
from sqlalchemy import text

from comms.actions.dashboard import dashboard, declared_in_incident_io
from comms.actions.incident_io import TakeUpProblem, take_up
from comms.auth.models import User
from comms.incidents import service as incidents
from comms.incidents.models import SEVERITIES
from comms.web.context import db, now, settings
from comms.web.paging import incident_filters, page_after, read_page

bp = Blueprint("dashboard", __name__)
LIST_PAGE_SIZE = 50


@bp.route("/")
def index():
    """Show the open incidents, the most severe and oldest first."""
    return render_template(
        "dashboard.html",
        rows=dashboard(db(), settings(), now=now()),
        declared=declared_in_incident_io(db()),
    )


@bp.get("/incidents")
def incidents_list():
    """List every incident, open and resolved, newest first, filtered and searched."""
    chosen = incident_filters()
    read = partial(incidents.incidents_page, db(), **chosen)
    page = read_page(read, size=LIST_PAGE_SIZE, after=page_after(request.args.get("after")))
    filters: dict[str, Any] = {
        "status": chosen["status"],
        "severity": chosen["severity"],
        "q": chosen["search"].strip(),
    }
    shown = {name: value for name, value in filters.items() if value}
    return render_template(
        "incidents.html",
        page=page,
        filters=filters,
        statuses=incidents.STATUS_FILTERS,
        severities=SEVERITIES,
        next_url=url_for(".incidents_list", **shown, after=page.after) if page.after else None,
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


@bp.get("/favicon.ico")
def favicon():
    """Serve the site's icon where browsers ask for it, signed in or not."""
    assert current_app.static_folder is not None
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon"
    )


@bp.route("/healthz")
def healthz():
    """Answer 200 when the database answers."""
    try:
        db().execute(text("SELECT 1"))
    except Exception as error:  # any database failure means unhealthy
        return {"status": "unhealthy", "database": type(error).__name__}, 503
    return {"status": "ok"}
