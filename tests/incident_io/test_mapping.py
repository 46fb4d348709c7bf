"""incident.io's severities, statuses, lead and take-up rule in comms' words."""

from __future__ import annotations

from dataclasses import replace

from comms.config import IncidentIoSettings
from comms.incident_io import mapping
from comms.incident_io.gateway import RemoteIncident, Role

SETTINGS = IncidentIoSettings()
REMOTE = RemoteIncident(
    id="01H",
    reference="INC-12",
    name="Search broken",
    summary="",
    permalink="",
    visibility="public",
    severity_name="Major",
    severity_rank=3,
    status_name="Fixing",
    status_category="live",
    slack_channel_id="",
    slack_channel_name="",
    updated_at=None,
)


def test_a_severity_is_read_by_rank_the_nearest_listed_below_and_unknown_is_the_highest():
    ranks = replace(SETTINGS, severity_by_rank={"1": "minor", "3": "major", "5": "critical"})
    assert [mapping.severity(ranks, rank) for rank in (1, 2, 3, 4, 5, 9)] == (
        ["minor", "minor", "major", "major", "critical", "critical"]
    )
    assert mapping.severity(ranks, 0) == "minor"  # below every listed rank: the lowest
    assert mapping.severity(ranks, None) == "critical"


def test_a_status_is_read_by_name_then_by_category_and_a_closed_incident_is_resolved():
    assert mapping.status(SETTINGS, REMOTE) == "identified"  # "Fixing", by name, any case
    other = replace(REMOTE, status_name="Waiting on vendor")
    assert mapping.status(SETTINGS, other) == "investigating"  # by its category, live
    unknown = replace(REMOTE, status_name="Waiting on vendor", status_category="paused")
    assert mapping.status(SETTINGS, unknown) is None  # comms keeps its own
    for category in ("closed", "declined", "canceled", "merged", "Learning"):
        done = replace(REMOTE, status_name="Fixing", status_category=category)
        assert mapping.status(SETTINGS, done) == "resolved"


def test_the_lead_is_whoever_holds_the_lead_role_by_type_or_name():
    roles = (
        Role("reporter", "Reporter", "Rae", "rae@agency.test"),
        Role("custom", "Lead", "Lee", "lee@agency.test"),
    )
    assert mapping.lead(SETTINGS, replace(REMOTE, roles=roles)) == ("Lee", "lee@agency.test")
    assert mapping.lead(SETTINGS, REMOTE) == ("", "")


def test_take_up_follows_the_configured_rule():
    field = replace(SETTINGS, take_up="custom_field")
    marked = replace(REMOTE, custom_fields={"clients AFFECTED": ("No", "Yes")})
    assert mapping.taken_up_automatically(field, marked)
    assert not mapping.taken_up_automatically(field, replace(REMOTE, custom_fields={}))
    assert not mapping.taken_up_automatically(replace(SETTINGS, take_up="none"), marked)
    assert mapping.taken_up_automatically(SETTINGS, REMOTE)  # "all"
