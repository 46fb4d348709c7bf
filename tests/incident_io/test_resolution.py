"""With [incident_io] resolution = "automatic", incident.io resolving sends the resolution."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from comms.contacts.service import add_contact
from comms.incidents.models import Incident, TimelineEvent
from comms.updates.models import Delivery, Update


@pytest.fixture
def settings(settings):
    return replace(settings, incident_io=replace(settings.incident_io, resolution="automatic"))


def test_resolved_in_incident_io_sends_the_resolution_when_configured_to(
    served, incident_io, settle, db_session, clock, settings
):
    declared = incident_io.declare("Search broken", severity="Major")
    settle()
    incident = db_session.scalars(select(Incident)).one()
    add_contact(
        db_session,
        incident,
        email="ann@acme.example",
        name="Ann",
        by="t",
        now=clock.now(),
        settings=settings,
    )
    db_session.commit()
    incident_io.change(declared["id"], status="Closed")
    settle()
    db_session.expire_all()
    assert incident.status == "resolved" and not incident.is_open
    (update,) = db_session.scalars(select(Update)).all()
    assert update.kind == "resolved" and "resolved" in update.message
    assert [d.email for d in db_session.scalars(select(Delivery))] == ["ann@acme.example"]
    last = db_session.scalars(
        select(TimelineEvent).filter_by(kind="resolved").order_by(TimelineEvent.id)
    ).one()
    assert last.actor == "incident.io"
