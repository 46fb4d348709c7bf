"""The JSON API for an incident's updates."""

from __future__ import annotations

from comms.web.api import bp  # noqa: F401  (routes are added to the API blueprint)
