"""Declaring, severity and status, and the timeline."""

import pytest
from sqlalchemy import func, select

from comms import timeline
from comms.incidents import service
from comms.incidents.models import TimelineEvent
from comms.incidents.service import IncidentError


def declare(db_session, settings, clock, **fields):
    fields = {"title": "Search broken", "severity": "minor", **fields}
    return service.declare(
        db_session, settings=settings, by="a@agency.test", now=clock.now(), **fields
    )


def test_declaring_gives_a_reference_and_a_timeline_entry(db_session, settings, clock):
    incident = declare(
        db_session, settings, clock, business_unit="Hosting", keywords=["search", "Search", " "]
    )
    db_session.commit()
    assert incident.reference == f"INC-{incident.id}"
    assert incident.status == "investigating"
    assert incident.keywords == ["search"]
    [event] = timeline.events(db_session, incident)
    assert event.kind == "declared" and event.actor == "a@agency.test"
    assert "Search broken" in event.summary


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "1 to 200 characters"),
        ({"title": "x" * 201}, "1 to 200 characters"),
        ({"title": "two\nlines"}, "control characters"),
        ({"severity": "urgent"}, "'urgent' is not one of critical, major, minor, trivial"),
        ({"business_unit": "Catering"}, "'Catering' is not one of Hosting"),
        ({"lead_email": "not-an-address"}, "is not an address"),
    ],
)
def test_bad_declarations_say_what_is_wrong(db_session, settings, clock, fields, message):
    with pytest.raises(IncidentError, match=message):
        declare(db_session, settings, clock, **fields)


def test_a_title_of_200_characters_is_fine(db_session, settings, clock):
    assert len(declare(db_session, settings, clock, title="x" * 200).title) == 200


def test_raising_severity_says_seniors_join(db_session, settings, clock):
    incident = declare(db_session, settings, clock)
    service.change_severity(
        db_session,
        incident,
        severity="critical",
        note="more sites",
        by="b@agency.test",
        now=clock.now(),
        settings=settings,
    )
    service.change_severity(
        db_session,
        incident,
        severity="minor",
        note="",
        by="b@agency.test",
        now=clock.now(),
        settings=settings,
    )
    events = timeline.events(db_session, incident)
    assert (
        "raised from minor to critical. Senior stakeholders now receive updates. Note: more sites"
        in events[1].summary
    )
    assert (
        "lowered from critical to minor. Senior stakeholders no longer receive updates."
        in events[2].summary
    )


def test_status_moves_and_resolving_needs_the_resolve_form(db_session, settings, clock):
    incident = declare(db_session, settings, clock)
    service.change_status(
        db_session, incident, status="identified", note="bad deploy", by="b", now=clock.now()
    )
    assert incident.status == "identified"
    with pytest.raises(IncidentError, match="resolve form"):
        service.change_status(
            db_session, incident, status="resolved", note="", by="b", now=clock.now()
        )
    with pytest.raises(IncidentError, match="not one of"):
        service.change_status(
            db_session, incident, status="fixed", note="", by="b", now=clock.now()
        )


def test_the_timeline_only_grows(db_session, settings, clock):
    incident = declare(db_session, settings, clock)
    for status in ("identified", "monitoring", "identified"):
        service.change_status(db_session, incident, status=status, note="", by="b", now=clock.now())
    count = db_session.scalar(select(func.count()).select_from(TimelineEvent))
    assert count == 4


def test_get_accepts_reference_or_id(db_session, settings, clock):
    incident = declare(db_session, settings, clock)
    assert service.get(db_session, incident.reference) is incident
    assert service.get(db_session, f"inc-{incident.id}") is incident
    assert service.get(db_session, str(incident.id)) is incident
    assert service.get(db_session, "INC-99999") is None
    assert service.get(db_session, "nonsense") is None
