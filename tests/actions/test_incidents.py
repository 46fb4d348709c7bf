"""The actions behind the incident screens and the API: each commits what it did."""

from datetime import timedelta

from comms.actions import incidents as actions
from comms.contacts.service import add_contact
from comms.updates.service import publish
from tests.incidents.test_service import declare


def test_a_new_severity_means_a_new_cadence(db_session, settings, clock):
    incident = declare(db_session, settings, clock, severity="major")
    add_contact(
        db_session,
        incident,
        email="client@example.com",
        name="Client",
        by="m",
        now=clock.now(),
        settings=settings,
    )
    publish(
        db_session, incident, message="We are on it.", by="m", now=clock.now(), settings=settings
    )
    assert incident.next_update_due_at == clock.now() + timedelta(minutes=60)
    clock.advance(minutes=10)
    actions.change(
        db_session,
        incident,
        severity="trivial",
        note="",
        by="m",
        now=clock.now(),
        settings=settings,
    )
    assert incident.next_update_due_at is None  # trivial incidents get no automatic updates
    actions.change(
        db_session,
        incident,
        severity="critical",
        note="",
        by="m",
        now=clock.now(),
        settings=settings,
    )
    assert incident.next_update_due_at == clock.now() + timedelta(minutes=50)
