"""With [incident_io] push_changes, severity and status changed in comms reach incident.io."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import select

from comms.incident_io.gateway import IncidentIoGateway
from comms.incident_io.service import follow
from comms.incidents.models import Incident, TimelineEvent
from tests.conftest import csrf_token, sign_in


@pytest.fixture
def push(request) -> bool:
    return getattr(request, "param", True)


@pytest.fixture
def settings(settings, push):
    return replace(settings, incident_io=replace(settings.incident_io, push_changes=push))


def change(client, db_session, field: str, value: str):
    """Change a field on the incident's page (comms' reference: ids differ between databases)."""
    db_session.expire_all()
    ref = db_session.scalars(select(Incident)).one().reference
    page = client.get(f"/incidents/{ref}").get_data(as_text=True)
    return client.post(
        f"/incidents/{ref}/{field}",
        data={field: value, "note": "", "csrf_token": csrf_token(page)},
        follow_redirects=True,
    )


def kinds(db_session) -> list[tuple[str, str, str]]:
    db_session.expire_all()
    events = db_session.scalars(select(TimelineEvent).order_by(TimelineEvent.id))
    return [(e.actor, e.kind, e.summary) for e in events]


def test_changes_in_comms_are_sent_to_incident_io_and_do_not_echo_back(
    served, incident_io, settle, client, users, db_session
):
    declared = incident_io.declare("Search broken", severity="Minor")
    settle()
    sign_in(client, "manager@agency.test")
    change(client, db_session, "severity", "critical")
    change(client, db_session, "status", "monitoring")
    remote = incident_io.server.store.get(declared["id"])
    assert (remote["severity"]["name"], remote["incident_status"]["name"]) == (
        "Critical",
        "Monitoring",
    )
    settle()  # incident.io's webhooks about the edits come back
    incident = db_session.scalars(select(Incident)).one()
    assert (incident.severity, incident.status) == ("critical", "monitoring")
    events = kinds(db_session)
    pushed = [s for _, kind, s in events if kind == "incident_io_pushed"]
    assert pushed == [
        "Sent to incident.io INC-1: severity critical",
        "Sent to incident.io INC-1: status monitoring",
    ]
    assert [k for actor, k, _ in events if actor == "incident.io"] == [
        "declared",
        "incident_io_followed",
    ]


def test_a_state_of_incident_io_older_than_the_push_never_takes_the_change_back(
    served, incident_io, settle, client, users, db_session, app, settings, clock
):
    """The echo: incident.io's incident fetched before comms' change reached it (a webhook of
    an earlier change, processed late) is looked at while the push is on its way, then after."""
    declared = incident_io.declare("Search broken", severity="Minor")
    settle()
    sign_in(client, "manager@agency.test")
    with IncidentIoGateway(settings.incident_io) as gateway:
        stale = gateway.incident(declared["id"])  # before the change: status Triage
    sessions = app.extensions["comms"]["sessionmaker"]

    def look_at_the_stale_state() -> tuple[str, str]:
        with sessions() as session:
            follow(session, stale, latest_update="", settings=settings, now=clock.now())
            session.commit()
            incident = session.scalars(select(Incident)).one()
            return incident.severity, incident.status

    ref = db_session.scalars(select(Incident)).one().reference
    token = csrf_token(client.get(f"/incidents/{ref}").get_data(as_text=True))
    form = {"status": "monitoring", "note": "", "csrf_token": token}
    arrived, release = incident_io.hold_next("/actions/edit")
    changing = threading.Thread(
        target=client.post, args=(f"/incidents/{ref}/status",), kwargs={"data": form}
    )
    changing.start()
    assert arrived.wait(30), "comms did not send the change to incident.io"
    during = look_at_the_stale_state()  # committed in comms, not yet answered by incident.io
    release.set()
    changing.join(30)
    after = look_at_the_stale_state()  # incident.io answered: the stale state is older
    assert (during, after) == (("minor", "monitoring"), ("minor", "monitoring"))
    settle()
    db_session.expire_all()
    assert db_session.scalars(select(Incident)).one().status == "monitoring"
    assert [k for actor, k, _ in kinds(db_session) if actor == "incident.io"] == [
        "declared",
        "incident_io_followed",
    ]


def test_an_outage_of_incident_io_is_shown_and_the_change_in_comms_kept(
    served, incident_io, settle, client, users, db_session
):
    declared = incident_io.declare("Search broken", severity="Minor")
    settle()
    sign_in(client, "manager@agency.test")
    incident_io.fail_next("/actions/edit", status=503)
    page = change(client, db_session, "severity", "major").get_data(as_text=True)
    assert "Not sent to incident.io INC-1: incident.io answered 503" in page
    assert db_session.scalars(select(Incident)).one().severity == "major"
    assert incident_io.server.store.get(declared["id"])["severity"]["name"] == "Minor"


@pytest.mark.parametrize("push", [False], indirect=True)
def test_by_default_comms_changes_nothing_in_incident_io(
    served, incident_io, settle, client, users, db_session
):
    declared = incident_io.declare("Search broken", severity="Minor")
    settle()
    sign_in(client, "manager@agency.test")
    change(client, db_session, "severity", "critical")
    assert incident_io.server.store.get(declared["id"])["severity"]["name"] == "Minor"
    assert not [k for _, k, _ in kinds(db_session) if k.startswith("incident_io_push")]
