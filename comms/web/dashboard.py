"""The dashboard of open incidents, and the health check."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import text

from comms.actions.dashboard import dashboard
from comms.web.context import db, settings

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index():
    """Show the open incidents, the most severe and oldest first."""
    return render_template("dashboard.html", rows=dashboard(db(), settings()))


@bp.route("/healthz")
def healthz():
    """Answer 200 when the database answers."""
    try:
        db().execute(text("SELECT 1"))
    except Exception as error:  # any database failure means unhealthy
        return {"status": "unhealthy", "database": type(error).__name__}, 503
    return {"status": "ok"}
