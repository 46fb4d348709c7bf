"""incident.io's words onto comms' words, as [incident_io] configures them."""

from __future__ import annotations

from comms.config import IncidentIoSettings
from comms.incident_io.gateway import RemoteIncident


def severity(settings: IncidentIoSettings, rank: int | None) -> str:
    """By rank (names are editable): the listed rank, else the nearest listed rank below it."""
    ranks = sorted((int(r), s) for r, s in settings.severity_by_rank.items())
    if rank is None:
        return ranks[-1][1]  # unknown: the higher, as the agency's process says when torn
    below = [s for r, s in ranks if r <= rank]
    return below[-1] if below else ranks[0][1]


def status(settings: IncidentIoSettings, remote: RemoteIncident) -> str | None:
    """The status by name, else by category; None when comms should leave its own alone."""
    by_name = {k.lower(): v for k, v in settings.status_by_name.items()}
    by_category = {k.lower(): v for k, v in settings.status_by_category.items()}
    if remote.status_category.lower() in ("learning", "closed", "declined", "canceled", "merged"):
        return by_category.get(remote.status_category.lower(), "resolved")
    return by_name.get(remote.status_name.lower()) or by_category.get(
        remote.status_category.lower()
    )


def lead(settings: IncidentIoSettings, remote: RemoteIncident) -> tuple[str, str]:
    """The name and e-mail of whoever holds the lead role ("", "" when nobody does)."""
    wanted = settings.lead_role.lower()
    for role in remote.roles:
        if wanted in (role.role_type.lower(), role.name.lower()):
            return role.assignee_name, role.assignee_email
    return "", ""


def taken_up_automatically(settings: IncidentIoSettings, remote: RemoteIncident) -> bool:
    """all: every incident; custom_field: those with take_up_field = take_up_value; none: none."""
    if settings.take_up == "all":
        return True
    if settings.take_up == "none":
        return False
    for name, values in remote.custom_fields.items():
        if name.lower() == settings.take_up_field.lower():
            return settings.take_up_value.lower() in (v.lower() for v in values)
    return False
