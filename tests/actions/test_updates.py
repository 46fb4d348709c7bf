"""Pausing and resuming the automatic updates: committed when done, nothing kept when refused."""

import pytest

from comms.actions.updates import pause_or_resume
from comms.db import make_sessionmaker
from comms.incidents.models import Incident
from comms.updates.service import UpdateProblem
from tests.incidents.test_service import declare


def stored(engine, incident: Incident) -> Incident:
    """The incident as another process reads it: only what was committed."""
    with make_sessionmaker(engine)() as other:
        return other.get_one(Incident, incident.id)


def test_a_pause_is_committed_with_its_reason_and_a_resume_lifts_it(
    db_session, engine, settings, clock
):
    incident = declare(db_session, settings, clock, severity="major")
    db_session.commit()
    pause_or_resume(
        db_session,
        incident,
        paused=True,
        reason="waiting for the fix",
        by="m",
        now=clock.now(),
        settings=settings,
    )
    seen = stored(engine, incident)
    assert seen.schedule_paused and seen.pause_reason == "waiting for the fix"
    pause_or_resume(
        db_session, incident, paused=False, reason="", by="m", now=clock.now(), settings=settings
    )
    assert not stored(engine, incident).schedule_paused


def test_a_pause_without_a_reason_is_refused_and_nothing_is_kept(
    db_session, engine, settings, clock
):
    incident = declare(db_session, settings, clock, severity="major")
    db_session.commit()
    with pytest.raises(UpdateProblem):
        pause_or_resume(
            db_session,
            incident,
            paused=True,
            reason="  ",
            by="m",
            now=clock.now(),
            settings=settings,
        )
    assert not stored(engine, incident).schedule_paused
