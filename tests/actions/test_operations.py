"""Recording long operations: what is refused before a row is written, and when the scheduler
records the Zendesk candidate poll."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from comms.actions import operations
from comms.config import ZendeskSettings
from comms.incidents import service
from comms.incidents.service import IncidentError
from comms.operations.models import Operation

BY = "manager@agency.test"
ZENDESK = ZendeskSettings(url="http://127.0.0.1:9", email="agent@agency.test", token="t")


@pytest.fixture
def incident(db_session, settings, clock):
    made = service.declare(
        db_session, title="Sites down", severity="major", settings=settings, by=BY, now=clock.now()
    )
    db_session.commit()
    return made


def _rows(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Operation))


def test_a_link_needs_a_parent_ticket_and_a_ticket_and_asks_each_ticket_once(
    db_session, incident, clock
):
    with pytest.raises(IncidentError, match="Create or adopt a parent ticket first"):
        operations.start_link(db_session, incident, [5], by=BY, now=clock.now())
    incident.parent_ticket_id = 99
    db_session.commit()
    with pytest.raises(IncidentError, match="Choose at least one ticket"):
        operations.start_link(db_session, incident, [], by=BY, now=clock.now())
    assert _rows(db_session) == 0
    linking = operations.start_link(db_session, incident, [5, 6, 5], by=BY, now=clock.now())
    assert (linking.params["ticket_ids"], linking.total) == ([5, 6], 2)


def test_the_candidate_poll_waits_for_zendesk_and_an_interval(
    db_session, settings, incident, clock
):
    # Zendesk not configured: nothing to poll.
    assert (
        operations.start_due_candidate_polls(db_session, settings=settings, now=clock.now()) == []
    )
    off = replace(settings, zendesk=replace(ZENDESK, candidate_poll_minutes=0))
    assert operations.start_due_candidate_polls(db_session, settings=off, now=clock.now()) == []
    assert _rows(db_session) == 0
    on = replace(settings, zendesk=ZENDESK)
    (poll,) = operations.start_due_candidate_polls(db_session, settings=on, now=clock.now())
    assert (poll.kind, poll.incident_id, poll.requested_by) == (
        "candidates",
        incident.id,
        "scheduler",
    )
    assert operations.start_due_candidate_polls(db_session, settings=on, now=clock.now()) == []
    assert operations.start_candidates(db_session, incident, by=BY, now=clock.now()).id == poll.id
