"""The incident screens: declare, and one page per incident."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from comms.incidents import service
from comms.web import contacts, updates
from comms.web.context import db

bp = Blueprint("incidents", __name__, url_prefix="/incidents")


@bp.route("/new", methods=["GET", "POST"])
def declare():
    """Declare an incident."""
    return render_template("declare.html")


@bp.route("/<ref>")
def show(ref: str):
    """Show one incident."""
    incident = service.get(db(), ref)
    if incident is None:
        abort(404)
    return render_template(
        "incident.html",
        incident=incident,
        **contacts.panel(incident),
        **updates.panel(incident),
    )
