"""Declared in incident.io: comms takes it up from the signed webhook and the API, and keeps in step."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import requests
from sqlalchemy import func, select

from comms.incident_io import jobs
from comms.incident_io.models import FollowedIncident, ReceivedWebhook
from comms.incidents.models import Incident, TimelineEvent
from comms.sandbox.incident_io import new_secret
from comms.sandbox.incident_io.webhooks import envelope

LEAD = {"name": "Priya Shah", "email": "priya.shah@brightwave.digital"}


def only_incident(db_session) -> Incident:
    db_session.expire_all()
    incidents = db_session.scalars(select(Incident)).all()
    assert len(incidents) == 1, [i.title for i in incidents]
    return incidents[0]


def timeline(db_session, incident) -> list[tuple[str, str, str]]:
    rows = db_session.scalars(
        select(TimelineEvent).filter_by(incident_id=incident.id).order_by(TimelineEvent.id)
    )
    return [(e.actor, e.kind, e.summary) for e in rows]


def test_an_incident_declared_in_incident_io_is_taken_up_with_its_mapped_fields(
    served, incident_io, settle, db_session
):
    declared = incident_io.declare(
        "Legacy hosting 503s",
        summary="Sites on the legacy platform return 503.",
        severity="Critical",
        status="Fixing",
        lead=LEAD,
    )
    settle()
    incident = only_incident(db_session)
    assert (incident.title, incident.severity, incident.status) == (
        "Legacy hosting 503s",
        "critical",
        "identified",
    )
    assert (incident.lead_name, incident.lead_email) == (LEAD["name"], LEAD["email"])
    assert incident.description == "Sites on the legacy platform return 503."
    row = db_session.scalar(select(FollowedIncident))
    assert (row.reference, row.permalink, row.slack_channel_id) == (
        declared["reference"],
        declared["permalink"],
        declared["slack_channel_id"],
    )
    events = timeline(db_session, incident)
    assert [actor for actor, _, _ in events] == ["incident.io"] * 3
    assert events[1][2].startswith(f"Follows {declared['reference']} in incident.io")


def test_changes_in_incident_io_change_comms_incident_on_the_timeline(
    served, incident_io, settle, db_session
):
    declared = incident_io.declare("Search broken", severity="Minor", lead=LEAD)
    settle()
    incident_io.change(declared["id"], severity="Critical", status="Monitoring")
    settle()
    incident = only_incident(db_session)
    assert (incident.severity, incident.status) == ("critical", "monitoring")
    kinds = [(actor, kind) for actor, kind, _ in timeline(db_session, incident)]
    assert kinds[-2:] == [("incident.io", "severity"), ("incident.io", "status")]
    summaries = [summary for _, _, summary in timeline(db_session, incident)]
    assert "Senior stakeholders now receive updates." in summaries[-2]


def test_resolved_in_incident_io_asks_the_comms_manager_first(
    served, incident_io, settle, db_session
):
    declared = incident_io.declare("Search broken", severity="Major", lead=LEAD)
    settle()
    incident_io.change(declared["id"], status="Closed", message="Fixed the index.")
    settle()
    incident = only_incident(db_session)
    assert incident.status == "investigating" and incident.is_open
    row = db_session.scalar(select(FollowedIncident))
    assert row.resolution_pending and row.latest_update == "Fixed the index."
    assert timeline(db_session, incident)[-1][1] == "incident_io_resolved"


def test_the_same_webhook_id_twice_is_processed_once(
    served, incident_io, secret, db_session, app, clock
):
    incident_io.set_webhook("")  # deliver by hand below
    declared = incident_io.declare("Search broken", severity="Major")
    body = json.dumps(envelope("incident_created_v2", declared)).encode()
    incident_io.set_webhook(f"{served}/api/v1/incident-io/webhook", secret)
    assert incident_io.webhooks.post("msg_same", body) == 202
    assert incident_io.webhooks.post("msg_same", body) == 200
    assert incident_io.webhooks.sent[-1]["status"] == 200
    jobs.process_webhooks(_factory(app), app.extensions["comms"]["settings"], clock=clock)
    assert db_session.scalar(select(func.count()).select_from(ReceivedWebhook)) == 1
    only_incident(db_session)


def test_a_bad_signature_or_a_stale_timestamp_is_refused_and_nothing_happens(
    served, incident_io, secret, db_session
):
    incident_io.set_webhook("")  # its own webhook would be signed well: deliver by hand below
    declared = incident_io.declare("Search broken", severity="Major")
    body = json.dumps(envelope("incident_created_v2", declared)).encode()
    incident_io.set_webhook(f"{served}/api/v1/incident-io/webhook", new_secret())
    assert incident_io.webhooks.post("msg_forged", body) == 401
    incident_io.set_webhook(f"{served}/api/v1/incident-io/webhook", secret)
    stale = str(int(time.time()) - 6 * 60)
    assert incident_io.webhooks.post("msg_stale", body, timestamp=stale) == 401
    reply = requests.post(f"{served}/api/v1/incident-io/webhook", data=body, timeout=10)
    assert reply.status_code == 401 and reply.json()["error"] == "refused"
    assert db_session.scalar(select(func.count()).select_from(ReceivedWebhook)) == 0
    assert db_session.scalars(select(Incident)).all() == []


def test_during_a_secret_rotation_either_signature_is_accepted(
    served, incident_io, secret, settle, db_session
):
    incident_io.set_webhook(f"{served}/api/v1/incident-io/webhook", new_secret(), secret)
    incident_io.declare("Search broken", severity="Major")
    settle()
    assert incident_io.webhooks.sent[-1]["status"] == 202
    only_incident(db_session)


def test_out_of_order_deliveries_leave_the_api_state(served, incident_io, settle, db_session):
    incident_io.hold_webhooks()
    declared = incident_io.declare("Search broken", severity="Minor")
    incident_io.change(declared["id"], severity="Major")
    incident_io.change(declared["id"], severity="Critical", status="Monitoring")
    incident_io.release_webhooks(reverse=True)
    settle()
    incident = only_incident(db_session)
    assert (incident.severity, incident.status) == ("critical", "monitoring")


def test_a_private_incident_carries_only_its_id_and_is_fetched(
    served, incident_io, settle, db_session
):
    incident_io.declare("Data exposure", severity="Critical", visibility="private", lead=LEAD)
    settle()
    body = incident_io.webhooks.sent[-1]["body"]
    assert body["private_incident.incident_created_v2"].keys() == {"id"}
    incident = only_incident(db_session)
    assert (incident.title, incident.severity, incident.lead_name) == (
        "Data exposure",
        "critical",
        "Priya Shah",
    )


def test_a_lost_webhook_is_caught_by_the_reconcile(
    served, incident_io, settle, db_session, app, clock
):
    declared = incident_io.declare("Search broken", severity="Minor")
    settle()
    incident_io.drop_next_webhooks(1)
    incident_io.change(declared["id"], severity="Critical")
    settle()
    assert only_incident(db_session).severity == "minor"
    report = jobs.reconcile(_factory(app), app.extensions["comms"]["settings"], clock=clock)
    assert report.error == ""
    assert only_incident(db_session).severity == "critical"


def test_an_incident_io_outage_is_noted_by_the_reconcile_not_fatal(
    served, incident_io, db_session, app, clock
):
    incident_io.fail_next("/v2/incidents", count=10, status=503)
    report = jobs.reconcile(_factory(app), app.extensions["comms"]["settings"], clock=clock)
    assert "503" in report.error
    clock.advance(minutes=1)
    again = jobs.reconcile(_factory(app), app.extensions["comms"]["settings"], clock=clock)
    assert again.error == report.error  # not yet time to look again; the problem stays shown


def test_take_up_none_lists_the_incident_as_declared_in_incident_io(
    served, incident_io, settle, db_session, app
):
    config = app.extensions["comms"]["settings"]
    app.extensions["comms"]["settings"] = replace(
        config, incident_io=replace(config.incident_io, take_up="none")
    )
    incident_io.declare("Search broken", severity="Major")
    settle()
    assert db_session.scalars(select(Incident)).all() == []
    row = db_session.scalar(select(FollowedIncident))
    assert (row.state, row.name, row.incident_id) == ("declared", "Search broken", None)


def test_take_up_by_custom_field_takes_only_those_affecting_clients(
    served, incident_io, settle, db_session, app
):
    config = app.extensions["comms"]["settings"]
    app.extensions["comms"]["settings"] = replace(
        config, incident_io=replace(config.incident_io, take_up="custom_field")
    )
    incident_io.declare("Internal wiki down", custom_fields={"Clients affected": "no"})
    incident_io.declare("Client sites down", custom_fields={"Clients affected": "yes"})
    settle()
    assert only_incident(db_session).title == "Client sites down"


def _factory(app):
    return app.extensions["comms"]["sessionmaker"]


def test_the_scheduler_records_the_reconcile_and_a_worker_runs_it_once(
    served, incident_io, settle, db_session, app, clock
):
    from comms.operations.models import Operation
    from comms.updates.scheduler import tick

    declared = incident_io.declare("Search broken", severity="Minor")
    settle()
    incident_io.drop_next_webhooks(1)
    incident_io.change(declared["id"], severity="Critical")
    settle()
    settings = app.extensions["comms"]["settings"]
    for _ in range(2):  # the second tick finds it recorded (or done): no second reconcile
        tick(_factory(app), settings, clock=clock)
    deadline = time.monotonic() + 60
    while db_session.scalars(
        select(Operation).where(Operation.kind == "reconcile")
    ).one().state in ("queued", "running"):
        assert time.monotonic() < deadline, "no worker ran the reconcile"
        time.sleep(0.05)
        db_session.rollback()
    assert only_incident(db_session).severity == "critical"
    tick(_factory(app), settings, clock=clock)  # not due again for poll_minutes
    count = select(func.count()).select_from(Operation).where(Operation.kind == "reconcile")
    assert db_session.scalar(count) == 1
