"""On the screen: incidents declared in incident.io to take up, and resolutions to confirm."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from comms.incident_io import jobs
from comms.incidents.models import Incident
from tests.conftest import csrf_token, sign_in

LEAD = {"name": "Priya Shah", "email": "priya.shah@brightwave.digital"}


@pytest.fixture
def settings(settings):
    """Nothing is taken up on its own: each is listed as declared in incident.io."""
    return replace(settings, incident_io=replace(settings.incident_io, take_up="none"))


def look(app, clock) -> None:
    comms = app.extensions["comms"]
    jobs.reconcile(comms["sessionmaker"], comms["settings"], clock=clock, force=True)


def test_an_incident_declared_in_incident_io_is_taken_up_with_one_click(
    app, client, users, incident_io, clock, db_session
):
    declared = incident_io.declare("Checkout failing", severity="Major", lead=LEAD)
    look(app, clock)
    sign_in(client, "manager@agency.test")
    page = client.get("/").get_data(as_text=True)
    assert "Declared in incident.io" in page and declared["reference"] in page
    assert db_session.scalars(select(Incident)).all() == []

    taken = client.post(
        "/incident-io/take-up",
        data={"external_id": declared["id"], "csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    text = taken.get_data(as_text=True)
    assert taken.status_code == 200 and "follows incident.io from now on" in text
    assert f"{declared['reference']}</a>" in text and declared["permalink"] in text
    (incident,) = db_session.scalars(select(Incident)).all()
    assert (incident.title, incident.severity, incident.lead_name) == (
        "Checkout failing",
        "major",
        "Priya Shah",
    )
    assert incident.comms_manager_id == users["manager"].id
    assert "Declared in incident.io" not in client.get("/").get_data(as_text=True)

    again = client.post(
        "/incident-io/take-up",
        data={"external_id": declared["id"], "csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    assert again.status_code == 200 and "is already taken up" in again.get_data(as_text=True)
    unknown = client.post(
        "/incident-io/take-up",
        data={"external_id": "01NOPE", "csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    assert "comms knows no such incident" in unknown.get_data(as_text=True)
    assert len(db_session.scalars(select(Incident)).all()) == 1


def test_a_viewer_cannot_take_up_and_the_form_needs_its_csrf_token(
    app, client, users, incident_io, clock, db_session
):
    declared = incident_io.declare("Checkout failing", severity="Major")
    look(app, clock)
    sign_in(client, "viewer@agency.test")
    page = client.get("/").get_data(as_text=True)
    assert "Take up" not in page
    refused = client.post(
        "/incident-io/take-up", data={"external_id": declared["id"], "csrf_token": csrf_token(page)}
    )
    assert refused.status_code == 403
    client.get("/logout")
    sign_in(client, "manager@agency.test")
    no_token = client.post("/incident-io/take-up", data={"external_id": declared["id"]})
    assert no_token.status_code == 400
    assert db_session.scalars(select(Incident)).all() == []


def taken_up(db_session) -> str:
    """The reference of the one incident comms took up (ids differ between databases)."""
    db_session.expire_all()
    return db_session.scalars(select(Incident)).one().reference


def test_resolved_in_incident_io_asks_first_on_the_dashboard_and_the_incident(
    app, client, users, incident_io, clock, db_session
):
    declared = incident_io.declare("Checkout failing", severity="Major")
    look(app, clock)
    sign_in(client, "manager@agency.test")
    page = client.get("/").get_data(as_text=True)
    client.post(
        "/incident-io/take-up", data={"external_id": declared["id"], "csrf_token": csrf_token(page)}
    )
    incident_io.change(declared["id"], status="Closed")
    clock.advance(minutes=5)
    look(app, clock)
    asked = "Resolved in incident.io: send the resolution update?"
    assert asked in client.get("/").get_data(as_text=True)
    assert asked in client.get(f"/incidents/{taken_up(db_session)}").get_data(as_text=True)


def test_the_leads_latest_update_is_offered_as_the_draft_and_never_sent(
    app, client, users, incident_io, clock, db_session
):
    from comms.updates.models import Update

    declared = incident_io.declare("Checkout failing", severity="Major")
    look(app, clock)
    sign_in(client, "manager@agency.test")
    page = client.get("/").get_data(as_text=True)
    client.post(
        "/incident-io/take-up", data={"external_id": declared["id"], "csrf_token": csrf_token(page)}
    )
    incident_io.change(declared["id"], status="Fixing", message="Payment provider timeouts.")
    clock.advance(minutes=5)
    look(app, clock)
    ref = taken_up(db_session)
    page = client.get(f"/incidents/{ref}/updates").get_data(as_text=True)
    assert ">Payment provider timeouts.</textarea>" in page
    assert "Started from the lead's latest update in incident.io" in page

    client.post(
        f"/incidents/{ref}/updates/compose",
        data={
            "message": "We are looking into it.",
            "action": "save",
            "csrf_token": csrf_token(page),
        },
    )
    page = client.get(f"/incidents/{ref}/updates").get_data(as_text=True)
    assert ">We are looking into it.</textarea>" in page
    assert "The lead's latest update in incident.io:" in page
    assert "<blockquote>Payment provider timeouts.</blockquote>" in page
    assert db_session.scalars(select(Update)).all() == []
