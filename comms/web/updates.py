"""The incident page's updates section and its actions."""

from __future__ import annotations

from flask import Blueprint

from comms.incidents.models import Incident

bp = Blueprint("updates", __name__, url_prefix="/incidents/<ref>/updates")


def panel(incident: Incident) -> dict:
    """What the incident page needs to show the updates section."""
    return {}
