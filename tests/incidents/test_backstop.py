"""The Zendesk backstop poll for candidate tickets is an operation: the page, the API and the
scheduler record it, one per incident, and a worker runs it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from comms.incidents import service
from comms.incidents.models import Candidate
from comms.operations.models import Operation
from comms.updates.scheduler import tick
from comms.worker import Worker
from tests.conftest import follow
from tests.incidents.test_web import post
from tests.zendesk.conftest import QuickGateway


@pytest.fixture
def app(make_app, settings, gateway):
    """The web app only records operations: the test runs the worker itself."""
    app = make_app(settings, worker=False)
    app.extensions["comms"]["gateway"] = gateway
    return app


@pytest.fixture
def worker(app, settings, clock) -> Worker:
    sessions = app.extensions["comms"]["sessionmaker"]
    return Worker(sessions, settings, clock, make_gateway=lambda: QuickGateway(settings.zendesk))


def _polls(db_session) -> list[Operation]:
    db_session.rollback()
    return list(
        db_session.scalars(
            select(Operation).where(Operation.kind == "candidates").order_by(Operation.id)
        )
    )


def test_the_page_and_the_api_start_the_same_poll_and_a_worker_runs_it(
    login, api, incident, desk, worker, db_session
):
    page, client = login("manager"), api("manager")
    url = f"/incidents/{incident.reference}"
    started = post(page, f"{url}/candidates", {}, url)
    operation_id = int(re.search(r"operation=(\d+)", started.headers["Location"]).group(1))
    answer = client.post(f"/api/v1/incidents/{incident.reference}/candidates")
    assert answer.status_code == 202  # answered at once, Zendesk not asked yet
    assert answer.get_json()["operation"]["id"] == operation_id  # the one under way, joined
    assert answer.get_json()["operation"]["state"] == "queued"
    listed = client.get(f"/api/v1/incidents/{incident.reference}/candidates").get_json()
    assert listed["candidates"] == []

    assert worker.run_one()
    done = follow(client, answer)
    assert (done["state"], done["result"]) == ("done", {"candidates": 3})
    listed = client.get(f"/api/v1/incidents/{incident.reference}/candidates").get_json()
    assert {c["ticket_id"] for c in listed["candidates"]} == set(desk.tickets[:3])
    shown = page.get(started.headers["Location"]).get_data(as_text=True)
    assert 'Finding candidate tickets: <span id="operation-state">done' in shown
    assert "Website down" in shown and "503 errors on our site" in shown
    again = client.post(f"/api/v1/incidents/{incident.reference}/candidates")
    assert again.get_json()["operation"]["id"] != operation_id  # the last one ended: a new one


def test_the_scheduler_polls_each_open_incident_once_per_interval(
    app, settings, clock, incident, desk, users, worker, db_session
):
    resolved = service.declare(
        db_session,
        title="Old outage",
        severity="minor",
        settings=settings,
        by="manager@agency.test",
        now=clock.now(),
        keywords=[],
        comms_manager=users["manager"],
    )
    resolved.status = "resolved"
    db_session.commit()
    sessions = app.extensions["comms"]["sessionmaker"]
    tick(sessions, settings, clock=clock, send=False)
    tick(sessions, settings, clock=clock, send=False)  # the poll is queued: joined, not repeated
    assert [(p.incident_id, p.state) for p in _polls(db_session)] == [(incident.id, "queued")]
    assert settings.zendesk.candidate_poll_minutes == 5
    clock.advance(minutes=10)
    tick(sessions, settings, clock=clock, send=False)  # still queued: still the one
    assert len(_polls(db_session)) == 1

    while worker.run_one():
        pass
    assert [p.state for p in _polls(db_session)] == ["done"]
    found = db_session.scalars(
        select(Candidate.ticket_id).where(Candidate.incident_id == incident.id)
    )
    assert set(found) == set(desk.tickets[:3])
    clock.advance(minutes=4)
    tick(sessions, settings, clock=clock, send=False)  # it polled 4 minutes ago: not yet
    assert len(_polls(db_session)) == 1
    clock.advance(minutes=2)
    tick(sessions, settings, clock=clock, send=False)
    assert [p.state for p in _polls(db_session)] == ["done", "queued"]
