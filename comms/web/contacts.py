"""The incident page's contacts section and its actions."""

from __future__ import annotations

from flask import Blueprint

from comms.incidents.models import Incident

bp = Blueprint("contacts", __name__, url_prefix="/incidents/<ref>/contacts")


def panel(incident: Incident) -> dict:
    """What the incident page needs to show the contacts section."""
    return {}
